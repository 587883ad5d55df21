package memory_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
)

func TestOffsetStore_Snapshot_Sorted(t *testing.T) {
	store := connectedStore(t)
	writeValue(t, store, "b", 1, 1)
	writeValue(t, store, "a", 2, 2)
	writeValue(t, store, "b", 0, 3)
	writeValue(t, store, "a", 0, 4)
	got, err := store.Snapshot(t.Context())
	if want := []string{"a/0=4", "a/2=2", "b/0=3", "b/1=1"}; err != nil || !slices.Equal(keys(got), want) {
		t.Errorf("Snapshot(ctx) = %v, %v; want %v: every offset, by name then shard", keys(got), err, want)
	}
}

func TestOffsetStore_Restore_ReplacesAll(t *testing.T) {
	ctx := t.Context()
	store := connectedStore(t)
	writeValue(t, store, "old", 0, 1)
	in := []*egopb.Offset{
		{ProjectionName: "p", ShardNumber: 1, Value: 5, Timestamp: 50},
		{ProjectionName: "p", ShardNumber: 0, Value: 4, Timestamp: 40},
	}
	if err := store.Restore(ctx, in); err != nil {
		t.Fatalf("Restore(ctx, %v) = %v; want <nil>", keys(in), err)
	}
	in[0].Value = 9 // Restore copies in
	got, err := store.Snapshot(ctx)
	if want := []string{"p/0=4", "p/1=5"}; err != nil || !slices.Equal(keys(got), want) {
		t.Errorf("Snapshot(ctx) after Restore = %v, %v; want %v: Restore replaces everything, with copies", keys(got), err, want)
	}
	if got[0].GetTimestamp() != 40 {
		t.Errorf("Snapshot(ctx)[0].Timestamp after Restore = %d; want 40", got[0].GetTimestamp())
	}
}

func TestOffsetStore_Restore_RejectsWhole(t *testing.T) {
	ctx := t.Context()
	store := connectedStore(t)
	writeValue(t, store, "p", 0, 1)
	good := &egopb.Offset{ProjectionName: "q", ShardNumber: 0, Value: 2}
	cases := map[string][]*egopb.Offset{
		"nil entry":    {good, nil},
		"empty name":   {good, {ShardNumber: 1}},
		"invalid utf8": {good, {ProjectionName: "\xff"}},
		"duplicate":    {good, {ProjectionName: "q", ShardNumber: 0, Value: 3}},
	}
	for name, in := range cases {
		// Every refusal names the entry at fault the same way.
		const prefix = "memory: Restore: invalid argument: offsets[1]: "
		if err := store.Restore(ctx, in); !errors.Is(err, offsetstore.ErrInvalidArgument) || !strings.HasPrefix(err.Error(), prefix) {
			t.Errorf("Restore(ctx, %s) = %v; want an error wrapping ErrInvalidArgument, reading %q and what was wrong", name, err, prefix)
		}
		got, err := store.Snapshot(ctx)
		if want := []string{"p/0=1"}; err != nil || !slices.Equal(keys(got), want) {
			t.Errorf("Snapshot(ctx) after Restore(ctx, %s) = %v, %v; want %v: a rejected Restore changes nothing", name, keys(got), err, want)
		}
	}
}
