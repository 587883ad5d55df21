package memory_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/memory"
)

func TestOffsetStore_WaitForOffset_AlreadyThere(t *testing.T) {
	store := connectedStore(t)
	writeValue(t, store, "p", 2, 9)
	got, err := store.WaitForOffset(t.Context(), &egopb.ProjectionId{ProjectionName: "p", ShardNumber: 2}, 9)
	if err != nil || got.GetValue() != 9 || got.GetShardNumber() != 2 || got.GetProjectionName() != "p" {
		t.Errorf("WaitForOffset(ctx, {p 2}, 9) = %v, %v; want {p 2 9}, <nil>: a reached offset returns at once", got, err)
	}
}

func TestOffsetStore_WaitForOffset_WokenByWrite(t *testing.T) {
	store := connectedStore(t)
	id := &egopb.ProjectionId{ProjectionName: "p", ShardNumber: 1}
	type result struct {
		offset *egopb.Offset
		err    error
	}
	done := make(chan result)
	go func() {
		offset, err := store.WaitForOffset(t.Context(), id, 5)
		done <- result{offset, err}
	}()
	// Writes below the target, and to other keys, must not end the wait.
	for v := range int64(5) {
		writeValue(t, store, "p", 1, v)
		writeValue(t, store, "p", 2, 100)
	}
	select {
	case r := <-done:
		t.Fatalf("WaitForOffset(ctx, {p 1}, 5) = %v, %v before any write reached 5; want it to block", r.offset, r.err)
	default:
	}
	writeValue(t, store, "p", 1, 6)
	r := <-done
	if r.err != nil || r.offset.GetValue() != 6 {
		t.Errorf("WaitForOffset(ctx, {p 1}, 5) = %v, %v; want value 6, <nil>: the write of 6 reaches 5", r.offset, r.err)
	}
}

func TestOffsetStore_WaitForOffset_WokenByReset(t *testing.T) {
	store := connectedStore(t)
	writeValue(t, store, "p", 0, 1)
	done := make(chan error)
	go func() {
		_, err := store.WaitForOffset(t.Context(), &egopb.ProjectionId{ProjectionName: "p"}, 50)
		done <- err
	}()
	if err := store.ResetOffset(t.Context(), "p", 50); err != nil {
		t.Fatalf("ResetOffset(ctx, p, 50) = %v; want <nil>", err)
	}
	if err := <-done; err != nil {
		t.Errorf("WaitForOffset(ctx, {p 0}, 50) = %v after a reset to 50; want <nil>", err)
	}
}

func TestOffsetStore_WaitForOffset_ContextEnds(t *testing.T) {
	store := connectedStore(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	_, err := store.WaitForOffset(ctx, &egopb.ProjectionId{ProjectionName: "p"}, 1)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitForOffset(ctx, {p 0}, 1) with nothing written = %v; want an error wrapping context.DeadlineExceeded", err)
	}
}

func TestOffsetStore_WaitForOffset_Disconnected(t *testing.T) {
	store := memory.NewOffsetStore()
	store.KeepRecordsAfterDisconnect = true
	id := &egopb.ProjectionId{ProjectionName: "p"}
	if _, err := store.WaitForOffset(t.Context(), id, 1); !errors.Is(err, offsetstore.ErrNotConnected) {
		t.Errorf("WaitForOffset(ctx, {p 0}, 1) on a store never connected = %v; want an error wrapping ErrNotConnected", err)
	}

	if err := store.Connect(t.Context()); err != nil {
		t.Fatalf("Connect(ctx) = %v; want <nil>", err)
	}
	done := make(chan error)
	go func() {
		_, err := store.WaitForOffset(t.Context(), id, 1)
		done <- err
	}()
	// A disconnect wakes the waiter even if the store is connected again
	// before the waiter runs: its session is over.
	for {
		if err := store.Disconnect(t.Context()); err != nil {
			t.Fatalf("Disconnect(ctx) = %v; want <nil>", err)
		}
		if err := store.Connect(t.Context()); err != nil {
			t.Fatalf("Connect(ctx) = %v; want <nil>", err)
		}
		select {
		case err := <-done:
			if !errors.Is(err, offsetstore.ErrNotConnected) {
				t.Errorf("WaitForOffset(ctx, {p 0}, 1) across a Disconnect = %v; want an error wrapping ErrNotConnected", err)
			}
			return
		case <-time.After(time.Millisecond):
			// The waiter may not have started waiting yet; disconnect again.
		}
	}
}

func TestOffsetStore_WaitForOffsets(t *testing.T) {
	store := connectedStore(t)
	want := map[uint64]int64{0: 3, 1: 3, 7: 1}
	var wg sync.WaitGroup
	wg.Go(func() {
		for v := range int64(4) {
			writeValue(t, store, "p", 0, v)
			writeValue(t, store, "p", 1, v)
		}
		writeValue(t, store, "p", 7, 1)
	})
	if err := store.WaitForOffsets(t.Context(), "p", want); err != nil {
		t.Errorf("WaitForOffsets(ctx, p, %v) = %v; want <nil>", want, err)
	}
	wg.Wait()
	for shard, min := range want {
		if got, _ := readValue(t, store, "p", shard); got < min {
			t.Errorf("GetCurrentOffset(ctx, {p %d}) = %d after WaitForOffsets returned; want at least %d", shard, got, min)
		}
	}
}

func TestOffsetStore_WaitForOffsets_MissingShardIsBehind(t *testing.T) {
	store := connectedStore(t)
	writeValue(t, store, "p", 0, 10)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	err := store.WaitForOffsets(ctx, "p", map[uint64]int64{0: 1, 1: 0})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitForOffsets(ctx, p, {0:1 1:0}) with shard 1 absent = %v; want an error wrapping context.DeadlineExceeded: a shard with no offset is behind", err)
	}
}

func TestOffsetStore_Wait_BadInput(t *testing.T) {
	store := connectedStore(t)
	if _, err := store.WaitForOffset(t.Context(), nil, 1); !errors.Is(err, offsetstore.ErrInvalidArgument) {
		t.Errorf("WaitForOffset(ctx, nil, 1) = %v; want an error wrapping ErrInvalidArgument", err)
	}
	if err := store.WaitForOffsets(t.Context(), "", nil); !errors.Is(err, offsetstore.ErrInvalidArgument) {
		t.Errorf("WaitForOffsets(ctx, \"\", nil) = %v; want an error wrapping ErrInvalidArgument", err)
	}
}
