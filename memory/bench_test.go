package memory_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/memory"
)

// Every benchmark runs over every implementation, floor first, so that
//
//	benchstat -col '/impl@(floor store)' bench.txt
//
// prints each figure of the store beside the floor's, as a ratio.
var impls = []struct {
	name string
	new  func() offsetstore.OffsetStore
}{
	{"floor", func() offsetstore.OffsetStore { return new(floorStore) }},
	{"store", func() offsetstore.OffsetStore { return memory.NewOffsetStore() }},
}

// forEachImpl runs bench as a sub-benchmark impl=<name> for every
// implementation. newStore returns a fresh, connected store.
func forEachImpl(b *testing.B, bench func(b *testing.B, newStore func() offsetstore.OffsetStore)) {
	b.Helper()
	for _, impl := range impls {
		b.Run("impl="+impl.name, func(b *testing.B) {
			bench(b, func() offsetstore.OffsetStore { return connected(b, impl.new()) })
		})
	}
}

// The fixture is the set of keys most benchmarks cycle through: several
// projections, so that the store is measured holding more than one, and a
// power of two of keys, so that picking the next one is cheap.
const (
	fixtureProjections = 64
	fixtureShards      = 16
	fixtureKeys        = fixtureProjections * fixtureShards
)

// fill writes every fixture key once and returns the messages it wrote, in
// an order that visits every projection before the next shard.
func fill(tb testing.TB, s offsetstore.OffsetStore) []*egopb.Offset {
	tb.Helper()
	names := projectionNames(fixtureProjections)
	offsets := make([]*egopb.Offset, 0, fixtureKeys)
	for shard := range uint64(fixtureShards) {
		for _, name := range names {
			offset := &egopb.Offset{ProjectionName: name, ShardNumber: shard, Value: 1, Timestamp: 1}
			write(tb, s, offset)
			offsets = append(offsets, offset)
		}
	}
	return offsets
}

