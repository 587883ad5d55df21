package memory

import (
	"context"
	"maps"
	"slices"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
)

// WaitForOffset blocks until the offset stored for id has a value of at
// least value, and returns a copy of it; it returns at once if the offset
// is already there. It returns an error wrapping ctx.Err() if ctx ends
// first, and one wrapping [offsetstore.ErrNotConnected] if the store is not
// connected or is disconnected while it waits.
//
// Waiting costs no polling: writes, resets, restores and disconnects wake
// the waiters, and no goroutine outlives the call. Use it in tests instead
// of sleeping until a projection has caught up.
func (s *OffsetStore) WaitForOffset(ctx context.Context, id *egopb.ProjectionId, value int64) (*egopb.Offset, error) {
	if err := check(ctx, "WaitForOffset", checkID(id)); err != nil {
		return nil, err
	}
	found, err := s.wait(ctx, "WaitForOffset", id.ProjectionName, map[uint64]int64{id.ShardNumber: value})
	if err != nil {
		return nil, err
	}
	return found[0], nil
}

// WaitForOffsets is [OffsetStore.WaitForOffset] for several shards of one
// projection at once: it blocks until, for every shard in want, the stored
// value is at least want[shard], and returns copies of those shards'
// offsets, sorted by shard number. A shard with no offset yet is behind.
func (s *OffsetStore) WaitForOffsets(ctx context.Context, projectionName string, want map[uint64]int64) ([]*egopb.Offset, error) {
	if err := check(ctx, "WaitForOffsets", checkName(projectionName)); err != nil {
		return nil, err
	}
	// The caller may change want while this waits; copy it in.
	return s.wait(ctx, "WaitForOffsets", projectionName, maps.Clone(want))
}

// wait blocks until every shard in want of projection name holds at least
// its value, and returns copies of their offsets, sorted by shard.
func (s *OffsetStore) wait(ctx context.Context, op, name string, want map[uint64]int64) ([]*egopb.Offset, error) {
	if err := s.lock(ctx, op, nil); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	session := s.sessions
	for {
		if s.sessions != session {
			return nil, opError(op, offsetstore.ErrNotConnected)
		}
		if reached(s.offsets[name], want) {
			found := make([]*egopb.Offset, 0, len(want))
			for _, shard := range slices.Sorted(maps.Keys(want)) {
				found = append(found, s.offsets[name][shard].offset(name, shard))
			}
			return found, nil
		}
		if s.changed == nil {
			s.changed = make(chan struct{})
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
			s.mu.Lock()
		case <-ctx.Done():
			s.mu.Lock()
			return nil, opError(op, ctx.Err())
		}
	}
}

// reached reports whether every shard in want holds at least its value.
func reached(shards map[uint64]record, want map[uint64]int64) bool {
	for shard, value := range want {
		if r, ok := shards[shard]; !ok || r.value < value {
			return false
		}
	}
	return true
}
