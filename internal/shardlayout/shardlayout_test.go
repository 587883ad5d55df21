package shardlayout_test

import (
	"slices"
	"testing"

	"github.com/ego-contrib/offsetstore/internal/shardlayout"
)

// TestEgo_IsSparseAndOutOfOrder checks the premise the suite's sparse
// ResetAtomic run and the eGo-layout benchmarks rest on: shards drawn
// from EgoPartitions, distinct, neither 0..n-1 nor arriving in order.
// Were Ego to return Dense's shards, those runs would quietly measure the
// dense layout twice.
func TestEgo_IsSparseAndOutOfOrder(t *testing.T) {
	const n = 16
	shards := shardlayout.Ego(n)
	if len(shards) != n {
		t.Fatalf("Ego(%d) returned %d shards; want %d", n, len(shards), n)
	}
	sorted := slices.Sorted(slices.Values(shards))
	if len(slices.Compact(slices.Clone(sorted))) != n {
		t.Errorf("Ego(%d) = %v; want %d distinct shards", n, shards, n)
	}
	if sorted[n-1] >= shardlayout.EgoPartitions {
		t.Errorf("Ego(%d) = %v; want every shard below EgoPartitions (%d)", n, shards, shardlayout.EgoPartitions)
	}
	if slices.Equal(sorted, shardlayout.Dense(n)) {
		t.Errorf("Ego(%d) = %v, the shards 0 to %d; want them sparse, as eGo's hash partitions are", n, shards, n-1)
	}
	if slices.IsSorted(shards) {
		t.Errorf("Ego(%d) = %v, in order; want them in the order events would first arrive, some after greater ones", n, shards)
	}
}
