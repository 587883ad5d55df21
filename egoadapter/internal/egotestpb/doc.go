// Package egotestpb holds messages for the adapter's tests: [Offset] and
// [ProjectionId] have the field names, numbers and kinds of eGo's ego.v1
// messages, and the others each break or bend that shape in one way. Their
// proto package, ego.offsetstore.adaptertest.v1, and file path,
// ego/offsetstore/adaptertest/v1/ego.proto, are their own, so that they
// never clash with eGo's registrations (ego.v1, ego/v1/ego.proto) or with
// this module's egopb.
//
// The Go code is generated from
// proto/ego/offsetstore/adaptertest/v1/ego.proto at the root of the module,
// with the module's pinned generator:
//
//	scripts/generate.sh
package egotestpb
