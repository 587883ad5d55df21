package offsetstoretest_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
)

// referenceStore is the plainest store that keeps every rule of
// [offsetstore.OffsetStore]: one lock over a map. [offsetstoretest.Run]
// must pass on it, and each broken store in suite_test.go breaks one rule of
// it.
type referenceStore struct {
	mu        sync.RWMutex
	connected bool
	// offsets holds copies of the offsets written, by projection name and
	// then shard, so that a reset visits its projection's shards only.
	offsets map[string]map[uint64]*egopb.Offset
}

var _ offsetstore.OffsetStore = (*referenceStore)(nil)

func newReferenceStore() *referenceStore {
	return &referenceStore{offsets: make(map[string]map[uint64]*egopb.Offset)}
}

func (s *referenceStore) Connect(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.connected = true
	return nil
}

func (s *referenceStore) Disconnect(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.connected = false
	return nil
}

func (s *referenceStore) Ping(ctx context.Context) error { return s.Connect(ctx) }

func (s *referenceStore) WriteOffset(ctx context.Context, o *egopb.Offset) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if o == nil {
		return fmt.Errorf("%w: nil offset", offsetstore.ErrInvalidArgument)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx, o.ProjectionName); err != nil {
		return err
	}
	s.put(o)
	return nil
}

func (s *referenceStore) GetCurrentOffset(ctx context.Context, id *egopb.ProjectionId) (*egopb.Offset, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if id == nil {
		return nil, fmt.Errorf("%w: nil projection id", offsetstore.ErrInvalidArgument)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx, id.ProjectionName); err != nil {
		return nil, err
	}
	return clone(s.offsets[id.ProjectionName][id.ShardNumber]), nil
}

func (s *referenceStore) ResetOffset(ctx context.Context, name string, value int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx, name); err != nil {
		return err
	}
	now := time.Now().UnixMilli()
	for _, o := range s.offsets[name] {
		o.Value, o.Timestamp = value, now
	}
	return nil
}

// check returns why a call with ctx on projection name must fail, if it
// must, in the order of rule 11. The caller holds s.mu.
func (s *referenceStore) check(ctx context.Context, name string) error {
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case name == "":
		return fmt.Errorf("%w: empty projection name", offsetstore.ErrInvalidArgument)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: projection name %q is not valid UTF-8", offsetstore.ErrInvalidArgument, name)
	case !s.connected:
		return offsetstore.ErrNotConnected
	}
	return nil
}

func clone(o *egopb.Offset) *egopb.Offset {
	if o == nil {
		return nil
	}
	return &egopb.Offset{ProjectionName: o.ProjectionName, ShardNumber: o.ShardNumber, Value: o.Value, Timestamp: o.Timestamp}
}

// The reference store is an [offsetstore.Admin] too, as plainly:
// [offsetstoretest.RunAdmin] must pass on it, and each broken admin in
// admin_test.go breaks one rule of it.
var _ offsetstore.Admin = (*referenceStore)(nil)

func (s *referenceStore) Projections(ctx context.Context) ([]offsetstore.ProjectionSummary, error) {
	all, err := s.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	summaries := []offsetstore.ProjectionSummary{}
	for _, o := range all {
		if n := len(summaries); n == 0 || summaries[n-1].Name != o.ProjectionName {
			summaries = append(summaries, offsetstore.ProjectionSummary{Name: o.ProjectionName, MinValue: o.Value, MaxValue: o.Value, LastUpdate: o.Timestamp})
		}
		sum := &summaries[len(summaries)-1]
		sum.Shards++
		sum.MinValue, sum.MaxValue = min(sum.MinValue, o.Value), max(sum.MaxValue, o.Value)
		sum.LastUpdate = max(sum.LastUpdate, o.Timestamp)
	}
	return summaries, nil
}

func (s *referenceStore) Offsets(ctx context.Context, name string) ([]*egopb.Offset, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx, name); err != nil {
		return nil, err
	}
	return sortedCopies(s.offsets[name]), nil
}

func (s *referenceStore) Snapshot(ctx context.Context) ([]*egopb.Offset, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx, "any"); err != nil {
		return nil, err
	}
	all := []*egopb.Offset{}
	for _, name := range slices.Sorted(maps.Keys(s.offsets)) {
		all = append(all, sortedCopies(s.offsets[name])...)
	}
	return all, nil
}

func (s *referenceStore) WriteOffsets(ctx context.Context, offsets []*egopb.Offset) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	type key struct {
		name  string
		shard uint64
	}
	seen := make(map[key]bool)
	for i, o := range offsets {
		if o == nil {
			return fmt.Errorf("%w: offsets[%d] is nil", offsetstore.ErrInvalidArgument, i)
		}
		if err := s.check(ctx, o.ProjectionName); err != nil && !errors.Is(err, offsetstore.ErrNotConnected) {
			return fmt.Errorf("offsets[%d]: %w", i, err)
		}
		k := key{o.ProjectionName, o.ShardNumber}
		if seen[k] {
			return fmt.Errorf("%w: offsets[%d] repeats projection %q shard %d", offsetstore.ErrInvalidArgument, i, k.name, k.shard)
		}
		seen[k] = true
	}
	if !s.connected {
		return offsetstore.ErrNotConnected
	}
	for _, o := range offsets {
		s.put(o)
	}
	return nil
}

func (s *referenceStore) ResetShards(ctx context.Context, name string, value int64, shards []uint64) ([]*egopb.Offset, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx, name); err != nil {
		return nil, err
	}
	before := s.selected(name, shards)
	now := time.Now().UnixMilli()
	for _, o := range before {
		stored := s.offsets[name][o.ShardNumber]
		stored.Value, stored.Timestamp = value, now
	}
	return before, nil
}

func (s *referenceStore) DeleteShards(ctx context.Context, name string, shards []uint64) ([]*egopb.Offset, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx, name); err != nil {
		return nil, err
	}
	deleted := s.selected(name, shards)
	for _, o := range deleted {
		delete(s.offsets[name], o.ShardNumber)
	}
	if len(s.offsets[name]) == 0 {
		delete(s.offsets, name)
	}
	return deleted, nil
}

// put stores a copy of o. The caller holds s.mu.
func (s *referenceStore) put(o *egopb.Offset) {
	shards := s.offsets[o.ProjectionName]
	if shards == nil {
		shards = make(map[uint64]*egopb.Offset)
		s.offsets[o.ProjectionName] = shards
	}
	shards[o.ShardNumber] = clone(o)
}

// selected returns copies of name's offsets of shards, or of all its
// shards if shards is nil, sorted by shard. The caller holds s.mu.
func (s *referenceStore) selected(name string, shards []uint64) []*egopb.Offset {
	stored := s.offsets[name]
	if shards == nil {
		return sortedCopies(stored)
	}
	picked := make(map[uint64]*egopb.Offset)
	for _, shard := range shards {
		if o, ok := stored[shard]; ok {
			picked[shard] = o
		}
	}
	return sortedCopies(picked)
}

func sortedCopies(shards map[uint64]*egopb.Offset) []*egopb.Offset {
	out := []*egopb.Offset{}
	for _, shard := range slices.Sorted(maps.Keys(shards)) {
		out = append(out, clone(shards[shard]))
	}
	return out
}
