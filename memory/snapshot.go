package memory

import (
	"context"
	"strings"

	"github.com/ego-contrib/offsetstore/egopb"
)

// Restore replaces the whole content of the store with copies of offsets,
// in one step: readers see either the old content or the new. A nil entry,
// an invalid projection name or two entries for the same projection and
// shard reject the whole call with an error wrapping
// [offsetstore.ErrInvalidArgument], and the store stays as it was.
// Restore is not bound by [WithMonotonicWrites].
func (s *OffsetStore) Restore(ctx context.Context, offsets []*egopb.Offset) error {
	// Build the new content before taking the lock: bad input must leave
	// the store untouched, and readers need not wait for the copy.
	restored, err := restoredOffsets(offsets)
	if err := s.lock(ctx, "Restore", err); err != nil {
		return err
	}
	defer s.mu.Unlock()
	s.offsets = restored
	s.notify()
	return nil
}

// restoredOffsets returns offsets as the store holds them, or an error if
// an offset is invalid or two share a projection and shard.
func restoredOffsets(offsets []*egopb.Offset) (map[string]map[uint64]record, error) {
	restored := make(map[string]map[uint64]record)
	for i, offset := range offsets {
		if problem := offsetProblem(offset); problem != "" {
			return nil, invalid("offsets[%d]: %s", i, problem)
		}
		shards := restored[offset.ProjectionName]
		if shards == nil {
			shards = make(map[uint64]record)
			restored[strings.Clone(offset.ProjectionName)] = shards
		}
		if _, dup := shards[offset.ShardNumber]; dup {
			return nil, invalid("offsets[%d]: projection %q shard %d appears twice", i, offset.ProjectionName, offset.ShardNumber)
		}
		shards[offset.ShardNumber] = record{value: offset.Value, timestamp: offset.Timestamp}
	}
	return restored, nil
}
