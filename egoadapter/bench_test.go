package egoadapter_test

import (
	"context"
	"testing"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egoadapter"
	"github.com/ego-contrib/offsetstore/egoadapter/internal/egotestpb"
	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/memory"
)

// handCopy is the adapter every user wrote by hand before this package: it
// copies the four fields of an offset, and the two of an id, by name. It is
// the baseline the benchmarks measure the adapter against.
type handCopy struct {
	offsetstore.OffsetStore
}

func (h handCopy) WriteOffset(ctx context.Context, offset *egotestpb.Offset) error {
	var ours *egopb.Offset
	if offset != nil {
		ours = &egopb.Offset{
			ShardNumber:    offset.GetShardNumber(),
			ProjectionName: offset.GetProjectionName(),
			Value:          offset.GetValue(),
			Timestamp:      offset.GetTimestamp(),
		}
	}
	return h.OffsetStore.WriteOffset(ctx, ours)
}

func (h handCopy) GetCurrentOffset(ctx context.Context, id *egotestpb.ProjectionId) (*egotestpb.Offset, error) {
	var ours *egopb.ProjectionId
	if id != nil {
		ours = &egopb.ProjectionId{ProjectionName: id.GetProjectionName(), ShardNumber: id.GetShardNumber()}
	}
	current, err := h.OffsetStore.GetCurrentOffset(ctx, ours)
	if current == nil {
		return nil, err
	}
	return &egotestpb.Offset{
		ShardNumber:    current.GetShardNumber(),
		ProjectionName: current.GetProjectionName(),
		Value:          current.GetValue(),
		Timestamp:      current.GetTimestamp(),
	}, err
}

// benchShards are the shards of one projection as eGo spreads them: entity
// ids hashed onto 271 partitions, three of them in use, in no order.
var benchShards = [...]uint64{142, 17, 250}

// The values eGo writes: Value an event time in Unix nanoseconds, Timestamp
// a wall clock in Unix milliseconds. Both are far above the small integers
// Go keeps preallocated, so a conversion that boxes them would allocate.
const (
	benchValue     = 1_764_150_000_000_000_000
	benchTimestamp = 1_764_150_000_000
)

// forEachImpl runs bench over the hand-written copy (impl=copy), the adapter
// (impl=adapter) and the adapter forced onto protobuf reflection, its path
// for messages without plain struct fields (impl=protoreflect), each
// wrapping a new connected memory store, so that each figure reads as a
// ratio to the copy:
//
//	go test -run '^$' -bench . -benchmem -count 20 -benchtime 0.25s ./egoadapter > bench.txt
//	go tool -modfile=tools/go.mod benchstat -col /impl bench.txt
func forEachImpl(b *testing.B, bench func(b *testing.B, store egoadapter.EgoOffsetStore[egotestpb.Offset, egotestpb.ProjectionId])) {
	impls := []struct {
		name string
		wrap func(offsetstore.OffsetStore) egoadapter.EgoOffsetStore[egotestpb.Offset, egotestpb.ProjectionId]
	}{
		{"copy", func(s offsetstore.OffsetStore) egoadapter.EgoOffsetStore[egotestpb.Offset, egotestpb.ProjectionId] {
			return handCopy{s}
		}},
		{"adapter", egoadapter.ToEgo[egotestpb.Offset, egotestpb.ProjectionId]},
		{"protoreflect", egoadapter.ToEgoByProtoReflect[egotestpb.Offset, egotestpb.ProjectionId]},
	}
	for _, impl := range impls {
		b.Run("impl="+impl.name, func(b *testing.B) {
			store := impl.wrap(memory.NewOffsetStore())
			ctx := context.Background()
			if err := store.Connect(ctx); err != nil {
				b.Fatalf("Connect(ctx) = %v; want <nil>", err)
			}
			b.Cleanup(func() { _ = store.Disconnect(ctx) })
			b.ReportAllocs()
			bench(b, store)
		})
	}
}

// BenchmarkWriteOffset measures eGo's commit of a shard's offset, to a key
// already written: what a running projection does after every batch.
func BenchmarkWriteOffset(b *testing.B) {
	forEachImpl(b, func(b *testing.B, store egoadapter.EgoOffsetStore[egotestpb.Offset, egotestpb.ProjectionId]) {
		ctx := context.Background()
		offsets := make([]*egotestpb.Offset, len(benchShards))
		for i, shard := range benchShards {
			offsets[i] = &egotestpb.Offset{ShardNumber: shard, ProjectionName: "accounts-projection", Value: benchValue, Timestamp: benchTimestamp}
			if err := store.WriteOffset(ctx, offsets[i]); err != nil {
				b.Fatalf("WriteOffset(ctx, %v) = %v; want <nil>", offsets[i], err)
			}
		}
		i := 0
		for b.Loop() {
			if err := store.WriteOffset(ctx, offsets[i%len(offsets)]); err != nil {
				b.Fatalf("WriteOffset(ctx, %v) = %v; want <nil>", offsets[i%len(offsets)], err)
			}
			i++
		}
	})
}

// BenchmarkGetCurrentOffset measures eGo's read of a shard's offset when a
// projection starts, of a shard written before (key=hit) and of one never
// written (key=miss).
func BenchmarkGetCurrentOffset(b *testing.B) {
	for _, key := range []string{"hit", "miss"} {
		b.Run("key="+key, func(b *testing.B) {
			forEachImpl(b, func(b *testing.B, store egoadapter.EgoOffsetStore[egotestpb.Offset, egotestpb.ProjectionId]) {
				ctx := context.Background()
				ids := make([]*egotestpb.ProjectionId, len(benchShards))
				for i, shard := range benchShards {
					ids[i] = &egotestpb.ProjectionId{ProjectionName: "accounts-projection", ShardNumber: shard}
					if key == "miss" {
						ids[i].ShardNumber++
					}
					offset := &egotestpb.Offset{ShardNumber: shard, ProjectionName: "accounts-projection", Value: benchValue, Timestamp: benchTimestamp}
					if err := store.WriteOffset(ctx, offset); err != nil {
						b.Fatalf("WriteOffset(ctx, %v) = %v; want <nil>", offset, err)
					}
				}
				i := 0
				for b.Loop() {
					current, err := store.GetCurrentOffset(ctx, ids[i%len(ids)])
					if err != nil || (current == nil) != (key == "miss") {
						b.Fatalf("GetCurrentOffset(ctx, %v) = %v, %v; want a %s, <nil>", ids[i%len(ids)], current, err, key)
					}
					i++
				}
			})
		})
	}
}
