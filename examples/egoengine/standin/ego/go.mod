// A stand-in for github.com/tochemey/ego/v4, which cannot be downloaded
// where this module is built: the names examples/egoengine uses, with eGo
// v4.4.3's signatures. See ../../main.go.
module github.com/tochemey/ego/v4

go 1.26.0

require (
	github.com/ego-contrib/offsetstore v0.0.0
	github.com/tochemey/goakt/v4 v4.5.1
	google.golang.org/protobuf v1.36.12
)
