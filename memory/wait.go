package memory

import (
	"cmp"
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
	name, shard := id.ProjectionName, id.ShardNumber
	var found record
	err := s.wait(ctx, "WaitForOffset", func() bool {
		r, ok := s.projections[name].get(shard)
		found = r
		return ok && r.value >= value
	})
	if err != nil {
		return nil, err
	}
	return found.offset(name, shard), nil
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
	targets := maps.Clone(want)
	var found []*egopb.Offset
	err := s.wait(ctx, "WaitForOffsets", func() bool {
		p := s.projections[projectionName]
		for shard, value := range targets {
			if r, ok := p.get(shard); !ok || r.value < value {
				return false
			}
		}
		found = make([]*egopb.Offset, 0, len(targets))
		for shard := range targets {
			r, _ := p.get(shard)
			found = append(found, r.offset(projectionName, shard))
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(found, func(a, b *egopb.Offset) int { return cmp.Compare(a.ShardNumber, b.ShardNumber) })
	return found, nil
}

// wait blocks until reached, called with s.mu held, reports true.
func (s *OffsetStore) wait(ctx context.Context, op string, reached func() bool) error {
	if err := s.lock(ctx, op, nil); err != nil {
		return err
	}
	defer s.mu.Unlock()
	session := s.sessions
	for {
		if s.sessions != session {
			return opError(op, offsetstore.ErrNotConnected)
		}
		if reached() {
			return nil
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
			return opError(op, ctx.Err())
		}
	}
}
