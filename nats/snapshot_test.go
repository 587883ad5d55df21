package nats_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/natstest"
)

// TestOffsetStore_Snapshot_MoreKeysThanOneDirectGet checks that Snapshot
// and Projections return every offset of a bucket with more keys than a
// server returns for one direct get (1024), which the store then reads
// one projection at a time, and that Offsets of a projection that has
// more says why it cannot read it at once.
func TestOffsetStore_Snapshot_MoreKeysThanOneDirectGet(t *testing.T) {
	t.Parallel()
	c := natstest.RunServer(t)
	store := newStore(t, c, 1)
	ctx := t.Context()
	if err := store.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	// Three projections of 400 shards: 1,200 shard keys and 3 fences.
	const projections, shards = 3, 400
	var want []*egopb.Offset
	for p := range projections {
		name := fmt.Sprintf("p%d", p)
		for shard := range uint64(shards) {
			want = append(want, &egopb.Offset{ProjectionName: name, ShardNumber: shard, Value: int64(shard) + 1, Timestamp: 1})
		}
		if err := store.WriteOffsets(ctx, want[len(want)-shards:]); err != nil {
			t.Fatalf("WriteOffsets(ctx, %d offsets of %s) = %v; want <nil>", shards, name, err)
		}
	}
	got, err := store.Snapshot(ctx)
	if err != nil || len(got) != len(want) {
		t.Fatalf("Snapshot(ctx) = %d offsets, %v; want %d offsets, <nil>: every offset of a bucket of more than 1024 keys", len(got), err, len(want))
	}
	for i := range want {
		if got[i].ProjectionName != want[i].ProjectionName || got[i].ShardNumber != want[i].ShardNumber || got[i].Value != want[i].Value {
			t.Fatalf("Snapshot(ctx)[%d] = %v; want %v", i, got[i], want[i])
		}
	}
	sums, err := store.Projections(ctx)
	if err != nil || len(sums) != projections || sums[0].Shards != shards {
		t.Fatalf("Projections(ctx) = %+v, %v; want %d projections of %d shards, <nil>", sums, err, projections, shards)
	}

	// One projection of 1,100 shards.
	var big []*egopb.Offset
	for shard := range uint64(1100) {
		big = append(big, &egopb.Offset{ProjectionName: "big", ShardNumber: shard, Value: 1, Timestamp: 1})
	}
	for chunk := range slices.Chunk(big, 500) {
		if err := store.WriteOffsets(ctx, chunk); err != nil {
			t.Fatalf("WriteOffsets(ctx, %d offsets of big) = %v; want <nil>", len(chunk), err)
		}
	}
	if got, err := store.Offsets(ctx, "big"); err == nil || !strings.Contains(err.Error(), "1024") {
		t.Errorf("Offsets(ctx, \"big\") = %d offsets, %v; want an error that says a read takes at most 1024 keys", len(got), err)
	}
	if _, err := store.Offsets(ctx, "p0"); err != nil {
		t.Errorf("Offsets(ctx, \"p0\") = %v; want <nil>: a projection of 400 keys beside one of 1,100", err)
	}
	if got, err := store.Snapshot(ctx); err == nil || !strings.Contains(err.Error(), "1024") {
		t.Errorf("Snapshot(ctx) with a projection of 1,100 keys = %d offsets, %v; want an error that says a read takes at most 1024 keys", len(got), err)
	}
}
