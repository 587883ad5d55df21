package memory_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/memory"
)

func TestOffsetStore_ZeroValueIsUsable(t *testing.T) {
	var store memory.OffsetStore
	if err := store.Connect(t.Context()); err != nil {
		t.Fatalf("Connect(ctx) on a zero OffsetStore = %v; want <nil>", err)
	}
	writeValue(t, &store, "p", 1, 7)
	if got, ok := readValue(t, &store, "p", 1); !ok || got != 7 {
		t.Errorf("GetCurrentOffset(ctx, {p 1}) = %d, found %v; want 7, found: a zero OffsetStore must work", got, ok)
	}
}

func TestOffsetStore_KeepRecordsAfterDisconnect(t *testing.T) {
	for _, tc := range []struct {
		name string
		keep bool
		new  func() *memory.OffsetStore
	}{
		{"Default", false, func() *memory.OffsetStore { return memory.NewOffsetStore() }},
		{"Option", true, func() *memory.OffsetStore {
			return memory.NewOffsetStore(memory.WithKeepRecordsAfterDisconnect())
		}},
		{"Field", true, func() *memory.OffsetStore {
			store := memory.NewOffsetStore()
			store.KeepRecordsAfterDisconnect = true
			return store
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			store := tc.new()
			connected(t, store)
			writeValue(t, store, "p", 0, 15)
			writeValue(t, store, "p", 1, 16)
			if err := store.Disconnect(ctx); err != nil {
				t.Fatalf("Disconnect(ctx) = %v; want <nil>", err)
			}
			connected(t, store)
			for shard, want := range map[uint64]int64{0: 15, 1: 16} {
				got, ok := readValue(t, store, "p", shard)
				switch {
				case tc.keep && (!ok || got != want):
					t.Errorf("GetCurrentOffset(ctx, {p %d}) after reconnect = %d, found %v; want %d: a store made to keep its records must keep them", shard, got, ok, want)
				case !tc.keep && ok:
					t.Errorf("GetCurrentOffset(ctx, {p %d}) after reconnect = %d; want nil: Disconnect must free offsets unless told to keep them", shard, got)
				}
			}
		})
	}
}

func TestOffsetStore_WithClock_StampsResets(t *testing.T) {
	at := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	store := connectedStore(t, memory.WithClock(func() time.Time { return at }))
	writeValue(t, store, "p", 0, 15)
	if err := store.ResetOffset(t.Context(), "p", 3); err != nil {
		t.Fatalf("ResetOffset(ctx, p, 3) = %v; want <nil>", err)
	}
	got, err := store.GetCurrentOffset(t.Context(), &egopb.ProjectionId{ProjectionName: "p"})
	if err != nil || got.GetValue() != 3 || got.GetTimestamp() != at.UnixMilli() {
		t.Errorf("GetCurrentOffset(ctx, {p 0}) after reset = %v, %v; want value 3, timestamp %d: the reset must be stamped by the WithClock clock", got, err, at.UnixMilli())
	}
}

// TestOffsetStore_ResetOffset_ReadsClockOnlyWhenItResets checks that the
// clock is read only by resets that change something, so that a clock
// given by a test sees only those.
func TestOffsetStore_ResetOffset_ReadsClockOnlyWhenItResets(t *testing.T) {
	var reads atomic.Int64
	store := memory.NewOffsetStore(memory.WithClock(func() time.Time {
		reads.Add(1)
		return time.UnixMilli(1)
	}))
	ctx := t.Context()
	done, cancel := context.WithCancel(ctx)
	cancel()
	wantNoRead := func(call string, err error) {
		t.Helper()
		if n := reads.Swap(0); n != 0 {
			t.Errorf("%s = %v, and read the clock %d times; want it not to read the clock: it resets nothing", call, err, n)
		}
	}
	wantNoRead("ResetOffset(ctx, p, 1) before Connect", store.ResetOffset(ctx, "p", 1))
	connected(t, store)
	wantNoRead(`ResetOffset(ctx, "", 1)`, store.ResetOffset(ctx, "", 1))
	writeValue(t, store, "p", 0, 5)
	wantNoRead("ResetOffset(done, p, 1)", store.ResetOffset(done, "p", 1))
	wantNoRead("ResetOffset(ctx, q, 1) of a projection with no offsets", store.ResetOffset(ctx, "q", 1))
	if err := store.ResetOffset(ctx, "p", 1); err != nil || reads.Load() != 1 {
		t.Errorf("ResetOffset(ctx, p, 1) = %v, and read the clock %d times; want <nil>, once", err, reads.Load())
	}
}

