module github.com/ego-contrib/offsetstore

go 1.26.0

require (
	github.com/anishathalye/porcupine v1.3.1 // indirect
	go.uber.org/goleak v1.3.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
	pgregory.net/rapid v1.3.0 // indirect
)

tool google.golang.org/protobuf/cmd/protoc-gen-go
