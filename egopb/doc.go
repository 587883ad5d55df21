// Package egopb holds the protobuf messages an offset store reads and writes:
// [Offset] and [ProjectionId], wire-compatible with eGo's messages of the same
// names (same field numbers and types), under the proto package
// ego.offsetstore.v1 so that they never collide with eGo's registrations.
//
// The Go code is generated from offset.proto; regenerate it with
//
//	go generate ./egopb
//
// which needs protoc (Debian: protobuf-compiler) on the PATH and builds
// protoc-gen-go at the version pinned in go.mod.
package egopb

//go:generate sh -c "protoc --plugin=protoc-gen-go=\"$(go tool -n protoc-gen-go)\" --go_out=. --go_opt=paths=source_relative offset.proto"
