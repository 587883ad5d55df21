package projection_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/examples/projection"
	"github.com/ego-contrib/offsetstore/memory"
	"github.com/ego-contrib/offsetstore/offsetstoretest"
)

// events returns the offsets 1..n, the events of one shard.
func events(n int64) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(i) + 1
	}
	return out
}

func TestWorker_CommitsEveryShard(t *testing.T) {
	ctx := t.Context()
	store := memory.NewOffsetStore()
	if err := store.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Disconnect(context.Background()) })

	worker := &projection.Worker{Name: "accounts", Store: store, Batch: 10, Attempts: 1}
	var wg sync.WaitGroup
	defer wg.Wait()
	for shard := range uint64(4) {
		wg.Go(func() {
			if err := worker.Run(ctx, shard, events(100)); err != nil {
				t.Errorf("Run(ctx, %d, 1..100) = %v; want <nil>", shard, err)
			}
		})
	}

	// Wait for the commits instead of sleeping: the test takes as long as
	// the worker does, and fails clearly if it never gets there.
	waitCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	want := map[uint64]int64{0: 100, 1: 100, 2: 100, 3: 100}
	offsets, err := store.WaitForOffsets(waitCtx, "accounts", want) // copies, sorted by shard
	if err != nil {
		t.Fatalf("WaitForOffsets(ctx, accounts, %v) = %v; want <nil>", want, err)
	}
	for i, o := range offsets {
		if o.GetShardNumber() != uint64(i) || o.GetValue() != 100 {
			t.Errorf("WaitForOffsets(ctx, accounts, %v)[%d] = shard %d at %d; want shard %d at 100", want, i, o.GetShardNumber(), o.GetValue(), i)
		}
	}
	if len(offsets) != len(want) {
		t.Errorf("WaitForOffsets(ctx, accounts, %v) returned %d offsets; want %d", want, len(offsets), len(want))
	}

	// Rewind the projection, as an operator would to rebuild a read model.
	if err := store.ResetOffset(ctx, "accounts", 0); err != nil {
		t.Fatalf("ResetOffset(ctx, accounts, 0) = %v; want <nil>", err)
	}
	got, err := store.GetCurrentOffset(ctx, &egopb.ProjectionId{ProjectionName: "accounts", ShardNumber: 2})
	if err != nil || got.GetValue() != 0 {
		t.Errorf("GetCurrentOffset(ctx, {accounts 2}) after reset = %v, %v; want 0, <nil>", got, err)
	}
}

func TestWorker_RetriesFailedCommits(t *testing.T) {
	ctx := t.Context()
	inner := memory.NewOffsetStore()
	store := offsetstoretest.NewFaultyStore(inner)
	if err := store.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Disconnect(context.Background()) })

	// The database is down for the first two commits.
	errDown := errors.New("database is down")
	store.FailNext(offsetstoretest.OpWriteOffset, 2, errDown)

	worker := &projection.Worker{Name: "accounts", Store: store, Batch: 50, Attempts: 3, Backoff: time.Millisecond}
	if err := worker.Run(ctx, 0, events(100)); err != nil {
		t.Fatalf("Run(ctx, 0, 1..100) with 2 failed commits and 3 attempts = %v; want <nil>", err)
	}
	// Two failures, then the two batches' commits.
	if got := store.Calls(offsetstoretest.OpWriteOffset); got != 4 {
		t.Errorf("Calls(OpWriteOffset) = %d; want 4: 2 failed tries, then 1 per batch", got)
	}
	got, err := inner.GetCurrentOffset(ctx, &egopb.ProjectionId{ProjectionName: "accounts"})
	if err != nil || got.GetValue() != 100 {
		t.Errorf("GetCurrentOffset(ctx, {accounts 0}) = %v, %v; want 100, <nil>", got, err)
	}

	// When the store stays down, the worker gives up with the store's error.
	store.FailNext(offsetstoretest.OpWriteOffset, 3, errDown)
	if err := worker.Run(ctx, 1, events(10)); !errors.Is(err, errDown) {
		t.Errorf("Run(ctx, 1, 1..10) with 3 failed commits and 3 attempts = %v; want an error wrapping %v", err, errDown)
	}
}

