package nats_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/natstest"
	offsetnats "github.com/ego-contrib/offsetstore/nats"
)

// Every benchmark runs on a cluster of three servers started in the
// process, on buckets of three replicas, over the baseline and the store,
// one after the other, so that
//
//	benchstat -col /impl bench.txt
//
// prints each figure of the store beside the baseline's, as a ratio. The
// baseline is a plain store on a KeyValue bucket of the jetstream package:
// one synchronous Put per WriteOffset, one Get (a direct get, which any
// replica may answer) per GetCurrentOffset, and a reset that Puts every
// shard in turn.

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

// benchImpls starts a cluster and returns the baseline and the store on
// it, connected, each on a bucket of its own with three replicas.
func benchImpls(b *testing.B) []impl {
	b.Helper()
	c := natstest.RunCluster(b)
	nc, err := nats.Connect(c.URL())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	kv, err := js.CreateKeyValue(b.Context(), jetstream.KeyValueConfig{Bucket: newBucket(), Replicas: 3})
	if err != nil {
		b.Fatal(err)
	}
	return []impl{
		{"baseline", &baselineStore{kv: kv, shards: map[string]uint64{}}},
		{"store", connectedStore(b, c, 3)},
	}
}

// BenchmarkWriteOffset writes from one goroutine, and from 64 at once, each
// writer to a key of its own. It reports writes/s: how many calls returned
// nil, each after the stream acknowledged its write.
func BenchmarkWriteOffset(b *testing.B) {
	ctx := context.Background()
	impls := benchImpls(b)
	for _, writers := range []int{1, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			for _, impl := range impls {
				b.Run("impl="+impl.name, func(b *testing.B) {
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
					if store, ok := impl.store.(*offsetnats.OffsetStore); ok {
						groups, writes := offsetnats.GroupCounts(store)
						b.ReportMetric(float64(writes)/float64(groups), "writes/group")
					}
				})
			}
		})
	}
}

// BenchmarkGetCurrentOffset reads keys that exist, from one goroutine.
func BenchmarkGetCurrentOffset(b *testing.B) {
	ctx := context.Background()
	for _, impl := range benchImpls(b) {
		b.Run("impl="+impl.name, func(b *testing.B) {
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
}

// BenchmarkResetOffset resets a projection of 64 shards, from one
// goroutine.
func BenchmarkResetOffset(b *testing.B) {
	const shards = 64
	ctx := context.Background()
	for _, impl := range benchImpls(b) {
		b.Run(fmt.Sprintf("shards=%d/impl=%s", shards, impl.name), func(b *testing.B) {
			for shard := range uint64(shards) {
				if err := impl.store.WriteOffset(ctx, &egopb.Offset{ProjectionName: "p", ShardNumber: shard, Value: 1}); err != nil {
					b.Fatal(err)
				}
			}
			if base, ok := impl.store.(*baselineStore); ok {
				base.shards["p"] = shards
			}
			b.ReportAllocs()
			v := int64(0)
			for b.Loop() {
				v--
				if err := impl.store.ResetOffset(ctx, "p", v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
