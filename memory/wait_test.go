package memory_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/memory"
)

// The tests of a wait run in a synctest bubble: synctest.Wait returns only
// once every other goroutine of the bubble is blocked for good or has
// returned. So after it, a waiter that has not returned is waiting, and
// one that returned too early has already said so: checking that a wait
// is still blocked cannot pass by luck. Time in the bubble moves only when
// everything is blocked, so a deadline ends a wait at once and exactly.

// waitResult is what a wait started by startWait returned.
type waitResult struct {
	offsets []*egopb.Offset
	err     error
}

// startWait runs wait on a goroutine of its own and returns the channel
// its result will be sent on. The channel has room for the result, so that
// a wait that returns while nobody receives is not blocked sending it.
func startWait(wait func() ([]*egopb.Offset, error)) <-chan waitResult {
	done := make(chan waitResult, 1)
	go func() {
		offsets, err := wait()
		done <- waitResult{offsets, err}
	}()
	return done
}

// waitForOffset is WaitForOffset for startWait.
func waitForOffset(ctx context.Context, store *memory.OffsetStore, id *egopb.ProjectionId, value int64) func() ([]*egopb.Offset, error) {
	return func() ([]*egopb.Offset, error) {
		o, err := store.WaitForOffset(ctx, id, value)
		if o == nil {
			return nil, err
		}
		return []*egopb.Offset{o}, err
	}
}

// wantBlocked fails t if the wait whose result comes on done has returned
// once every goroutine of the bubble has done what it can.
func wantBlocked(t *testing.T, call string, done <-chan waitResult, why string) {
	t.Helper()
	synctest.Wait()
	select {
	case r := <-done:
		t.Fatalf("%s = %v, %v %s; want it still blocked", call, rowsOf(r.offsets), r.err, why)
	default:
	}
}

// wantReturned fails t unless the wait whose result comes on done returns
// want, nil; a wait that never returns fails the bubble as deadlocked.
func wantReturned(t *testing.T, call string, done <-chan waitResult, want []row, why string) {
	t.Helper()
	r := <-done
	if got := rowsOf(r.offsets); r.err != nil || !slices.Equal(got, want) {
		t.Errorf("%s = %v, %v %s; want %v, <nil>", call, got, r.err, why, want)
	}
}

func TestOffsetStore_WaitForOffset_AlreadyThere(t *testing.T) {
	store := connectedStore(t)
	writeValue(t, store, "p", 2, 9)
	got, err := store.WaitForOffset(t.Context(), &egopb.ProjectionId{ProjectionName: "p", ShardNumber: 2}, 9)
	if err != nil || got.GetValue() != 9 || got.GetShardNumber() != 2 || got.GetProjectionName() != "p" {
		t.Errorf("WaitForOffset(ctx, {p 2}, 9) = %v, %v; want {p 2 9}, <nil>: a reached offset returns at once", got, err)
	}
}

func TestOffsetStore_WaitForOffset_WokenByWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := connectedStore(t)
		const call = "WaitForOffset(ctx, {p 1}, 5)"
		done := startWait(waitForOffset(t.Context(), store, &egopb.ProjectionId{ProjectionName: "p", ShardNumber: 1}, 5))
		wantBlocked(t, call, done, "with nothing written")
		// Writes below the target, and to other keys, must not end the wait.
		for v := range int64(5) {
			writeValue(t, store, "p", 1, v)
			writeValue(t, store, "p", 2, 100)
			writeValue(t, store, "q", 1, 100)
		}
		wantBlocked(t, call, done, "after writes of 0 to 4, and of 100 to other keys")
		writeValue(t, store, "p", 1, 6)
		wantReturned(t, call, done, []row{{"p", 1, 6, 6}}, "after a write of 6")
	})
}

func TestOffsetStore_WaitForOffset_WokenByReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		at := time.Now()
		store := connectedStore(t, memory.WithClock(func() time.Time { return at }))
		writeValue(t, store, "p", 0, 1)
		const call = "WaitForOffset(ctx, {p 0}, 50)"
		done := startWait(waitForOffset(t.Context(), store, &egopb.ProjectionId{ProjectionName: "p"}, 50))
		wantBlocked(t, call, done, "at value 1")
		if err := store.ResetOffset(t.Context(), "p", 50); err != nil {
			t.Fatalf("ResetOffset(ctx, p, 50) = %v; want <nil>", err)
		}
		wantReturned(t, call, done, []row{{"p", 0, 50, at.UnixMilli()}}, "after a reset to 50")
	})
}

