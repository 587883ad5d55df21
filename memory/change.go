package memory

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
)

// WriteOffsets stores copies of offsets, all of them or, if the call
// fails, none, each as [OffsetStore.WriteOffset] would; offsets it does
// not name stay as they are. A nil entry, an invalid projection name or
// two entries for one projection and shard reject the whole call with an
// error wrapping [offsetstore.ErrInvalidArgument]; with
// [WithMonotonicWrites], so does one entry below the stored value, with
// [offsetstore.ErrOffsetRegression].
func (s *OffsetStore) WriteOffsets(ctx context.Context, offsets []*egopb.Offset) error {
	const op = "WriteOffsets"
	// The check of the input needs no lock: readers need not wait for it.
	if err := s.lock(ctx, op, checkOffsets(offsets)); err != nil {
		return err
	}
	defer s.mu.Unlock()
	for _, o := range offsets {
		if err := s.checkRegression(o); err != nil {
			return opError(op, err)
		}
	}
	for _, o := range offsets {
		s.put(o)
	}
	if len(offsets) > 0 {
		s.notify()
	}
	return nil
}

// ResetShards sets Value to value, and Timestamp to the clock's now in Unix
// milliseconds, on the shards of projectionName that have an offset, of
// shards or of all of them if shards is nil, in one step, as
// [OffsetStore.ResetOffset] does. It returns the offsets it changed as they
// were before, sorted by shard; shards with no offset are skipped.
func (s *OffsetStore) ResetShards(ctx context.Context, projectionName string, value int64, shards []uint64) ([]*egopb.Offset, error) {
	if err := s.lock(ctx, "ResetShards", checkName(projectionName)); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	stored := s.offsets[projectionName]
	before := selectShards(projectionName, stored, shards)
	if len(before) == 0 {
		return before, nil
	}
	r := record{value: value, timestamp: s.clock().UnixMilli()}
	for _, o := range before {
		stored[o.ShardNumber] = r
	}
	s.notify()
	return before, nil
}

// DeleteShards removes the offsets of the shards of projectionName, of
// shards or of all of them if shards is nil, in one step, and returns what
// it removed, sorted by shard. A removed offset is gone:
// [OffsetStore.GetCurrentOffset] returns nil for it and a later
// [OffsetStore.ResetOffset] does not bring it back.
func (s *OffsetStore) DeleteShards(ctx context.Context, projectionName string, shards []uint64) ([]*egopb.Offset, error) {
	if err := s.lock(ctx, "DeleteShards", checkName(projectionName)); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	stored := s.offsets[projectionName]
	deleted := selectShards(projectionName, stored, shards)
	for _, o := range deleted {
		delete(stored, o.ShardNumber)
	}
	// A projection without offsets must vanish from Projections.
	if len(stored) == 0 {
		delete(s.offsets, projectionName)
	}
	if len(deleted) > 0 {
		s.notify()
	}
	return deleted, nil
}

// checkRegression returns an error wrapping
// [offsetstore.ErrOffsetRegression] when the store is made
// [WithMonotonicWrites] and o's value is below the stored one. s.mu must
// be held.
func (s *OffsetStore) checkRegression(o *egopb.Offset) error {
	if old, ok := s.offsets[o.ProjectionName][o.ShardNumber]; ok && s.monotonic && o.Value < old.value {
		return fmt.Errorf("%w: projection %q shard %d: value %d is below the stored %d",
			offsetstore.ErrOffsetRegression, o.ProjectionName, o.ShardNumber, o.Value, old.value)
	}
	return nil
}

// put stores a copy of o. s.mu must be held.
func (s *OffsetStore) put(o *egopb.Offset) {
	shards := s.offsets[o.ProjectionName]
	if shards == nil {
		shards = make(map[uint64]record)
		// The key outlives the call: clone it so that the store never
		// pins the caller's memory (a name sliced from a larger buffer).
		s.offsets[strings.Clone(o.ProjectionName)] = shards
	}
	shards[o.ShardNumber] = record{value: o.Value, timestamp: o.Timestamp}
}

// selectShards returns copies of the offsets in stored, projection name's
// records, of the shards named (every shard if shards is nil), sorted by
// shard; shards not in stored are skipped.
func selectShards(name string, stored map[uint64]record, shards []uint64) []*egopb.Offset {
	if shards == nil {
		return appendOffsets([]*egopb.Offset{}, name, stored)
	}
	selected := []*egopb.Offset{}
	for _, shard := range slices.Compact(slices.Sorted(slices.Values(shards))) {
		if r, ok := stored[shard]; ok {
			selected = append(selected, r.offset(name, shard))
		}
	}
	return selected
}

// checkOffsets returns an error wrapping [offsetstore.ErrInvalidArgument]
// when an offset of offsets is bad input or two name one projection and
// shard, saying which.
func checkOffsets(offsets []*egopb.Offset) error {
	type key struct {
		name  string
		shard uint64
	}
	seen := make(map[key]int, len(offsets))
	for i, o := range offsets {
		if problem := offsetProblem(o); problem != "" {
			return invalid("offsets[%d]: %s", i, problem)
		}
		id := key{o.ProjectionName, o.ShardNumber}
		if j, dup := seen[id]; dup {
			return invalid("offsets[%d]: projection %q shard %d is offsets[%d] too", i, o.ProjectionName, o.ShardNumber, j)
		}
		seen[id] = i
	}
	return nil
}
