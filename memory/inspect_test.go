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

func TestOffsetStore_Restore_Errors(t *testing.T) {
	ctx := t.Context()
	store := memory.NewOffsetStore()
	if err := store.Restore(ctx, nil); !errors.Is(err, offsetstore.ErrNotConnected) {
		t.Errorf("Restore(ctx, nil) on a store never connected = %v; want an error wrapping ErrNotConnected", err)
	}
	if err := store.Connect(ctx); err != nil {
		t.Fatalf("Connect(ctx) = %v; want <nil>", err)
	}
	writeValue(t, store, "p", 0, 1)
	for name, offsets := range map[string][]*egopb.Offset{
		"a nil offset": {nil},
		"a bad name":   {{ProjectionName: "\xff"}},
		"a key twice":  {{ProjectionName: "q"}, {ProjectionName: "q"}},
	} {
		if err := store.Restore(ctx, offsets); !errors.Is(err, offsetstore.ErrInvalidArgument) {
			t.Errorf("Restore(ctx, %s) = %v; want an error wrapping ErrInvalidArgument", name, err)
		}
	}
	if got, err := store.Snapshot(ctx); err != nil || !slices.Equal(keys(got), []string{"p/0=1"}) {
		t.Errorf("Snapshot(ctx) after refused Restores = %v, %v; want [p/0=1], <nil>: a refused Restore changes nothing", keys(got), err)
	}
}
