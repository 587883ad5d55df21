// Package egopb stands in for eGo's github.com/tochemey/ego/v4/egopb in the
// example, which cannot import eGo: [Offset] and [ProjectionId] have eGo's
// field names, numbers and kinds, under the proto package
// ego.offsetstore.examples.v1 and the file path
// ego/offsetstore/examples/v1/ego.proto, so they clash with nothing.
//
// The Go code is generated from proto/ego/offsetstore/examples/v1/ego.proto
// at the root of the module by scripts/generate.sh.
package egopb
