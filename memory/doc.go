// Package memory is an in-memory [offsetstore.OffsetStore], for tests and
// prototypes of eGo projections.
//
//	store := memory.NewOffsetStore()
//	if err := store.Connect(ctx); err != nil { ... }
//	defer store.Disconnect(ctx)
//	err := store.WriteOffset(ctx, &egopb.Offset{ProjectionName: "accounts", ShardNumber: 0, Value: 15})
//	current, err := store.GetCurrentOffset(ctx, &egopb.ProjectionId{ProjectionName: "accounts"})
//
// Beyond the contract, the store helps tests see and steer what a
// projection commits: [OffsetStore.WaitForOffset] and
// [OffsetStore.WaitForOffsets] block until offsets are reached, so a test
// need not sleep; [OffsetStore.Offsets], [OffsetStore.Projections] and
// [OffsetStore.Snapshot] show what is stored; [OffsetStore.WriteOffsets],
// [OffsetStore.ResetShards], [OffsetStore.DeleteShards] and [OffsetStore.Restore] change it; and
// [WithClock], [WithMonotonicWrites] and [WithKeepRecordsAfterDisconnect]
// set how it stamps, checks and disconnects.
//
// The store holds one record per (projection, shard): a map of
// projections, each a map of its shards, behind one [sync.RWMutex]. Reads
// share the lock and changes take it alone, so a reset changes every shard
// of its projection in one step. A write to a known key allocates nothing,
// a read allocates only the message it returns, and a reset touches only
// the projection's own shards.
//
// # Caveats
//
//   - Offsets live in this process's memory only: they are lost when it
//     exits, and, unless the store is made [WithKeepRecordsAfterDisconnect],
//     on Disconnect. Production projections need a durable store.
//   - The store does not coordinate across processes.
//   - A waiter is woken by every change to the store, not only by changes
//     to the offsets it waits for: many waiters on a busy store cost CPU.
package memory