func TestWorker_ResumesFromCommittedOffset(t *testing.T) {
	ctx := t.Context()
	store := offsetstoretest.NewFaultyStore(memory.NewOffsetStore())
	if err := store.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Disconnect(context.Background()) })
	if err := store.WriteOffset(ctx, &egopb.Offset{ProjectionName: "accounts", Value: 60}); err != nil {
		t.Fatal(err)
	}
	worker := &projection.Worker{Name: "accounts", Store: store, Batch: 20, Attempts: 1}
	if err := worker.Run(ctx, 0, events(100)); err != nil {
		t.Fatalf("Run(ctx, 0, 1..100) = %v; want <nil>", err)
	}
	// Batches ending at 20, 40 and 60 are already committed.
	if got := store.Calls(offsetstoretest.OpWriteOffset); got != 1+2 {
		t.Errorf("Calls(OpWriteOffset) = %d; want 3: the test's own write, then batches ending at 80 and 100", got)
	}
}

func TestWorker_ZeroFieldsCommitAfterEveryEvent(t *testing.T) {
	ctx := t.Context()
	store := offsetstoretest.NewFaultyStore(memory.NewOffsetStore())
	if err := store.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Disconnect(context.Background()) })
	worker := &projection.Worker{Name: "accounts", Store: store}
	if err := worker.Run(ctx, 0, events(5)); err != nil {
		t.Fatalf("Run(ctx, 0, 1..5) with Batch, Attempts and Backoff zero = %v; want <nil>", err)
	}
	if got := store.Calls(offsetstoretest.OpWriteOffset); got != 5 {
		t.Errorf("Calls(OpWriteOffset) = %d; want 5: a zero Batch commits after every event", got)
	}
}

func TestWorker_NoStore(t *testing.T) {
	var worker projection.Worker
	if err := worker.Run(t.Context(), 0, events(1)); err == nil {
		t.Error("Run(ctx, 0, [1]) on a zero Worker = <nil>; want an error: it has no Store")
	}
}

// TestWorker_BacksOffBetweenAttempts runs in a synctest bubble, whose clock
// moves only when every goroutine waits: the time a Run takes there is
// exactly the sum of its pauses.
func TestWorker_BacksOffBetweenAttempts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fails int
		want  time.Duration
	}{
		// Pauses of 1s and 2s before the second and third attempts.
		{"SucceedsOnLastAttempt", 2, 3 * time.Second},
		// The same pauses, and none after the last attempt fails.
		{"GivesUp", 3, 3 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := t.Context()
				store := offsetstoretest.NewFaultyStore(memory.NewOffsetStore())
				if err := store.Connect(ctx); err != nil {
					t.Fatal(err)
				}
				errDown := errors.New("database is down")
				store.FailNext(offsetstoretest.OpWriteOffset, tc.fails, errDown)
				worker := &projection.Worker{Name: "accounts", Store: store, Batch: 10, Attempts: 3, Backoff: time.Second}
				start := time.Now()
				err := worker.Run(ctx, 0, events(10))
				if gaveUp := tc.fails >= 3; gaveUp != errors.Is(err, errDown) {
					t.Errorf("Run(ctx, 0, 1..10) with %d failed commits and 3 attempts = %v; want an error wrapping %v: %t", tc.fails, err, errDown, gaveUp)
				}
				if took := time.Since(start); took != tc.want {
					t.Errorf("Run(ctx, 0, 1..10) with %d failed commits took %v; want %v: a pause before each retry, none after the last attempt", tc.fails, took, tc.want)
				}
			})
		})
	}
}
