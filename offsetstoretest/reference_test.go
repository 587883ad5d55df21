package offsetstoretest_test

import (
	"context"
	"fmt"
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
	shards := s.offsets[o.ProjectionName]
	if shards == nil {
		shards = make(map[uint64]*egopb.Offset)
		s.offsets[o.ProjectionName] = shards
	}
	shards[o.ShardNumber] = clone(o)
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
