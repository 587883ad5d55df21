package memory

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
)

var _ offsetstore.OffsetStore = (*OffsetStore)(nil)

// OffsetStore is an [offsetstore.OffsetStore] that keeps offsets in memory.
//
// It holds one record per (projection name, shard number), so memory grows
// with the number of distinct keys, never with the number of writes. A
// zero OffsetStore is valid, uses [time.Now] and is not connected.
// All methods are safe for concurrent use.
type OffsetStore struct {
	// KeepRecordsAfterDisconnect, when true, keeps the offsets through
	// Disconnect, so that a later Connect in the same process finds them.
	// When false, Disconnect frees every offset. It is read by Disconnect:
	// set it before the store is shared between goroutines.
	KeepRecordsAfterDisconnect bool

	now       func() time.Time
	monotonic bool
	keep      bool

	// mu is held by every change to the store, and by every read but
	// GetCurrentOffset's: the method eGo calls most reads view, without
	// waiting for writers, unless it meets a change in progress.
	mu        sync.Mutex
	connected bool
	// sessions counts disconnections, so a waiter can tell that the
	// store was disconnected while it slept even if it was connected again.
	sessions uint64
	// projections and index hold the same projections: the map for
	// holders of the lock, the sync.Map for lock-free readers, who find
	// it through view. A sync.Map, so that adding a projection costs no
	// copy of the others.
	projections map[string]*shards
	index       *sync.Map
	view        atomic.Pointer[view]
	// changed is closed, and cleared, when offsets change while somebody
	// waits for them; it is nil when nobody waits, so writes stay cheap.
	changed chan struct{}
}

// A view is what lock-free readers see of the store: whether it is
// connected and, in one load, the index of its projections then.
type view struct {
	connected bool
	index     *sync.Map
}

// shards returns the projection called name, or nil.
func (v *view) shards(name string) *shards {
	if v.index == nil {
		return nil
	}
	p, _ := v.index.Load(name)
	found, _ := p.(*shards)
	return found
}

// publish shows lock-free readers the store as it now is. s.mu must be
// held.
func (s *OffsetStore) publish() {
	s.view.Store(&view{connected: s.connected, index: s.index})
}

// setProjections replaces every projection with those of projections, and
// index, which must hold the same (see [newIndex]). s.mu must be held.
func (s *OffsetStore) setProjections(projections map[string]*shards, index *sync.Map) {
	s.projections, s.index = projections, index
	s.publish()
}

// addProjection adds a projection, with no records, called name. s.mu
// must be held.
func (s *OffsetStore) addProjection(name string) *shards {
	p := newShards()
	// The key outlives the call: clone it so the store never pins the
	// caller's memory (a name sliced from a larger buffer).
	name = strings.Clone(name)
	s.projections[name] = p
	s.index.Store(name, p)
	return p
}

// deleteProjection removes the projection called name, if there is one.
// s.mu must be held, and the store connected.
func (s *OffsetStore) deleteProjection(name string) {
	delete(s.projections, name)
	s.index.Delete(name)
}

// newIndex returns a sync.Map holding the entries of projections.
func newIndex(projections map[string]*shards) *sync.Map {
	index := new(sync.Map)
	for name, p := range projections {
		index.Store(name, p)
	}
	return index
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
	if s.connected {
		return nil
	}
	s.connected = true
	if s.projections == nil {
		s.setProjections(make(map[string]*shards), new(sync.Map))
	} else {
		s.publish()
	}
	return nil
}

// Disconnect makes the store unusable until the next Connect and, unless
// KeepRecordsAfterDisconnect is true, frees every offset. Disconnecting a
// store that is not connected does nothing. Calls blocked in
// [OffsetStore.WaitForOffset] or [OffsetStore.WaitForOffsets] return an
// error wrapping [offsetstore.ErrNotConnected].
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
	if s.keep || s.KeepRecordsAfterDisconnect {
		s.publish()
	} else {
		s.setProjections(nil, nil)
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
	name, shard := offset.ProjectionName, offset.ShardNumber
	p := s.projections[name]
	if p == nil {
		p = s.addProjection(name)
	}
	if s.monotonic {
		if old, ok := p.get(shard); ok && offset.Value < old.value {
			return opError("WriteOffset", fmt.Errorf("%w: projection %q shard %d: value %d is below the stored %d",
				offsetstore.ErrOffsetRegression, name, shard, offset.Value, old.value))
		}
	}
	p.set(shard, record{value: offset.Value, timestamp: offset.Timestamp})
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
	connected := false
	r, ok, needLock := record{}, false, false
	if v := s.view.Load(); v != nil {
		connected = v.connected
		r, ok, needLock = v.shards(name).read(shard)
	}
	if needLock {
		s.mu.Lock()
		connected = s.connected
		r, ok = s.projections[name].get(shard)
		s.mu.Unlock()
	}
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
func (s *OffsetStore) ResetOffset(ctx context.Context, projectionName string, value int64) error {
	// Read the clock before taking the lock, to keep readers' wait short.
	now := s.clock().UnixMilli()
	if err := s.lock(ctx, "ResetOffset", checkName(projectionName)); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if p := s.projections[projectionName]; p.len() > 0 {
		p.setAll(record{value: value, timestamp: now})
		s.notify()
	}
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