func TestOffsetStore_WaitForOffset_WokenByRestore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := connectedStore(t)
		const call = "WaitForOffset(ctx, {p 3}, 7)"
		done := startWait(waitForOffset(t.Context(), store, &egopb.ProjectionId{ProjectionName: "p", ShardNumber: 3}, 7))
		wantBlocked(t, call, done, "with nothing written")
		if err := store.Restore(t.Context(), []*egopb.Offset{{ProjectionName: "p", ShardNumber: 3, Value: 7, Timestamp: 70}}); err != nil {
			t.Fatalf("Restore(ctx, [{p 3 7 70}]) = %v; want <nil>", err)
		}
		wantReturned(t, call, done, []row{{"p", 3, 7, 70}}, "after a restore of 7")
	})
}

func TestOffsetStore_WaitForOffset_ContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := connectedStore(t)
		start := time.Now()
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		_, err := store.WaitForOffset(ctx, &egopb.ProjectionId{ProjectionName: "p"}, 1)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("WaitForOffset(ctx, {p 0}, 1) with nothing written = %v; want an error wrapping context.DeadlineExceeded", err)
		}
		// The bubble's clock moves only when every goroutine is blocked,
		// so it reads exactly the timeout unless the wait gave up early.
		if waited := time.Since(start); waited != time.Minute {
			t.Errorf("WaitForOffset(ctx, {p 0}, 1) returned after %v of the bubble's time; want %v, when its context ended", waited, time.Minute)
		}
	})
}

func TestOffsetStore_WaitForOffset_Disconnected(t *testing.T) {
	id := &egopb.ProjectionId{ProjectionName: "p"}
	const call = "WaitForOffset(ctx, {p 0}, 1)"
	t.Run("NeverConnected", func(t *testing.T) {
		store := memory.NewOffsetStore()
		if _, err := store.WaitForOffset(t.Context(), id, 1); !errors.Is(err, offsetstore.ErrNotConnected) {
			t.Errorf("%s on a store never connected = %v; want an error wrapping ErrNotConnected", call, err)
		}
	})
	// Nothing but the Disconnect happens after the waiter blocks: if
	// Disconnect woke nobody, the waiter would sleep for good and the
	// bubble would report it.
	t.Run("DisconnectAlone", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			store := connectedStore(t)
			done := startWait(waitForOffset(t.Context(), store, id, 1))
			wantBlocked(t, call, done, "with nothing written")
			if err := store.Disconnect(t.Context()); err != nil {
				t.Fatalf("Disconnect(ctx) = %v; want <nil>", err)
			}
			if r := <-done; !errors.Is(r.err, offsetstore.ErrNotConnected) || r.offsets != nil {
				t.Errorf("%s after Disconnect = %v, %v; want <nil>, an error wrapping ErrNotConnected: Disconnect ends every wait", call, rowsOf(r.offsets), r.err)
			}
		})
	})
	// A disconnect ends the wait even if the store is connected again,
	// with the offset reached, before the waiter runs: its session is over.
	t.Run("ReconnectedBeforeWaiterRuns", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			store := connectedStore(t, memory.WithKeepRecordsAfterDisconnect())
			done := startWait(waitForOffset(t.Context(), store, id, 1))
			wantBlocked(t, call, done, "with nothing written")
			if err := store.Disconnect(t.Context()); err != nil {
				t.Fatalf("Disconnect(ctx) = %v; want <nil>", err)
			}
			connected(t, store)
			writeValue(t, store, "p", 0, 1)
			if r := <-done; !errors.Is(r.err, offsetstore.ErrNotConnected) || r.offsets != nil {
				t.Errorf("%s across a Disconnect = %v, %v; want <nil>, an error wrapping ErrNotConnected: Disconnect ends every wait", call, rowsOf(r.offsets), r.err)
			}
		})
	})
}

