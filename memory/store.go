package memory

import (
	"context"
	"sync"
	"time"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
)

var _ offsetstore.Admin = (*OffsetStore)(nil)

// OffsetStore is an [offsetstore.OffsetStore] that keeps offsets in memory.
//
// It holds one record per (projection name, shard number), so memory grows
// with the number of distinct keys, never with the number of writes. A
// zero OffsetStore is valid, uses [time.Now] and is not connected.
// All methods are safe for concurrent use.
type OffsetStore struct {
	// KeepRecordsAfterDisconnect, when true, keeps the offsets through
	// Disconnect, as [WithKeepRecordsAfterDisconnect] does. It is read by
	// Disconnect, so it must be set before the store is shared between
	// goroutines; the option, set once at construction, cannot be set
	// too late. The field is kept for code written against the reference
	// implementation.
	KeepRecordsAfterDisconnect bool

	now       func() time.Time
	monotonic bool
	keep      bool

	// mu guards every field below. Calls that only read offsets hold it
	// shared, so that they wait for changes and never for each other.
	mu        sync.RWMutex
	connected bool
	// sessions counts disconnections, so that a waiter can tell that the
	// store was disconnected while it slept even if it was connected again.
	sessions uint64
	// offsets holds the records of each projection that has any, by
	// projection name and then shard number. eGo's shards are partitions
	// of a hash, sparse and written in any order, which a map holds as
	// well as any.
	offsets map[string]map[uint64]record
	// changed is closed, and cleared, when offsets change while somebody
	// waits for them; it is nil when nobody waits, so writes stay cheap.
	changed chan struct{}
}

// A record is what the store keeps of an offset: its key is where it is
// kept.
type record struct {
	value     int64
	timestamp int64
}

// NewOffsetStore returns a store, not yet connected, configured by opts.
func NewOffsetStore(opts ...Option) *OffsetStore {
	s := &OffsetStore{}
	for _, opt := range opts {
		opt.apply(s)
	}
	return s
}

// Connect makes the store usable. Connecting a connected store does nothing.
func (s *OffsetStore) Connect(ctx context.Context) error {
	if err := check(ctx, "Connect", nil); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.connected = true
	if s.offsets == nil {
		s.offsets = make(map[string]map[uint64]record)
	}
	return nil
}

// Disconnect makes the store unusable until the next Connect and, unless
// it was made [WithKeepRecordsAfterDisconnect] or KeepRecordsAfterDisconnect
// is true, frees every offset. Disconnecting a store that is not connected
// does nothing. Calls blocked in [OffsetStore.WaitForOffset] or
// [OffsetStore.WaitForOffsets] return an error wrapping
// [offsetstore.ErrNotConnected].
func (s *OffsetStore) Disconnect(ctx context.Context) error {
	if err := check(ctx, "Disconnect", nil); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.connected {
		return nil
	}
	s.connected = false
	s.sessions++
	if !s.keep && !s.KeepRecordsAfterDisconnect {
		s.offsets = nil
	}
	s.notify()
	return nil
}

// Ping connects the store if it is not connected, as eGo expects of a
// store it pings before a projection starts, and returns nil.
func (s *OffsetStore) Ping(ctx context.Context) error {
	if err := check(ctx, "Ping", nil); err != nil {
		return err
	}
	return s.Connect(ctx)
}

// WriteOffset stores a copy of offset as the current offset of its
// projection and shard. The last write wins, whatever its value, unless
// the store was made [WithMonotonicWrites]. The timestamp is stored as
// given.
func (s *OffsetStore) WriteOffset(ctx context.Context, offset *egopb.Offset) error {
	if err := s.lock(ctx, "WriteOffset", checkOffset(offset)); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if err := s.checkRegression(offset); err != nil {
		return opError("WriteOffset", err)
	}
	s.put(offset)
	s.notify()
	return nil
}

// GetCurrentOffset returns a copy of the offset stored for projectionID, or
// nil, nil when none is, which eGo reads as "start from the beginning".
func (s *OffsetStore) GetCurrentOffset(ctx context.Context, projectionID *egopb.ProjectionId) (*egopb.Offset, error) {
	if err := check(ctx, "GetCurrentOffset", checkID(projectionID)); err != nil {
		return nil, err
	}
	name, shard := projectionID.ProjectionName, projectionID.ShardNumber
	s.mu.RLock()
	connected := s.connected
	r, ok := s.offsets[name][shard]
	// The copy is made after unlocking, so that writers wait less.
	s.mu.RUnlock()
	if !connected {
		return nil, opError("GetCurrentOffset", offsetstore.ErrNotConnected)
	}
	if !ok {
		return nil, nil
	}
	return r.offset(name, shard), nil
}

// ResetOffset sets the value of every shard of projectionName that has an
// offset to value, and its timestamp to the clock's now in Unix
// milliseconds, in one step: no reader sees some shards reset and others
// not. It costs time in proportion to the projection's shards. Resetting a
// projection with no offsets does nothing.
//
// The clock is read with the store's lock held, once the call is known to
// succeed, so resets are stamped in the order they take effect. The clock
// given to [WithClock] must therefore not call the store.
func (s *OffsetStore) ResetOffset(ctx context.Context, projectionName string, value int64) error {
	if err := s.lock(ctx, "ResetOffset", checkName(projectionName)); err != nil {
		return err
	}
	defer s.mu.Unlock()
	shards := s.offsets[projectionName]
	if len(shards) == 0 {
		return nil
	}
	r := record{value: value, timestamp: s.clock().UnixMilli()}
	for shard := range shards {
		shards[shard] = r
	}
	s.notify()
	return nil
}

func (s *OffsetStore) clock() time.Time {
	if s.now == nil {
		return time.Now()
	}
	return s.now()
}

// notify wakes every waiter. s.mu must be held.
func (s *OffsetStore) notify() {
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
}

func (r record) offset(name string, shard uint64) *egopb.Offset {
	return &egopb.Offset{
		ShardNumber:    shard,
		ProjectionName: name,
		Value:          r.value,
		Timestamp:      r.timestamp,
	}
}
