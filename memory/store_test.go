package memory_test

import (
	"errors"
	"fmt"
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
	for _, keep := range []bool{false, true} {
		t.Run(fmt.Sprintf("keep=%t", keep), func(t *testing.T) {
			ctx := t.Context()
			store := memory.NewOffsetStore()
			store.KeepRecordsAfterDisconnect = keep
			if err := store.Connect(ctx); err != nil {
				t.Fatalf("Connect(ctx) = %v; want <nil>", err)
			}
			writeValue(t, store, "p", 0, 15)
			writeValue(t, store, "p", 1, 16)
			if err := store.Disconnect(ctx); err != nil {
				t.Fatalf("Disconnect(ctx) = %v; want <nil>", err)
			}
			if err := store.Connect(ctx); err != nil {
				t.Fatalf("Connect(ctx) after Disconnect = %v; want <nil>", err)
			}
			for shard, want := range map[uint64]int64{0: 15, 1: 16} {
				got, ok := readValue(t, store, "p", shard)
				switch {
				case keep && (!ok || got != want):
					t.Errorf("GetCurrentOffset(ctx, {p %d}) after reconnect = %d, found %v; want %d: KeepRecordsAfterDisconnect must keep offsets", shard, got, ok, want)
				case !keep && ok:
					t.Errorf("GetCurrentOffset(ctx, {p %d}) after reconnect = %d; want nil: Disconnect must free offsets unless KeepRecordsAfterDisconnect", shard, got)
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
