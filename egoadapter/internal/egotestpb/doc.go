// Package egotestpb holds messages for the adapter's tests: [Offset] and
// [ProjectionId] have the field names, numbers and kinds of eGo's ego.v1
// messages, and the others each break that shape in one way. Their proto
// package, ego.offsetstore.adaptertest.v1, and file path are their own, so
// that they never clash with eGo's registrations or this module's egopb.
package egotestpb
