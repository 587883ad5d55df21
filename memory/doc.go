// Package memory is an in-memory [offsetstore.OffsetStore], for tests and
// prototypes of eGo projections.
//
//	store := memory.NewOffsetStore(memory.WithKeepRecordsAfterDisconnect())
//	if err := store.Connect(ctx); err != nil { ... }
//	defer store.Disconnect(ctx)
//	err := store.WriteOffset(ctx, &egopb.Offset{ProjectionName: "accounts", ShardNumber: 0, Value: 15})
//	current, err := store.GetCurrentOffset(ctx, &egopb.ProjectionId{ProjectionName: "accounts"})
//
// Options: [WithKeepRecordsAfterDisconnect] keeps the offsets through
// Disconnect and Connect (without it, Disconnect frees them);
// [WithClock] sets the clock that stamps resets; [WithMonotonicWrites]
// refuses a write below the stored value, to catch projection code that
// commits out of order.
//
// Beyond the contract, the store helps tests see and steer what a
// projection commits: [OffsetStore.WaitForOffset] and
// [OffsetStore.WaitForOffsets] block until offsets are reached, so a test
// need not sleep; it satisfies [offsetstore.Admin] ([OffsetStore.Offsets],
// [OffsetStore.Projections], [OffsetStore.Snapshot],
// [OffsetStore.WriteOffsets], [OffsetStore.ResetShards],
// [OffsetStore.DeleteShards]), so tools built on Admin can be tested in
// memory; and [OffsetStore.Restore] brings back a Snapshot.
//
// The store holds one record per (projection, shard), behind one
// [sync.RWMutex]: memory follows the number of keys, not of writes, and a
// reset changes every shard of its projection in one step.
//
// # Caveats
//
//   - Offsets live in this process's memory only: they are lost when it
//     exits, and, unless the store is made [WithKeepRecordsAfterDisconnect],
//     on Disconnect. Production projections need a durable store.
//   - The store does not coordinate across processes.
//   - A waiter is woken by every change to the store, not only by changes
//     to the offsets it waits for: many waiters on a busy store cost CPU.
//   - The clock of [WithClock] is called with the store's lock held: it
//     must not call the store.
package memory
