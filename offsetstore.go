package offsetstore

import (
	"context"

	"github.com/ego-contrib/offsetstore/egopb"
)

// OffsetStore keeps, for each projection and shard, the offset the
// projection has committed. It has the methods of eGo's
// offsetstore.OffsetStore over this module's [egopb] messages, not eGo's, so
// an implementation is not one of eGo's stores as it is:
// [github.com/ego-contrib/offsetstore/egoadapter.ToEgo] hands it to eGo.
//
// Every implementation keeps these rules, and
// [github.com/ego-contrib/offsetstore/offsetstoretest.Run] checks them.
//
//  1. Connection. Connect and Disconnect may each be called any number of
//     times; Disconnect never fails on a store that was never connected.
//     Ping connects a disconnected store and returns nil on a connected one.
//  2. WriteOffset, GetCurrentOffset and ResetOffset on a store that is not
//     connected return an error wrapping [ErrNotConnected] and change nothing.
//  3. Bad input (a nil offset or projection id, a projection name that is
//     empty or not valid UTF-8) returns an error wrapping
//     [ErrInvalidArgument] that says what was wrong, and changes nothing.
//     A store that cannot hold a valid name exactly (one with a NUL byte,
//     say, or longer than its columns allow) refuses it the same way; it
//     never stores, reads or resets a name changed to fit.
//  4. A context that is already done makes a call return an error wrapping
//     ctx.Err() and change nothing.
//  5. WriteOffset: the last write wins for each (projection name, shard
//     number); names are case-sensitive. Value is opaque to the store: a
//     lower value than before is still the latest write, unless the store
//     enforces rule 12. Timestamp is stored as given.
//  6. GetCurrentOffset returns nil, nil when nothing was written for the id.
//  7. Copy in, copy out: the store never keeps the caller's message, and
//     every read returns a new message the caller may change.
//  8. ResetOffset(name, value) sets Value to value and Timestamp to now, in
//     Unix milliseconds, on every shard of that projection that has an
//     offset, atomically: no reader sees some shards reset and others not.
//     Other projections are untouched. Resetting a projection with no
//     offsets returns nil and creates nothing.
//  9. Every method is safe for concurrent use, Connect, Disconnect and Ping
//     included. A single writer's offsets, read concurrently, never go
//     backwards.
//  10. Memory grows with the number of distinct (projection, shard) keys,
//     not with the number of writes; a reset costs time in proportion to the
//     projection's shards, not to the history of writes.
//  11. When several errors apply to one call, it returns the first of them
//     in this order: the context's (rule 4), then bad input (rule 3), then
//     not connected (rule 2). A call with a done context on a disconnected
//     store returns ctx.Err(); one with bad input on a disconnected store
//     returns [ErrInvalidArgument]. The error wraps that one only.
//  12. Monotonic offsets, optional. A store may offer to refuse a
//     WriteOffset whose Value is lower than the one stored for its
//     (projection name, shard number). When it does, the call returns an
//     error wrapping [ErrOffsetRegression] and changes nothing; an equal
//     Value is accepted, and ResetOffset may still lower every shard, later
//     writes counting from the reset value. Such a store documents how the
//     behaviour is turned on; without it, rule 5 holds.
type OffsetStore interface {
	// Connect makes the store ready for use. Connecting a connected store
	// is not an error.
	Connect(ctx context.Context) error
	// Disconnect releases the store. Disconnecting a store that is not
	// connected is not an error.
	Disconnect(ctx context.Context) error
	// Ping checks that the store is usable, connecting it if it is not.
	Ping(ctx context.Context) error
	// WriteOffset stores offset as the current offset of its projection
	// and shard, replacing any offset stored before.
	WriteOffset(ctx context.Context, offset *egopb.Offset) error
	// GetCurrentOffset returns a copy of the offset stored for
	// projectionID, or nil, nil when there is none.
	GetCurrentOffset(ctx context.Context, projectionID *egopb.ProjectionId) (*egopb.Offset, error)
	// ResetOffset sets the value of every stored shard of projectionName to
	// value, atomically, stamping each with the current time.
	ResetOffset(ctx context.Context, projectionName string, value int64) error
}