func BenchmarkWriteOffset(b *testing.B) {
	ctx := context.Background()
	b.Run("key=existing", func(b *testing.B) {
		forEachImpl(b, func(b *testing.B, newStore func() offsetstore.OffsetStore) {
			s := newStore()
			offsets := fill(b, s)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				offset := offsets[i%fixtureKeys]
				offset.Value = int64(i)
				if err := s.WriteOffset(ctx, offset); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	})
	b.Run("key=new", func(b *testing.B) {
		forEachImpl(b, func(b *testing.B, newStore func() offsetstore.OffsetStore) {
			names := projectionNames(fixtureProjections)
			benchNewKeys(b, newStore, 1<<16, func(offset *egopb.Offset, i int) {
				offset.ProjectionName = names[i%fixtureProjections]
				offset.ShardNumber = uint64(i / fixtureProjections)
			})
		})
	})
	// Every write names a projection of its own, as a test suite that
	// starts thousands of projections does: a store that copied its
	// projections to add one would show here, slower with every write.
	b.Run("key=newprojection", func(b *testing.B) {
		forEachImpl(b, func(b *testing.B, newStore func() offsetstore.OffsetStore) {
			names := projectionNames(1 << 14)
			benchNewKeys(b, newStore, len(names), func(offset *egopb.Offset, i int) {
				offset.ProjectionName = names[i]
			})
		})
	})
}

// benchNewKeys measures writes that each add a key to the store, setKey
// giving the i-th write its key. A store that grew for the whole run would
// measure the machine's memory rather than the store: a fresh one starts
// every perStore writes.
func benchNewKeys(b *testing.B, newStore func() offsetstore.OffsetStore, perStore int, setKey func(offset *egopb.Offset, i int)) {
	ctx := context.Background()
	offset := &egopb.Offset{Timestamp: 1}
	s := newStore()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == perStore {
			b.StopTimer()
			s, i = newStore(), 0
			b.StartTimer()
		}
		setKey(offset, i)
		offset.Value = int64(i)
		if err := s.WriteOffset(ctx, offset); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkGetCurrentOffset(b *testing.B) {
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		// shard moves a fixture shard to the shard read: onto itself for
		// a hit, past every written shard for a miss.
		shard func(uint64) uint64
	}{
		{"key=hit", func(shard uint64) uint64 { return shard }},
		{"key=miss", func(shard uint64) uint64 { return shard + fixtureShards }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			forEachImpl(b, func(b *testing.B, newStore func() offsetstore.OffsetStore) {
				s := newStore()
				ids := make([]*egopb.ProjectionId, 0, fixtureKeys)
				for _, offset := range fill(b, s) {
					ids = append(ids, &egopb.ProjectionId{
						ProjectionName: offset.ProjectionName,
						ShardNumber:    bc.shard(offset.ShardNumber),
					})
				}
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if _, err := s.GetCurrentOffset(ctx, ids[i%fixtureKeys]); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		})
	}
}

func BenchmarkResetOffset(b *testing.B) {
	ctx := context.Background()
	for _, bc := range []struct{ shards, writes int }{
		{16, 16},
		// The same projection after a long history: a reset must cost the
		// same, since the store keeps one record per key, not per write.
		{16, 100_000},
		{1024, 1024},
	} {
		b.Run(fmt.Sprintf("shards=%d/writes=%d", bc.shards, bc.writes), func(b *testing.B) {
			forEachImpl(b, func(b *testing.B, newStore func() offsetstore.OffsetStore) {
				s := newStore()
				// Other projections, so that a reset that touched more
				// than its own would show.
				fill(b, s)
				const name = "reset"
				offset := &egopb.Offset{ProjectionName: name}
				for i := range bc.writes {
					offset.ShardNumber = uint64(i % bc.shards)
					offset.Value = int64(i)
					offset.Timestamp = int64(i)
					write(b, s, offset)
				}
				b.ReportAllocs()
				var value int64
				for b.Loop() {
					if err := s.ResetOffset(ctx, name, value); err != nil {
						b.Fatal(err)
					}
					value++
				}
			})
		})
	}
}

// BenchmarkParallelMixed is a projection's steady state seen from the
// store: every goroutine reads nine offsets for each one it writes, over
// the 64 shards of one projection.
func BenchmarkParallelMixed(b *testing.B) {
	const (
		name   = "mixed"
		shards = 64
	)
	ctx := context.Background()
	forEachImpl(b, func(b *testing.B, newStore func() offsetstore.OffsetStore) {
		s := newStore()
		for shard := range uint64(shards) {
			write(b, s, &egopb.Offset{ProjectionName: name, ShardNumber: shard, Value: 1, Timestamp: 1})
		}
		var seed atomic.Uint64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			// The messages are this goroutine's own: the store copies
			// them in and out, so no other goroutine may see them change.
			offset := &egopb.Offset{ProjectionName: name, Timestamp: 1}
			id := &egopb.ProjectionId{ProjectionName: name}
			r := rand.New(rand.NewPCG(seed.Add(1), 0))
			for i := 0; pb.Next(); i++ {
				shard := r.Uint64() % shards
				if i%10 == 0 {
					offset.ShardNumber = shard
					offset.Value = int64(i)
					if err := s.WriteOffset(ctx, offset); err != nil {
						b.Error(err)
						return
					}
					continue
				}
				id.ShardNumber = shard
				if _, err := s.GetCurrentOffset(ctx, id); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkLiveHeap reports the heap a store holds once it has taken the
// writes, as B/key and as live-B in all. Its time per op is the time to
// take them, into an empty store.
func BenchmarkLiveHeap(b *testing.B) {
	ctx := context.Background()
	for _, bc := range []struct{ projections, shards, writes int }{
		// Many keys, each written once: the memory a key costs.
		{1000, 100, 100_000},
		// Few keys, written many times: memory must not follow history.
		{1, 16, 1_000_000},
	} {
		name := fmt.Sprintf("projections=%d/shards=%d/writes=%d", bc.projections, bc.shards, bc.writes)
		b.Run(name, func(b *testing.B) {
			forEachImpl(b, func(b *testing.B, newStore func() offsetstore.OffsetStore) {
				keys := bc.projections * bc.shards
				names := projectionNames(bc.projections)
				offset := &egopb.Offset{Timestamp: 1}
				var heap int64
				b.ReportAllocs()
				for b.Loop() {
					b.StopTimer()
					before := liveHeap()
					b.StartTimer()
					s := newStore()
					for i := range bc.writes {
						key := i % keys
						offset.ProjectionName = names[key/bc.shards]
						offset.ShardNumber = uint64(key % bc.shards)
						offset.Value = int64(i)
						if err := s.WriteOffset(ctx, offset); err != nil {
							b.Fatal(err)
						}
					}
					b.StopTimer()
					heap += int64(liveHeap()) - int64(before)
					runtime.KeepAlive(s)
					b.StartTimer()
				}
				perStore := float64(heap) / float64(b.N)
				b.ReportMetric(perStore/float64(keys), "B/key")
				b.ReportMetric(perStore, "live-B")
			})
		})
	}
}

// liveHeap returns the bytes of heap still reachable: a collection first
// frees what is not.
func liveHeap() uint64 {
	runtime.GC()
	var stats runtime.MemStats
	runtime.ReadMemStats(&stats)
	return stats.HeapAlloc
}

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
			call = fmt.Sprintf("WriteOffset(ctx, %v)", offset)
			floorErr, storeErr = floor.WriteOffset(ctx, offset), store.WriteOffset(ctx, offset)
		case 1:
			call = fmt.Sprintf("ResetOffset(ctx, %q, %d)", name, value)
			floorErr, storeErr = floor.ResetOffset(ctx, name, value), store.ResetOffset(ctx, name, value)
		case 2:
			id := &egopb.ProjectionId{ProjectionName: name, ShardNumber: shard}
			call = fmt.Sprintf("GetCurrentOffset(ctx, %v)", id)
			var got, want *egopb.Offset
			got, floorErr = floor.GetCurrentOffset(ctx, id)
			want, storeErr = store.GetCurrentOffset(ctx, id)
			// Timestamps of reset offsets come from two clock readings.
			if (got == nil) != (want == nil) || got != nil && (got.Value != want.Value || got.ProjectionName != want.ProjectionName || got.ShardNumber != want.ShardNumber) {
				t.Fatalf("floor: %s = %v; store: %v", call, got, want)
			}
		}
		if errors.Is(floorErr, offsetstore.ErrInvalidArgument) != errors.Is(storeErr, offsetstore.ErrInvalidArgument) || (floorErr == nil) != (storeErr == nil) {
			t.Fatalf("floor: %s = %v; store: %v", call, floorErr, storeErr)
		}
	}
}