func TestOffsetStore_WaitForOffsets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := connectedStore(t)
		want := map[uint64]int64{0: 3, 1: 3, 7: 1}
		const call = "WaitForOffsets(ctx, p, {0:3 1:3 7:1})"
		done := startWait(func() ([]*egopb.Offset, error) {
			return store.WaitForOffsets(t.Context(), "p", want)
		})
		wantBlocked(t, call, done, "with nothing written")
		// The caller's map is copied in: changing it now changes nothing.
		want[7] = -1
		for v := range int64(4) {
			writeValue(t, store, "p", 0, v)
			writeValue(t, store, "p", 1, v)
		}
		wantBlocked(t, call, done, "with shards 0 and 1 at 3 and shard 7 absent")
		writeValue(t, store, "p", 7, 0)
		wantBlocked(t, call, done, "with shard 7 at 0")
		writeValue(t, store, "p", 7, 1)
		wantReturned(t, call, done, []row{{"p", 0, 3, 3}, {"p", 1, 3, 3}, {"p", 7, 1, 1}}, "with every shard reached")
	})
}

func TestOffsetStore_WaitForOffsets_AlreadyThere(t *testing.T) {
	store := connectedStore(t)
	writeValue(t, store, "p", 4, 10)
	writeValue(t, store, "p", 2, 10)
	writeValue(t, store, "q", 2, 0)
	got, err := store.WaitForOffsets(t.Context(), "p", map[uint64]int64{4: 1, 2: 10})
	if want := []row{{"p", 2, 10, 10}, {"p", 4, 10, 10}}; err != nil || !slices.Equal(rowsOf(got), want) {
		t.Errorf("WaitForOffsets(ctx, p, {4:1 2:10}) = %v, %v; want %v, <nil>: copies of the shards waited for, sorted by shard", rowsOf(got), err, want)
	}
	got, err = store.WaitForOffsets(t.Context(), "p", nil)
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("WaitForOffsets(ctx, p, nil) = %v, %v; want [], <nil>: nothing to wait for", rowsOf(got), err)
	}
}

func TestOffsetStore_WaitForOffsets_MissingShardIsBehind(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := connectedStore(t)
		writeValue(t, store, "p", 0, 10)
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		want := map[uint64]int64{0: 1, 1: 0}
		if got, err := store.WaitForOffsets(ctx, "p", want); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("WaitForOffsets(ctx, p, %v) with shard 1 absent = %v, %v; want an error wrapping context.DeadlineExceeded: a shard with no offset is behind",
				want, rowsOf(got), err)
		}
	})
}

func TestOffsetStore_Wait_BadInput(t *testing.T) {
	store := connectedStore(t)
	if _, err := store.WaitForOffset(t.Context(), nil, 1); !errors.Is(err, offsetstore.ErrInvalidArgument) {
		t.Errorf("WaitForOffset(ctx, nil, 1) = %v; want an error wrapping ErrInvalidArgument", err)
	}
	if _, err := store.WaitForOffsets(t.Context(), "", nil); !errors.Is(err, offsetstore.ErrInvalidArgument) {
		t.Errorf("WaitForOffsets(ctx, \"\", nil) = %v; want an error wrapping ErrInvalidArgument", err)
	}
}

// TestOffsetStore_WaitForOffset_NoLostWakeUp races a writer against a
// waiter, in step: the writer writes v+1 as soon as the waiter has seen
// v, so each write lands while the waiter is on its way into its next
// wait, between checking the offset and blocking, as often as not. A write
// there must still wake it; if one did not, writer and waiter would each
// wait for the other for good, and the bubble would report the deadlock.
// No timeout is involved, so the test cannot fail by being slow.
func TestOffsetStore_WaitForOffset_NoLostWakeUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const writes = 2000
		store := connectedStore(t)
		id := &egopb.ProjectionId{ProjectionName: "p", ShardNumber: 1}
		seen := make(chan struct{})
		go func() {
			for v := range int64(writes) {
				writeValue(t, store, "p", 1, v+1)
				<-seen
			}
		}()
		for v := range int64(writes) {
			got, err := store.WaitForOffset(t.Context(), id, v+1)
			if err != nil || got.GetValue() != v+1 {
				t.Fatalf("WaitForOffset(ctx, {p 1}, %d) = %s, %v; want value %d, <nil>", v+1, fmtOffset(got), err, v+1)
			}
			seen <- struct{}{}
		}
	})
}
