package offsetstore

import (
	"context"

	"github.com/ego-contrib/offsetstore/egopb"
)

// Admin is an [OffsetStore] that also lets an operator see and change every
// offset it holds: what a tool such as offsetctl needs, without knowing the
// backend. Every durable store of this module satisfies it.
//
// Results follow one order on every backend: offsets sorted by projection
// name (byte by byte, as Go sorts strings), then by shard number as a
// uint64; names sorted the same way. Each method that changes several
// offsets does so all at once, or not at all.
type Admin interface {
	OffsetStore

	// Offsets returns the offsets of projectionName, sorted by shard; a
	// projection with no offsets gives an empty slice, not an error.
	Offsets(ctx context.Context, projectionName string) ([]*egopb.Offset, error)
	// Projections returns the names of the projections that have at least
	// one offset, sorted.
	Projections(ctx context.Context) ([]string, error)
	// Snapshot returns every offset, sorted by projection name, then shard.
	Snapshot(ctx context.Context) ([]*egopb.Offset, error)
	// ResetShards sets Value to value, and Timestamp to now in Unix
	// milliseconds, on projectionName's shards, or on all of them if
	// shards is nil, at once, and returns the offsets it changed as they
	// were before, sorted by shard. Shards with no offset are skipped.
	ResetShards(ctx context.Context, projectionName string, value int64, shards []uint64) ([]*egopb.Offset, error)
	// DeleteShards removes the offsets of projectionName's shards, or of
	// all of them if shards is nil, at once, and returns what it removed,
	// sorted by shard.
	DeleteShards(ctx context.Context, projectionName string, shards []uint64) ([]*egopb.Offset, error)
	// DeleteOffset removes the offset stored for id; removing one that is
	// not there is not an error.
	DeleteOffset(ctx context.Context, id *egopb.ProjectionId) error
	// DeleteOffsets removes every offset of projectionName at once.
	DeleteOffsets(ctx context.Context, projectionName string) error
	// WriteOffsets writes every offset of offsets, all or none; two
	// offsets of one projection and shard are bad input.
	WriteOffsets(ctx context.Context, offsets []*egopb.Offset) error
}
