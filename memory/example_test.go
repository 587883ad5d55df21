package memory_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/memory"
)

// A store for tests: resets stamped by a fixed clock, writes that must not
// go backwards, and offsets kept through Disconnect and Connect.
func ExampleNewOffsetStore() {
	ctx := context.Background()
	clock := func() time.Time { return time.UnixMilli(1_700_000_000_000) }
	store := memory.NewOffsetStore(
		memory.WithClock(clock),
		memory.WithMonotonicWrites(),
		memory.WithKeepRecordsAfterDisconnect(),
	)
	if err := store.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	defer store.Disconnect(ctx)

	id := &egopb.ProjectionId{ProjectionName: "accounts", ShardNumber: 3}
	_ = store.WriteOffset(ctx, &egopb.Offset{ProjectionName: "accounts", ShardNumber: 3, Value: 15})
	err := store.WriteOffset(ctx, &egopb.Offset{ProjectionName: "accounts", ShardNumber: 3, Value: 14})
	fmt.Println("lower write refused:", errors.Is(err, offsetstore.ErrOffsetRegression))

	_ = store.Disconnect(ctx)
	_ = store.Connect(ctx)
	current, _ := store.GetCurrentOffset(ctx, id)
	fmt.Println("after a reconnect:", current.GetValue())

	_ = store.ResetOffset(ctx, "accounts", 0)
	current, _ = store.GetCurrentOffset(ctx, id)
	fmt.Println("after a reset:", current.GetValue(), current.GetTimestamp())
	// Output:
	// lower write refused: true
	// after a reconnect: 15
	// after a reset: 0 1700000000000
}

func ExampleOffsetStore() {
	ctx := context.Background()
	store := memory.NewOffsetStore()
	if err := store.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	defer store.Disconnect(ctx)

	id := &egopb.ProjectionId{ProjectionName: "accounts", ShardNumber: 0}
	current, _ := store.GetCurrentOffset(ctx, id)
	fmt.Println("before any write:", current)

	_ = store.WriteOffset(ctx, &egopb.Offset{ProjectionName: "accounts", ShardNumber: 0, Value: 15})
	current, _ = store.GetCurrentOffset(ctx, id)
	fmt.Println("after a write:", current.GetValue())
	// Output:
	// before any write: <nil>
	// after a write: 15
}

func ExampleOffsetStore_ResetOffset() {
	ctx := context.Background()
	clock := func() time.Time { return time.UnixMilli(1_700_000_000_000) }
	store := memory.NewOffsetStore(memory.WithClock(clock))
	_ = store.Connect(ctx)
	defer store.Disconnect(ctx)

	for shard := range uint64(3) {
		_ = store.WriteOffset(ctx, &egopb.Offset{ProjectionName: "accounts", ShardNumber: shard, Value: 100 + int64(shard)})
	}
	_ = store.WriteOffset(ctx, &egopb.Offset{ProjectionName: "orders", ShardNumber: 0, Value: 7})

	// Every shard of "accounts" goes back to 0 in one step; "orders" stays.
	if err := store.ResetOffset(ctx, "accounts", 0); err != nil {
		log.Fatal(err)
	}
	all, _ := store.Snapshot(ctx)
	for _, o := range all {
		fmt.Println(o.GetProjectionName(), o.GetShardNumber(), o.GetValue(), o.GetTimestamp())
	}
	// Output:
	// accounts 0 0 1700000000000
	// accounts 1 0 1700000000000
	// accounts 2 0 1700000000000
	// orders 0 7 0
}

func ExampleOffsetStore_WaitForOffsets() {
	ctx := context.Background()
	store := memory.NewOffsetStore()
	_ = store.Connect(ctx)
	defer store.Disconnect(ctx)

	// A projection-like worker commits offsets on two shards.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for value := int64(1); value <= 10; value++ {
			for shard := range uint64(2) {
				_ = store.WriteOffset(ctx, &egopb.Offset{ProjectionName: "accounts", ShardNumber: shard, Value: value})
			}
		}
	}()

	// Wait until both shards reach 10, instead of sleeping and hoping.
	waitCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	offsets, err := store.WaitForOffsets(waitCtx, "accounts", map[uint64]int64{0: 10, 1: 10})
	if err != nil {
		log.Fatal(err)
	}
	for _, o := range offsets {
		fmt.Println("shard", o.GetShardNumber(), "at", o.GetValue())
	}
	<-done
	// Output:
	// shard 0 at 10
	// shard 1 at 10
}

func ExampleOffsetStore_WaitForOffset() {
	ctx := context.Background()
	store := memory.NewOffsetStore()
	_ = store.Connect(ctx)
	defer store.Disconnect(ctx)

	go func() {
		_ = store.WriteOffset(ctx, &egopb.Offset{ProjectionName: "accounts", ShardNumber: 3, Value: 42})
	}()
	offset, err := store.WaitForOffset(ctx, &egopb.ProjectionId{ProjectionName: "accounts", ShardNumber: 3}, 42)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(offset.GetValue())
	// Output: 42
}

func ExampleOffsetStore_Restore() {
	ctx := context.Background()
	store := memory.NewOffsetStore()
	_ = store.Connect(ctx)
	defer store.Disconnect(ctx)

	_ = store.WriteOffset(ctx, &egopb.Offset{ProjectionName: "accounts", Value: 15})
	saved, _ := store.Snapshot(ctx)

	// A test that moves offsets around can put them back afterwards.
	_ = store.WriteOffset(ctx, &egopb.Offset{ProjectionName: "accounts", Value: 99})
	_ = store.WriteOffset(ctx, &egopb.Offset{ProjectionName: "orders", Value: 1})
	if err := store.Restore(ctx, saved); err != nil {
		log.Fatal(err)
	}
	all, _ := store.Snapshot(ctx)
	for _, o := range all {
		fmt.Println(o.GetProjectionName(), o.GetValue())
	}
	// Output: accounts 15
}

func ExampleWithMonotonicWrites() {
	ctx := context.Background()
	store := memory.NewOffsetStore(memory.WithMonotonicWrites())
	_ = store.Connect(ctx)
	defer store.Disconnect(ctx)

	_ = store.WriteOffset(ctx, &egopb.Offset{ProjectionName: "accounts", Value: 15})
	err := store.WriteOffset(ctx, &egopb.Offset{ProjectionName: "accounts", Value: 14})
	fmt.Println(errors.Is(err, offsetstore.ErrOffsetRegression))
	fmt.Println(err)
	// Output:
	// true
	// memory: WriteOffset: offset regression: projection "accounts" shard 0: value 14 is below the stored 15
}
