package memory

import (
	"context"

	"github.com/ego-contrib/offsetstore/egopb"
)

// Restore replaces the whole content of the store with copies of offsets,
// in one step: readers see either the old content or the new. It is
// [OffsetStore.Snapshot]'s inverse, for tests that save a state and come
// back to it; [OffsetStore.WriteOffsets] writes offsets and keeps the
// others. A nil entry, an invalid projection name or two entries for the
// same projection and shard reject the whole call with an error wrapping
// [offsetstore.ErrInvalidArgument], and the store stays as it was.
// Restore is not bound by [WithMonotonicWrites].
func (s *OffsetStore) Restore(ctx context.Context, offsets []*egopb.Offset) error {
	if err := s.lock(ctx, "Restore", checkOffsets(offsets)); err != nil {
		return err
	}
	defer s.mu.Unlock()
	s.offsets = make(map[string]map[uint64]record)
	for _, o := range offsets {
		s.put(o)
	}
	s.notify()
	return nil
}
