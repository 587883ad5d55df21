// Package egoadapter hands this module's offset stores to eGo, and stores
// written for eGo to this module's conformance suite, without importing eGo.
//
// This module's stores take and return this module's egopb messages. eGo's
// offsetstore.OffsetStore takes eGo's egopb messages: the same fields, other
// Go types, so a store of one does not compile as a store of the other.
// [ToEgo] wraps an [offsetstore.OffsetStore] into eGo's method set over
// eGo's messages, in one line:
//
//	import (
//		"github.com/ego-contrib/offsetstore/egoadapter"
//		"github.com/ego-contrib/offsetstore/memory"
//		"github.com/tochemey/ego/v4/egopb"
//	)
//
//	store := egoadapter.ToEgo[egopb.Offset, egopb.ProjectionId](memory.NewOffsetStore())
//
// and [FromEgo] wraps the other way, so that
// [github.com/ego-contrib/offsetstore/offsetstoretest.Run] can check a
// store written for eGo.
//
// The adapter is generic over the messages and finds their fields by
// protobuf field number and kind, so it works with eGo v3's and v4's egopb
// and with any generated messages of that shape; this module does not
// depend on eGo.
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
