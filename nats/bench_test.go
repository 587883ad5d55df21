package nats_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/natstest"
	offsetnats "github.com/ego-contrib/offsetstore/nats"
)

// Every benchmark runs on a cluster of three servers started in the
// process, on buckets of three replicas, over the baseline and the store
// in turn, benchRounds times, the one that goes first swapping at every
// round, so that neither always gets the warmer cluster or the quieter
// machine. Each round is a sub-benchmark of its own, round=<n>, so that
//
//	benchstat -col /impl -ignore /round bench.txt
//
// prints the median of each figure of the store over the rounds beside the
// baseline's, as a ratio (scripts/bench-nats.sh runs them so). The
// baseline is a plain store on a KeyValue bucket of the jetstream package:
// one synchronous Put per WriteOffset, one Get (a direct get, which any
// replica may answer, from what it has applied) per GetCurrentOffset, and
// a reset that Puts every shard in turn.

// benchStore is what the benchmarks drive.
type benchStore interface {
	WriteOffset(ctx context.Context, offset *egopb.Offset) error
	GetCurrentOffset(ctx context.Context, id *egopb.ProjectionId) (*egopb.Offset, error)
	ResetOffset(ctx context.Context, name string, value int64) error
}

// baselineStore keeps "<value> <timestamp>" under <name>.<shard>, names
// being plain here.
type baselineStore struct {
	kv     jetstream.KeyValue
	shards map[string]uint64 // how many shards ResetOffset rewrites, 0 to n-1
}

func baselineKey(name string, shard uint64) string { return name + "." + strconv.FormatUint(shard, 10) }

func (s *baselineStore) WriteOffset(ctx context.Context, o *egopb.Offset) error {
	_, err := s.kv.Put(ctx, baselineKey(o.ProjectionName, o.ShardNumber), fmt.Appendf(nil, "%d %d", o.Value, o.Timestamp))
	return err
}

func (s *baselineStore) GetCurrentOffset(ctx context.Context, id *egopb.ProjectionId) (*egopb.Offset, error) {
	e, err := s.kv.Get(ctx, baselineKey(id.ProjectionName, id.ShardNumber))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	o := &egopb.Offset{ProjectionName: id.ProjectionName, ShardNumber: id.ShardNumber}
	_, err = fmt.Sscanf(string(e.Value()), "%d %d", &o.Value, &o.Timestamp)
	return o, err
}

func (s *baselineStore) ResetOffset(ctx context.Context, name string, value int64) error {
	for shard := range s.shards[name] {
		if _, err := s.kv.Put(ctx, baselineKey(name, shard), fmt.Appendf(nil, "%d %d", value, 0)); err != nil {
			return err
		}
	}
	return nil
}

type impl struct {
	name  string
	store benchStore
}

// benchRounds is how many times each benchmark measures each store: the
// samples of its medians.
const benchRounds = 6

// alternate runs bench over every impl, in rounds named round=<n>, the
// first impl going first in odd-numbered rounds and last in the others.
func alternate(b *testing.B, impls []impl, bench func(b *testing.B, impl impl)) {
	for round := 1; round <= benchRounds; round++ {
		b.Run(fmt.Sprintf("round=%d", round), func(b *testing.B) {
			for i := range impls {
				if round%2 == 0 {
					i = len(impls) - 1 - i
				}
				b.Run("impl="+impls[i].name, func(b *testing.B) { bench(b, impls[i]) })
			}
		})
	}
}

// benchImpls starts a cluster and returns the baseline and the store on
// it, each on a bucket of its own with three replicas, and connected to
// the server that leads the bucket's stream.
func benchImpls(b *testing.B) []impl {
	b.Helper()
	c := natstest.RunCluster(b)
	baseBucket := newBucket()
	nc, err := nats.Connect(c.URL())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := js.CreateKeyValue(b.Context(), jetstream.KeyValueConfig{Bucket: baseBucket, Replicas: 3}); err != nil {
		b.Fatal(err)
	}
	// A client connected to a server other than its stream's leader pays
	// a hop between servers each way on every request; each store talks
	// to its leader, so that neither pays it and the two compare alike.
	nc, err = nats.Connect(c.WaitForStreamLeader(b, "KV_"+baseBucket).URL())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	if js, err = jetstream.New(nc); err != nil {
		b.Fatal(err)
	}
	kv, err := js.KeyValue(b.Context(), baseBucket)
	if err != nil {
		b.Fatal(err)
	}
	return []impl{
		{"baseline", &baselineStore{kv: kv, shards: map[string]uint64{}}},
		{"store", leaderStore(b, c)},
	}
}

