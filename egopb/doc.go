// Package egopb holds the protobuf messages an offset store reads and writes:
// [Offset] and [ProjectionId], wire-compatible with eGo's messages of the same
// names (same field numbers and types). They are registered as the proto
// package ego.offsetstore.v1, from the file ego/offsetstore/v1/offset.proto,
// so that neither their names nor their file path can collide with eGo's
// registrations or anybody else's in one binary.
//
// The Go code is generated from proto/ego/offsetstore/v1/offset.proto at the
// root of the module; regenerate it with
//
//	scripts/generate.sh
//
// which needs only Go: the compiler (protocompile) and protoc-gen-go are
// pinned in tools/go.mod, apart from this module's dependencies.
package egopb

//go:generate sh ../scripts/generate.sh
