package offsetstore

import (
	"context"

	"github.com/ego-contrib/offsetstore/egopb"
)

// Admin is an [OffsetStore] that also lets an operator, or a test, see and
// change every offset it holds: what a tool such as offsetctl needs,
// without knowing the backend. Every store of this module satisfies it,
// and [github.com/ego-contrib/offsetstore/offsetstoretest.RunAdmin] checks
// the rules written here.
//
// Each method has one job; none is another in other words. Its rules:
//
//   - Order. Results are sorted by projection name (byte by byte, as Go
//     sorts strings), then by shard number as a uint64.
//   - All or nothing. A method that changes several offsets changes them
//     at once: no reader sees some changed and others not, and when it
//     fails it changes none.
//   - Shards. ResetShards and DeleteShards take the shards to change; a
//     nil slice means every shard of the projection, an empty, non-nil one
//     none. Shards that have no offset are skipped, never created.
//   - Reports. ResetShards and DeleteShards return the offsets they
//     changed, as they were just before the change, sorted by shard: an
//     empty result means nothing changed.
//   - Errors. Bad input returns an error wrapping [ErrInvalidArgument]
//     and changes nothing; a store that is not connected, one wrapping
//     [ErrNotConnected]; a done context, one wrapping ctx.Err(); in the
//     order of rule 11 of [OffsetStore].
type Admin interface {
	OffsetStore

	// Projections returns a summary of every projection that has at least
	// one offset, sorted by name.
	Projections(ctx context.Context) ([]ProjectionSummary, error)
	// Offsets returns the offsets of projectionName, sorted by shard; a
	// projection with no offsets gives an empty slice, not an error.
	Offsets(ctx context.Context, projectionName string) ([]*egopb.Offset, error)
	// Snapshot returns every offset the store holds, sorted by projection
	// name, then shard: what a backup keeps.
	Snapshot(ctx context.Context) ([]*egopb.Offset, error)
	// WriteOffsets writes every offset of offsets, all or none, each as
	// [OffsetStore.WriteOffset] would, other offsets staying as they are:
	// what a restore of a backup does. A nil entry, or two offsets of one
	// projection and shard, are bad input.
	WriteOffsets(ctx context.Context, offsets []*egopb.Offset) error
	// ResetShards sets Value to value, and Timestamp to now in Unix
	// milliseconds, on the given shards of projectionName (all of them if
	// shards is nil), at once, as [OffsetStore.ResetOffset] does, and
	// returns the offsets it changed as they were before.
	ResetShards(ctx context.Context, projectionName string, value int64, shards []uint64) ([]*egopb.Offset, error)
	// DeleteShards removes the offsets of the given shards of
	// projectionName (all of them if shards is nil), at once, and returns
	// what it removed. A later ResetOffset does not bring them back.
	DeleteShards(ctx context.Context, projectionName string, shards []uint64) ([]*egopb.Offset, error)
}

// A ProjectionSummary describes the offsets of one projection, as
// [Admin.Projections] lists them.
type ProjectionSummary struct {
	// Name is the projection's name.
	Name string
	// Shards is how many shards have an offset.
	Shards int
	// MinValue and MaxValue are the lowest and highest Value among them.
	MinValue, MaxValue int64
	// LastUpdate is the highest Timestamp among them, in Unix
	// milliseconds: the last write or reset, when writers stamp offsets
	// with the time, as eGo does.
	LastUpdate int64
}
