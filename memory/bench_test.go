package memory_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/shardlayout"
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

// A layout numbers the shards of a projection: shards(n) returns n
// distinct shard numbers in the order their first offsets arrive.
type layout struct {
	name   string
	shards func(n int) []uint64
}

// layouts are the two ways the benchmarks number shards. "dense" is 0 to
// n-1, in order, as a store that numbered its own shards would see them.
// "ego" is what eGo sends: a projection's shard is the partition, out of
// the actor system's 271, of the entity whose events it reads, so shards
// are sparse and arrive in any order.
var layouts = []layout{
	{"dense", shardlayout.Dense},
	{"ego", shardlayout.Ego},
}

// forEachLayout runs bench as a sub-benchmark layout=<name> for every
// layout.
func forEachLayout(b *testing.B, bench func(b *testing.B, l layout)) {
	b.Helper()
	for _, l := range layouts {
		b.Run("layout="+l.name, func(b *testing.B) { bench(b, l) })
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

// fill writes every fixture key, with shards laid out by l, once, and
// returns the messages it wrote, in an order that visits every projection
// before the next shard.
func fill(tb testing.TB, s offsetstore.OffsetStore, l layout) []*egopb.Offset {
	tb.Helper()
	names := projectionNames(fixtureProjections)
	offsets := make([]*egopb.Offset, 0, fixtureKeys)
	for _, shard := range l.shards(fixtureShards) {
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
		forEachLayout(b, func(b *testing.B, l layout) {
			forEachImpl(b, func(b *testing.B, newStore func() offsetstore.OffsetStore) {
				s := newStore()
				offsets := fill(b, s, l)
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
	})
	// Every write adds a shard to one of the fixture's projections, until
	// each has as many as the layout allows.
	b.Run("key=new", func(b *testing.B) {
		forEachLayout(b, func(b *testing.B, l layout) {
			perProjection := 1024
			if l.name == "ego" {
				perProjection = shardlayout.EgoPartitions
			}
			shards := l.shards(perProjection)
			forEachImpl(b, func(b *testing.B, newStore func() offsetstore.OffsetStore) {
				names := projectionNames(fixtureProjections)
				benchNewKeys(b, newStore, fixtureProjections*perProjection, func(offset *egopb.Offset, i int) {
					offset.ProjectionName = names[i%fixtureProjections]
					offset.ShardNumber = shards[i/fixtureProjections]
				})
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
	for _, key := range []string{"hit", "miss"} {
		b.Run("key="+key, func(b *testing.B) {
			forEachLayout(b, func(b *testing.B, l layout) {
				// A miss reads, in each fixture projection, a shard
				// the layout would number next, which nobody wrote.
				unwritten := l.shards(2 * fixtureShards)[fixtureShards:]
				forEachImpl(b, func(b *testing.B, newStore func() offsetstore.OffsetStore) {
					s := newStore()
					ids := make([]*egopb.ProjectionId, 0, fixtureKeys)
					for i, offset := range fill(b, s, l) {
						id := &egopb.ProjectionId{ProjectionName: offset.ProjectionName, ShardNumber: offset.ShardNumber}
						if key == "miss" {
							id.ShardNumber = unwritten[i/fixtureProjections]
						}
						ids = append(ids, id)
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
		})
	}
}

func BenchmarkResetOffset(b *testing.B) {
	ctx := context.Background()
	for _, bc := range []struct {
		layout         layout
		shards, writes int
	}{
		{layouts[0], 16, 16},
		// The same projection after a long history: a reset must cost the
		// same, since the store keeps one record per key, not per write.
		{layouts[0], 16, 100_000},
		{layouts[0], 1024, 1024},
		{layouts[1], 16, 16},
		{layouts[1], 16, 100_000},
		// Every partition in use.
		{layouts[1], shardlayout.EgoPartitions, shardlayout.EgoPartitions},
	} {
		name := fmt.Sprintf("shards=%d/writes=%d/layout=%s", bc.shards, bc.writes, bc.layout.name)
		b.Run(name, func(b *testing.B) {
			shards := bc.layout.shards(bc.shards)
			forEachImpl(b, func(b *testing.B, newStore func() offsetstore.OffsetStore) {
				s := newStore()
				// Other projections, so that a reset that touched more
				// than its own would show.
				fill(b, s, bc.layout)
				const name = "reset"
				offset := &egopb.Offset{ProjectionName: name}
				for i := range bc.writes {
					offset.ShardNumber = shards[i%bc.shards]
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
		name      = "mixed"
		numShards = 64
	)
	ctx := context.Background()
	forEachLayout(b, func(b *testing.B, l layout) {
		shards := l.shards(numShards)
		forEachImpl(b, func(b *testing.B, newStore func() offsetstore.OffsetStore) {
			s := newStore()
			for _, shard := range shards {
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
					shard := shards[r.IntN(numShards)]
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
	})
}

// BenchmarkLiveHeap reports the heap a store holds once it has taken the
// writes, as B/key and as live-B in all. Its time per op is the time to
// take them, into an empty store.
func BenchmarkLiveHeap(b *testing.B) {
	ctx := context.Background()
	for _, bc := range []struct {
		projections, shards, writes int
		layout                      layout
	}{
		// Many keys, each written once: the memory a key costs.
		{1000, 100, 100_000, layouts[0]},
		{1000, 100, 100_000, layouts[1]},
		// Few keys, written many times: memory must not follow history.
		{1, 16, 1_000_000, layouts[0]},
	} {
		name := fmt.Sprintf("projections=%d/shards=%d/writes=%d/layout=%s", bc.projections, bc.shards, bc.writes, bc.layout.name)
		b.Run(name, func(b *testing.B) {
			keys := bc.projections * bc.shards
			names := projectionNames(bc.projections)
			shards := bc.layout.shards(bc.shards)
			forEachImpl(b, func(b *testing.B, newStore func() offsetstore.OffsetStore) {
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
						offset.ShardNumber = shards[key%bc.shards]
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
