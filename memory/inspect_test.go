package memory_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/memory"
)

func TestOffsetStore_Offsets_SortedByShard(t *testing.T) {
	store := connectedStore(t)
	writeValue(t, store, "p", 3, 1)
	writeValue(t, store, "p", 0, 2)
	writeValue(t, store, "p", 1, 3)
	writeValue(t, store, "pp", 2, 4)

	got, err := store.Offsets(t.Context(), "p")
	want := []string{"p/0=2", "p/1=3", "p/3=1"}
	if err != nil || !slices.Equal(keys(got), want) {
		t.Errorf("Offsets(ctx, p) = %v, %v; want %v, <nil>: offsets of p only, sorted by shard", keys(got), err, want)
	}

	got[0].Value = 99 // the copy is the caller's
	if v, _ := readValue(t, store, "p", 0); v != 2 {
		t.Errorf("GetCurrentOffset(ctx, {p 0}) after changing Offsets' result = %d; want 2: Offsets returns copies", v)
	}

	none, err := store.Offsets(t.Context(), "unknown")
	if err != nil || len(none) != 0 {
		t.Errorf("Offsets(ctx, unknown) = %v, %v; want empty, <nil>", none, err)
	}
}

func TestOffsetStore_Projections(t *testing.T) {
	store := connectedStore(t)
	if got, err := store.Projections(t.Context()); got == nil || len(got) != 0 || err != nil {
		t.Errorf("Projections(ctx) on an empty store = %#v, %v; want []string{}, <nil>: empty, not nil, as Offsets and Snapshot", got, err)
	}
	writeValue(t, store, "b", 0, 1)
	writeValue(t, store, "a", 5, 1)
	writeValue(t, store, "c", 0, 1)
	if err := store.DeleteOffset(t.Context(), &egopb.ProjectionId{ProjectionName: "c"}); err != nil {
		t.Fatalf("DeleteOffset(ctx, {c 0}) = %v; want <nil>", err)
	}
	got, err := store.Projections(t.Context())
	if want := []string{"a", "b"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("Projections(ctx) = %v, %v; want %v, <nil>: names with at least one offset, sorted", got, err, want)
	}
}

func TestOffsetStore_DeleteOffset(t *testing.T) {
	ctx := t.Context()
	store := connectedStore(t)
	writeValue(t, store, "p", 0, 1)
	writeValue(t, store, "p", 1, 1)
	if err := store.DeleteOffset(ctx, &egopb.ProjectionId{ProjectionName: "p", ShardNumber: 1}); err != nil {
		t.Fatalf("DeleteOffset(ctx, {p 1}) = %v; want <nil>", err)
	}
	if err := store.DeleteOffset(ctx, &egopb.ProjectionId{ProjectionName: "p", ShardNumber: 1}); err != nil {
		t.Errorf("DeleteOffset(ctx, {p 1}) of a deleted offset = %v; want <nil>: deleting what is absent is not an error", err)
	}
	if err := store.ResetOffset(ctx, "p", 7); err != nil {
		t.Fatalf("ResetOffset(ctx, p, 7) = %v; want <nil>", err)
	}
	if v, ok := readValue(t, store, "p", 1); ok {
		t.Errorf("GetCurrentOffset(ctx, {p 1}) after delete and reset = %d; want nil: a reset must not bring a deleted offset back", v)
	}
	if v, _ := readValue(t, store, "p", 0); v != 7 {
		t.Errorf("GetCurrentOffset(ctx, {p 0}) after reset = %d; want 7", v)
	}
}

func TestOffsetStore_DeleteOffsets(t *testing.T) {
	ctx := t.Context()
	store := connectedStore(t)
	writeValue(t, store, "p", 0, 1)
	writeValue(t, store, "p", 1, 1)
	writeValue(t, store, "p2", 0, 1)
	for range 2 { // the second call deletes what is absent
		if err := store.DeleteOffsets(ctx, "p"); err != nil {
			t.Fatalf("DeleteOffsets(ctx, p) = %v; want <nil>", err)
		}
	}
	if err := store.ResetOffset(ctx, "p", 7); err != nil {
		t.Fatalf("ResetOffset(ctx, p, 7) = %v; want <nil>", err)
	}
	got, err := store.Snapshot(ctx)
	if want := []string{"p2/0=1"}; err != nil || !slices.Equal(keys(got), want) {
		t.Errorf("Snapshot(ctx) after DeleteOffsets(p) and a reset = %v, %v; want %v: only p goes, and the reset brings nothing back", keys(got), err, want)
	}
}

func TestOffsetStore_Inspect_Errors(t *testing.T) {
	ctx := t.Context()
	store := memory.NewOffsetStore()
	calls := map[string]func() error{
		"Offsets":       func() error { _, err := store.Offsets(ctx, "p"); return err },
		"Projections":   func() error { _, err := store.Projections(ctx); return err },
		"Snapshot":      func() error { _, err := store.Snapshot(ctx); return err },
		"Restore":       func() error { return store.Restore(ctx, nil) },
		"DeleteOffset":  func() error { return store.DeleteOffset(ctx, &egopb.ProjectionId{ProjectionName: "p"}) },
		"DeleteOffsets": func() error { return store.DeleteOffsets(ctx, "p") },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, offsetstore.ErrNotConnected) {
			t.Errorf("%s on a store never connected = %v; want an error wrapping ErrNotConnected", name, err)
		}
	}

	if err := store.Connect(ctx); err != nil {
		t.Fatalf("Connect(ctx) = %v; want <nil>", err)
	}
	bad := map[string]func() error{
		"Offsets(ctx, \"\")":        func() error { _, err := store.Offsets(ctx, ""); return err },
		"DeleteOffset(ctx, nil)":    func() error { return store.DeleteOffset(ctx, nil) },
		"DeleteOffsets(ctx, \\xff)": func() error { return store.DeleteOffsets(ctx, "\xff") },
	}
	for name, call := range bad {
		if err := call(); !errors.Is(err, offsetstore.ErrInvalidArgument) {
			t.Errorf("%s = %v; want an error wrapping ErrInvalidArgument", name, err)
		}
	}
}
