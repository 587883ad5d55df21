package memory

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
)

// Snapshot returns copies of every offset in the store, sorted by
// projection name, then by shard number. Give them to
// [OffsetStore.Restore] to bring the store back to this state.
func (s *OffsetStore) Snapshot(ctx context.Context) ([]*egopb.Offset, error) {
	if err := s.lock(ctx, "Snapshot", nil); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	n := 0
	for _, p := range s.projections {
		n += p.len()
	}
	all := make([]*egopb.Offset, 0, n)
	for _, name := range slices.Sorted(maps.Keys(s.projections)) {
		all = s.projections[name].offsets(name, all)
	}
	return all, nil
}

// Restore replaces the whole content of the store with copies of offsets,
// in one step: readers see either the old content or the new. A nil entry,
// an invalid projection name or two entries for the same projection and
// shard reject the whole call with an error wrapping
// [offsetstore.ErrInvalidArgument], and the store stays as it was.
// Restore is not bound by [WithMonotonicWrites].
func (s *OffsetStore) Restore(ctx context.Context, offsets []*egopb.Offset) error {
	// Build the new content before taking the lock: bad input must leave
	// the store untouched, and readers need not wait for the copy.
	restored, err := restoredProjections(offsets)
	var index *sync.Map
	if err == nil {
		index = newIndex(restored)
	}
	if err := s.lock(ctx, "Restore", err); err != nil {
		return err
	}
	defer s.mu.Unlock()
	s.setProjections(restored, index)
	s.notify()
	return nil
}

// restoredProjections returns the projections holding offsets, or an
// error if an offset is invalid or two share a projection and shard.
func restoredProjections(offsets []*egopb.Offset) (map[string]*shards, error) {
	restored := make(map[string]*shards)
	for i, offset := range offsets {
		if err := checkOffset(offset); err != nil {
			return nil, fmt.Errorf("offsets[%d]: %w", i, err)
		}
		p := restored[offset.ProjectionName]
		if p == nil {
			p = newShards()
			restored[strings.Clone(offset.ProjectionName)] = p
		}
		if _, dup := p.get(offset.ShardNumber); dup {
			return nil, fmt.Errorf("%w: offsets[%d]: projection %q shard %d appears twice",
				offsetstore.ErrInvalidArgument, i, offset.ProjectionName, offset.ShardNumber)
		}
		p.set(offset.ShardNumber, record{value: offset.Value, timestamp: offset.Timestamp})
	}
	return restored, nil
}
