package memory_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/memory"
)

// floorStore is the simplest correct store, the floor the issue measures
// the memory store against: one RWMutex over a map keyed by (projection,
// shard), and, so that a reset need not scan every key, an index of each
// projection's shards. It checks its input, its connection and the context
// as the contract asks, and copies messages in and out.
type floorStore struct {
	mu        sync.RWMutex
	connected bool
	offsets   map[floorKey]*floorRecord
	shards    map[string]map[uint64]struct{}
}

type floorKey struct {
	name  string
	shard uint64
}

// floorRecord is held by pointer: assigning to an existing map key
// replaces the key's string with the caller's, which would pin the
// caller's memory; writing through the pointer does not, and needs one
// lookup instead of two.
type floorRecord struct {
	value     int64
	timestamp int64
}

var _ offsetstore.OffsetStore = (*floorStore)(nil)

func (s *floorStore) Connect(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.connected = true
	if s.offsets == nil {
		s.offsets = make(map[floorKey]*floorRecord)
		s.shards = make(map[string]map[uint64]struct{})
	}
	return nil
}

func (s *floorStore) Disconnect(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.connected = false
	s.offsets, s.shards = nil, nil
	return nil
}

func (s *floorStore) Ping(ctx context.Context) error { return s.Connect(ctx) }

func (s *floorStore) WriteOffset(ctx context.Context, offset *egopb.Offset) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if offset == nil {
		return fmt.Errorf("%w: offset is nil", offsetstore.ErrInvalidArgument)
	}
	if err := floorCheckName(offset.ProjectionName); err != nil {
		return err
	}
	key := floorKey{offset.ProjectionName, offset.ShardNumber}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.connected {
		return offsetstore.ErrNotConnected
	}
	if r := s.offsets[key]; r != nil {
		*r = floorRecord{offset.Value, offset.Timestamp}
		return nil
	}
	key.name = strings.Clone(key.name)
	s.offsets[key] = &floorRecord{offset.Value, offset.Timestamp}
	shards := s.shards[key.name]
	if shards == nil {
		shards = make(map[uint64]struct{})
		s.shards[key.name] = shards
	}
	shards[key.shard] = struct{}{}
	return nil
}

func (s *floorStore) GetCurrentOffset(ctx context.Context, id *egopb.ProjectionId) (*egopb.Offset, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if id == nil {
		return nil, fmt.Errorf("%w: projection id is nil", offsetstore.ErrInvalidArgument)
	}
	if err := floorCheckName(id.ProjectionName); err != nil {
		return nil, err
	}
	s.mu.RLock()
	connected := s.connected
	var r floorRecord
	p := s.offsets[floorKey{id.ProjectionName, id.ShardNumber}]
	if p != nil {
		r = *p
	}
	// Allocating the copy after unlocking keeps writers waiting less.
	s.mu.RUnlock()
	if !connected {
		return nil, offsetstore.ErrNotConnected
	}
	if p == nil {
		return nil, nil
	}
	return &egopb.Offset{
		ProjectionName: id.ProjectionName,
		ShardNumber:    id.ShardNumber,
		Value:          r.value,
		Timestamp:      r.timestamp,
	}, nil
}

func (s *floorStore) ResetOffset(ctx context.Context, name string, value int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := floorCheckName(name); err != nil {
		return err
	}
	now := time.Now().UnixMilli()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.connected {
		return offsetstore.ErrNotConnected
	}
	for shard := range s.shards[name] {
		*s.offsets[floorKey{name, shard}] = floorRecord{value, now}
	}
	return nil
}

func floorCheckName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: projection name is empty", offsetstore.ErrInvalidArgument)
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("%w: projection name %q is not valid UTF-8", offsetstore.ErrInvalidArgument, name)
	}
	return nil
}

// TestFloorStore_MatchesStore checks that the floor is a fair one: on the
// same random calls, it answers as the memory store does.
func TestFloorStore_MatchesStore(t *testing.T) {
	ctx := t.Context()
	floor, store := connected(t, new(floorStore)), connected(t, memory.NewOffsetStore())
	names := []string{"a", "b", "A", "", "\xff"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 10_000 {
		name := names[r.IntN(len(names))]
		// Shards small and large, since the store keeps them apart.
		shard := []uint64{r.Uint64N(4), r.Uint64N(64), r.Uint64()}[r.IntN(3)]
		value := r.Int64N(100)
		var call string
		var floorErr, storeErr error
		switch r.IntN(3) {
		case 0:
			offset := &egopb.Offset{ProjectionName: name, ShardNumber: shard, Value: value, Timestamp: value}
			call = fmt.Sprintf("WriteOffset(ctx, %s)", fmtOffset(offset))
			floorErr, storeErr = floor.WriteOffset(ctx, offset), store.WriteOffset(ctx, offset)
		case 1:
			call = fmt.Sprintf("ResetOffset(ctx, %q, %d)", name, value)
			floorErr, storeErr = floor.ResetOffset(ctx, name, value), store.ResetOffset(ctx, name, value)
		case 2:
			id := &egopb.ProjectionId{ProjectionName: name, ShardNumber: shard}
			call = fmt.Sprintf("GetCurrentOffset(ctx, %s)", fmtID(id))
			var got, want *egopb.Offset
			got, floorErr = floor.GetCurrentOffset(ctx, id)
			want, storeErr = store.GetCurrentOffset(ctx, id)
			// Timestamps of reset offsets come from two clock readings.
			if (got == nil) != (want == nil) || got != nil && (got.Value != want.Value || got.ProjectionName != want.ProjectionName || got.ShardNumber != want.ShardNumber) {
				t.Fatalf("%s = %s on the floor, %s on the store; want the same offset from both: the floor must answer as the store does to be a fair baseline", call, fmtOffset(got), fmtOffset(want))
			}
		}
		if errors.Is(floorErr, offsetstore.ErrInvalidArgument) != errors.Is(storeErr, offsetstore.ErrInvalidArgument) || (floorErr == nil) != (storeErr == nil) {
			t.Fatalf("%s = %v on the floor, %v on the store; want both <nil> or both wrapping ErrInvalidArgument: the floor must answer as the store does to be a fair baseline", call, floorErr, storeErr)
		}
	}
}
