// Package egoadapter hands this module's offset stores to eGo, and stores
// written for eGo to this module's conformance suite, without importing eGo.
//
// [ToEgo] makes any store of this module one of eGo's, for
// ego.WithOffsetStore, with eGo's egopb (v4's, or v3's):
//
//	import (
//		"github.com/ego-contrib/offsetstore/egoadapter"
//		"github.com/ego-contrib/offsetstore/postgres"
//		"github.com/tochemey/ego/v4/egopb"
//	)
//
//	store := postgres.NewOffsetStore(url)
//	ego.WithOffsetStore(egoadapter.ToEgo[egopb.Offset, egopb.ProjectionId](store))
//	// ... and store.Disconnect once the actor system has stopped: eGo never calls it.
//
// A program that also calls the store itself names this module's messages
// too; import one of the two egopb packages under another name, such as
// offsetpb "github.com/ego-contrib/offsetstore/egopb".
//
// [FromEgo] wraps the other way, so that
// [github.com/ego-contrib/offsetstore/offsetstoretest.Run] can check a
// store written for eGo.
//
// Why an adapter: this module's stores take this module's egopb messages,
// and eGo's offsetstore.OffsetStore takes eGo's, with the same fields but
// other Go types. The adapter is generic over the messages and finds their
// fields by protobuf field number and kind, so it works with eGo v3's and
// v4's egopb, and with any generated messages of that shape.
//
// # Caveats
//
//   - Only the fields of eGo's messages cross: Offset's shard_number (1),
//     projection_name (2), value (3) and timestamp (5), ProjectionId's
//     projection_name (1) and shard_number (2). Any other field of O or P,
//     and unknown fields, are neither read nor written.
//   - Fields are copied through their Go struct fields when protoc-gen-go
//     generated them as plain fields, as it does for eGo's messages. In any
//     other layout, such as optional fields or a oneof, they go through
//     protobuf reflection, which allocates for each string or large integer
//     it sets: in BenchmarkGetCurrentOffset, a read through [ToEgo] makes
//     10 allocations that way, against 3 for a hand-written copy.
//   - Because the adapter copies every message, [FromEgo] hides whether the
//     store it wraps keeps the messages it is given or hands out its own:
//     the suite's CopyIn and CopyOut cases cannot see it.
package egoadapter
