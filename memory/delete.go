package memory

import (
	"context"

	"github.com/ego-contrib/offsetstore/egopb"
)

// DeleteOffset removes the offset stored for id, so that
// [OffsetStore.GetCurrentOffset] returns nil for it and a later
// [OffsetStore.ResetOffset] does not bring it back. Deleting an offset that
// is not there is not an error.
func (s *OffsetStore) DeleteOffset(ctx context.Context, id *egopb.ProjectionId) error {
	if err := s.lock(ctx, "DeleteOffset", checkID(id)); err != nil {
		return err
	}
	defer s.mu.Unlock()
	shards := s.offsets[id.ProjectionName]
	delete(shards, id.ShardNumber)
	// A projection without offsets must vanish from Projections.
	if len(shards) == 0 {
		delete(s.offsets, id.ProjectionName)
	}
	return nil
}

// DeleteOffsets removes every offset of projectionName. Deleting a
// projection that has no offsets is not an error.
func (s *OffsetStore) DeleteOffsets(ctx context.Context, projectionName string) error {
	if err := s.lock(ctx, "DeleteOffsets", checkName(projectionName)); err != nil {
		return err
	}
	defer s.mu.Unlock()
	delete(s.offsets, projectionName)
	return nil
}
