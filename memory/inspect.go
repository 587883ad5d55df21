package memory

import (
	"context"
	"maps"
	"math"
	"slices"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
)

// Offsets returns copies of the offsets of projectionName, sorted by shard
// number. A projection with no offsets gives an empty slice, not an error.
func (s *OffsetStore) Offsets(ctx context.Context, projectionName string) ([]*egopb.Offset, error) {
	if err := s.rlock(ctx, "Offsets", checkName(projectionName)); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	shards := s.offsets[projectionName]
	return appendOffsets(make([]*egopb.Offset, 0, len(shards)), projectionName, shards), nil
}

// Projections returns a summary of every projection that has at least one
// offset, sorted by name.
func (s *OffsetStore) Projections(ctx context.Context) ([]offsetstore.ProjectionSummary, error) {
	if err := s.rlock(ctx, "Projections", nil); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	summaries := make([]offsetstore.ProjectionSummary, 0, len(s.offsets))
	for _, name := range slices.Sorted(maps.Keys(s.offsets)) {
		sum := offsetstore.ProjectionSummary{Name: name, MinValue: math.MaxInt64, MaxValue: math.MinInt64, LastUpdate: math.MinInt64}
		for _, r := range s.offsets[name] {
			sum.Shards++
			sum.MinValue = min(sum.MinValue, r.value)
			sum.MaxValue = max(sum.MaxValue, r.value)
			sum.LastUpdate = max(sum.LastUpdate, r.timestamp)
		}
		summaries = append(summaries, sum)
	}
	return summaries, nil
}

// Snapshot returns copies of every offset in the store, sorted by
// projection name, then by shard number. Give them to
// [OffsetStore.Restore] to bring the store back to this state, or to
// another store's WriteOffsets to copy them.
func (s *OffsetStore) Snapshot(ctx context.Context) ([]*egopb.Offset, error) {
	if err := s.rlock(ctx, "Snapshot", nil); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	n := 0
	for _, shards := range s.offsets {
		n += len(shards)
	}
	all := make([]*egopb.Offset, 0, n)
	for _, name := range slices.Sorted(maps.Keys(s.offsets)) {
		all = appendOffsets(all, name, s.offsets[name])
	}
	return all, nil
}

// appendOffsets appends to dst copies of the offsets of projection name,
// held in shards, sorted by shard number, and returns the extended slice.
func appendOffsets(dst []*egopb.Offset, name string, shards map[uint64]record) []*egopb.Offset {
	for _, shard := range slices.Sorted(maps.Keys(shards)) {
		dst = append(dst, shards[shard].offset(name, shard))
	}
	return dst
}
