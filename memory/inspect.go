package memory

import (
	"cmp"
	"context"
	"maps"
	"slices"

	"github.com/ego-contrib/offsetstore/egopb"
)

// Offsets returns copies of the offsets of projectionName, sorted by shard
// number. A projection with no offsets gives an empty slice, not an error.
func (s *OffsetStore) Offsets(ctx context.Context, projectionName string) ([]*egopb.Offset, error) {
	if err := s.lock(ctx, "Offsets", checkName(projectionName)); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	p := s.projections[projectionName]
	return p.offsets(projectionName, make([]*egopb.Offset, 0, p.len())), nil
}

// Projections returns the names of the projections that have at least one
// offset, sorted.
func (s *OffsetStore) Projections(ctx context.Context) ([]string, error) {
	if err := s.lock(ctx, "Projections", nil); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.projections)), nil
}

// offsets appends to dst copies of the offsets of p, named name, sorted by
// shard number.
func (p *shards) offsets(name string, dst []*egopb.Offset) []*egopb.Offset {
	start := len(dst)
	for shard, r := range p.all() {
		dst = append(dst, r.offset(name, shard))
	}
	slices.SortFunc(dst[start:], func(a, b *egopb.Offset) int {
		return cmp.Compare(a.ShardNumber, b.ShardNumber)
	})
	return dst
}
