package main

import (
	"fmt"
	"testing"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/shardlayout"
)

// BenchmarkProjections measures what projections reads: every offset,
// folded here (read=Snapshot, what offsetctl does on every backend),
// against PostgreSQL's own summary statement (read=Summaries, a fast path
// only that store has), on eGo's layout of 271 shards, 20 projections.
func BenchmarkProjections(b *testing.B) {
	var offsets []*egopb.Offset
	for p := range 20 {
		for _, shard := range shardlayout.Ego(271) {
			offsets = append(offsets, &egopb.Offset{ProjectionName: fmt.Sprintf("projection-%02d", p), ShardNumber: shard, Value: now.UnixNano(), Timestamp: now.UnixMilli()})
		}
	}
	_, store := fixtureSchema(b, offsets)
	b.Run("read=Snapshot", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			all, err := store.Snapshot(b.Context())
			if err != nil {
				b.Fatal(err)
			}
			if n := len(summarize(all)); n != 20 {
				b.Fatalf("%d summaries; want 20", n)
			}
		}
	})
	b.Run("read=Summaries", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sums, err := store.Summaries(b.Context())
			if err != nil || len(sums) != 20 {
				b.Fatalf("Summaries(ctx) = %d, %v; want 20, <nil>", len(sums), err)
			}
		}
	})
}
