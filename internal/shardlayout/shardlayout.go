// Package shardlayout numbers the shards of a projection the two ways the
// tests and benchmarks lay them out: dense, as a store that numbered its
// own shards would see them, and as eGo does. The conformance suite and
// the memory store's benchmarks share it, so that both mean the same
// workload by "eGo's layout".
package shardlayout

import (
	"fmt"
	"hash/fnv"
	"slices"
)

// EgoPartitions is the number of partitions eGo's actor system hashes
// entities onto by default; a projection's shard is the partition of the
// entity that emitted the event.
const EgoPartitions = 271

// Dense returns shards 0 to n-1, in order.
func Dense(n int) []uint64 {
	shards := make([]uint64, n)
	for i := range shards {
		shards[i] = uint64(i)
	}
	return shards
}

// Ego returns n distinct shards as eGo's projections meet them: the
// partitions, out of [EgoPartitions], of entities account-0, account-1,
// ..., in the order their events would first arrive. They are sparse and
// out of order, and some are written after greater ones. n must not
// exceed EgoPartitions.
func Ego(n int) []uint64 {
	shards := make([]uint64, 0, n)
	for entity := 0; len(shards) < n; entity++ {
		h := fnv.New32a()
		fmt.Fprintf(h, "account-%d", entity)
		if shard := uint64(h.Sum32() % EgoPartitions); !slices.Contains(shards, shard) {
			shards = append(shards, shard)
		}
	}
	return shards
}