// leaderStore returns a store, connected to the leader of the stream of
// a bucket of three replicas that another store created.
func leaderStore(b *testing.B, c *natstest.Cluster) *offsetnats.OffsetStore {
	b.Helper()
	bucket := newBucket()
	connectedStore(b, c, 3, offsetnats.WithBucket(bucket))
	leader := c.WaitForStreamLeader(b, "KV_"+bucket)
	store := offsetnats.NewOffsetStore(leader.URL(), offsetnats.WithBucket(bucket))
	b.Cleanup(func() {
		if err := store.Disconnect(context.Background()); err != nil {
			b.Errorf("Disconnect(ctx) = %v; want <nil>", err)
		}
	})
	if err := store.Connect(b.Context()); err != nil {
		b.Fatalf("Connect(ctx) = %v; want <nil>", err)
	}
	return store
}

// BenchmarkWriteOffset writes from one goroutine, and from 64 at once, each
// writer to a key of its own. It reports writes/s: how many calls returned
// nil, each after the stream acknowledged its write; and cpu-ns/write: the
// CPU time the process spent (servers, clients and benchmark alike) per
// write, which shows whether a store saves the servers work even where
// the throughput does not show it.
func BenchmarkWriteOffset(b *testing.B) {
	ctx := context.Background()
	impls := benchImpls(b)
	for _, writers := range []int{1, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			alternate(b, impls, func(b *testing.B, impl impl) {
				var ru0 syscall.Rusage
				_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
				b.ReportAllocs()
				if writers == 1 {
					o := &egopb.Offset{ProjectionName: "p", ShardNumber: 0}
					for b.Loop() {
						o.Value++
						if err := impl.store.WriteOffset(ctx, o); err != nil {
							b.Fatal(err)
						}
					}
				} else {
					var next atomic.Int64
					// RunParallel starts parallelism * GOMAXPROCS goroutines.
					procs := runtime.GOMAXPROCS(0)
					b.SetParallelism((writers + procs - 1) / procs)
					b.RunParallel(func(pb *testing.PB) {
						o := &egopb.Offset{ProjectionName: "p", ShardNumber: uint64(next.Add(1))}
						for pb.Next() {
							o.Value++
							if err := impl.store.WriteOffset(ctx, o); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
				var ru1 syscall.Rusage
				_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
				cpu := ru1.Utime.Nano() - ru0.Utime.Nano() + ru1.Stime.Nano() - ru0.Stime.Nano()
				b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/write")
			})
		})
	}
}

// BenchmarkGetCurrentOffset reads keys that exist, from one goroutine.
func BenchmarkGetCurrentOffset(b *testing.B) {
	ctx := context.Background()
	alternate(b, benchImpls(b), func(b *testing.B, impl impl) {
		ids := make([]*egopb.ProjectionId, 16)
		for i := range ids {
			if err := impl.store.WriteOffset(ctx, &egopb.Offset{ProjectionName: "p", ShardNumber: uint64(i), Value: 1}); err != nil {
				b.Fatal(err)
			}
			ids[i] = &egopb.ProjectionId{ProjectionName: "p", ShardNumber: uint64(i)}
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			o, err := impl.store.GetCurrentOffset(ctx, ids[i%len(ids)])
			if err != nil || o == nil {
				b.Fatalf("GetCurrentOffset = %v, %v; want an offset", o, err)
			}
			i++
		}
	})
}

// resetShardsStore resets with ResetShards(ctx, name, value, nil), which
// reads the projection's keys every time, where ResetOffset, called again
// through the same store, writes from what it kept of them.
type resetShardsStore struct{ *offsetnats.OffsetStore }

func (s resetShardsStore) ResetOffset(ctx context.Context, name string, value int64) error {
	_, err := s.ResetShards(ctx, name, value, nil)
	return err
}

// BenchmarkResetOffset resets a projection of 64 shards, from one
// goroutine: through the baseline, through the store's ResetOffset, and
// through its ResetShards of every shard (impl=store-resetshards), which
// costs what a store's first ResetOffset of a projection costs.
func BenchmarkResetOffset(b *testing.B) {
	const shards = 64
	ctx := context.Background()
	b.Run(fmt.Sprintf("shards=%d", shards), func(b *testing.B) {
		impls := benchImpls(b)
		impls = append(impls, impl{"store-resetshards", resetShardsStore{impls[1].store.(*offsetnats.OffsetStore)}})
		alternate(b, impls, func(b *testing.B, impl impl) {
			// A projection of each impl's own, since two share a bucket.
			name := "p-" + impl.name
			for shard := range uint64(shards) {
				if err := impl.store.WriteOffset(ctx, &egopb.Offset{ProjectionName: name, ShardNumber: shard, Value: 1}); err != nil {
					b.Fatal(err)
				}
			}
			if base, ok := impl.store.(*baselineStore); ok {
				base.shards[name] = shards
			}
			b.ReportAllocs()
			v := int64(0)
			for b.Loop() {
				v--
				if err := impl.store.ResetOffset(ctx, name, v); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}