// TestOffsetStore_ResetOffset_StampsInOrder races resets against each
// other with a clock that counts: a reader must never see a reset's
// timestamp go back, so each reset must read the clock in the order the
// resets take effect.
func TestOffsetStore_ResetOffset_StampsInOrder(t *testing.T) {
	const resets = 500
	var ticks atomic.Int64
	store := connectedStore(t, memory.WithClock(func() time.Time {
		tick := ticks.Add(1)
		// Every other reading, give the other resetter time to read the
		// clock and reset: a store that read the clock outside its lock
		// would then store this older reading after the newer one.
		if tick%2 == 0 {
			time.Sleep(time.Microsecond)
		}
		return time.UnixMilli(tick)
	}))
	writeValue(t, store, "p", 0, 0)
	ctx := t.Context()
	var resetting sync.WaitGroup
	var stop atomic.Bool
	for range 2 {
		resetting.Go(func() {
			for v := range int64(resets) {
				if err := store.ResetOffset(ctx, "p", v); err != nil {
					t.Errorf("ResetOffset(ctx, p, %d) = %v; want <nil>", v, err)
					return
				}
				runtime.Gosched()
			}
		})
	}
	var reading sync.WaitGroup
	reading.Go(func() {
		var last int64
		for !stop.Load() {
			got, err := store.GetCurrentOffset(ctx, &egopb.ProjectionId{ProjectionName: "p"})
			if err != nil || got.GetTimestamp() < last {
				t.Errorf("GetCurrentOffset(ctx, {p 0}) = %s, %v after timestamp %d; want a timestamp of at least %d: resets must be stamped in the order they take effect",
					fmtOffset(got), err, last, last)
				return
			}
			last = got.GetTimestamp()
			runtime.Gosched()
		}
	})
	resetting.Wait()
	stop.Store(true)
	reading.Wait()
	got, _ := store.GetCurrentOffset(ctx, &egopb.ProjectionId{ProjectionName: "p"})
	if got.GetTimestamp() != ticks.Load() {
		t.Errorf("GetCurrentOffset(ctx, {p 0}) after every reset = %s; want timestamp %d, the clock's last reading", fmtOffset(got), ticks.Load())
	}
}

func TestOffsetStore_WithMonotonicWrites(t *testing.T) {
	ctx := t.Context()
	store := connectedStore(t, memory.WithMonotonicWrites())
	writeValue(t, store, "p", 0, 10)
	writeValue(t, store, "p", 0, 10) // an equal value is accepted

	err := store.WriteOffset(ctx, &egopb.Offset{ProjectionName: "p", Value: 9})
	if !errors.Is(err, offsetstore.ErrOffsetRegression) {
		t.Errorf("WriteOffset(ctx, {p 0 9}) after 10 = %v; want an error wrapping ErrOffsetRegression", err)
	}
	if got, _ := readValue(t, store, "p", 0); got != 10 {
		t.Errorf("GetCurrentOffset(ctx, {p 0}) after a refused write = %d; want 10: a refused write changes nothing", got)
	}

	// A reset may lower the value, and later writes count from there.
	if err := store.ResetOffset(ctx, "p", 2); err != nil {
		t.Fatalf("ResetOffset(ctx, p, 2) = %v; want <nil>", err)
	}
	writeValue(t, store, "p", 0, 3)
	if got, _ := readValue(t, store, "p", 0); got != 3 {
		t.Errorf("GetCurrentOffset(ctx, {p 0}) after reset to 2 and write 3 = %d; want 3", got)
	}
}

func TestOffsetStore_WithoutMonotonicWrites_LowerValueWins(t *testing.T) {
	store := connectedStore(t)
	writeValue(t, store, "p", 0, 10)
	writeValue(t, store, "p", 0, 9)
	if got, _ := readValue(t, store, "p", 0); got != 9 {
		t.Errorf("GetCurrentOffset(ctx, {p 0}) after writes 10, 9 = %d; want 9: the last write wins", got)
	}
}
