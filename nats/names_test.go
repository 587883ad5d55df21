package nats_test

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/natstest"
	offsetnats "github.com/ego-contrib/offsetstore/nats"
)

// TestOffsetStore_NamesSubjectsCannotHold writes, under names a NATS
// subject cannot hold as they are (dots, wildcards, spaces, NUL,
// non-ASCII, names that look like another's key), shards from 0 to
// 2^64-1, and checks that each reads back under its own name and shard
// only, that Projections returns the names as written, and that a reset
// or a deletion of one name touches no other.
func TestOffsetStore_NamesSubjectsCannotHold(t *testing.T) {
	ctx := t.Context()
	store := connectedStore(t, natstest.RunServer(t), 1)
	names := []string{
		"a", "a.", ".a", "a.b", "a..b", "a.*", "*", ">", "a.>", "a b", " a", "a\tb", "a\nb",
		"\x00", "a\x00b", "é", "日本語", "😀", "$KV.offsets_store.a", "YQ", "YQ.p", "a/b", "a=b", "a-b_c",
		strings.Repeat("n", offsetnats.MaxNameBytes),
	}
	shards := []uint64{0, 1, 1 << 63, math.MaxUint64}
	for i, name := range names {
		for j, shard := range shards {
			mustWrite(t, store, &egopb.Offset{ProjectionName: name, ShardNumber: shard, Value: int64(i*10 + j), Timestamp: int64(i)})
		}
	}
	for i, name := range names {
		for j, shard := range shards {
			id := &egopb.ProjectionId{ProjectionName: name, ShardNumber: shard}
			got, err := store.GetCurrentOffset(ctx, id)
			if err != nil || got == nil || got.ProjectionName != name || got.ShardNumber != shard || got.Value != int64(i*10+j) {
				t.Errorf("GetCurrentOffset(ctx, {%q %d}) = %v, %v; want value %d: each name and shard has a key of its own", name, shard, got, err, i*10+j)
			}
		}
	}
	summaries, err := store.Projections(ctx)
	got := make([]string, len(summaries))
	for i, sum := range summaries {
		got[i] = sum.Name
	}
	want := slices.Sorted(slices.Values(names))
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("Projections(ctx) names = %q, %v; want %q, <nil>: names come back as written", got, err, want)
	}
	offsets, err := store.Offsets(ctx, "a.*")
	if err != nil || len(offsets) != len(shards) {
		t.Fatalf("Offsets(ctx, \"a.*\") = %v, %v; want %d offsets", offsets, err, len(shards))
	}
	for j, o := range offsets {
		if o.ShardNumber != shards[j] {
			t.Errorf("Offsets(ctx, \"a.*\")[%d].ShardNumber = %d; want %d: sorted as uint64", j, o.ShardNumber, shards[j])
		}
	}
	if err := store.ResetOffset(ctx, "*", -1); err != nil {
		t.Fatal(err)
	}
	if _, err := store.DeleteShards(ctx, "a", nil); err != nil {
		t.Fatal(err)
	}
	for i, name := range names {
		for j, shard := range shards {
			got, err := store.GetCurrentOffset(ctx, &egopb.ProjectionId{ProjectionName: name, ShardNumber: shard})
			switch {
			case err != nil:
				t.Fatal(err)
			case name == "a" && got != nil:
				t.Errorf("GetCurrentOffset(ctx, {a %d}) = %v after DeleteShards(ctx, a, nil); want nil", shard, got)
			case name == "*" && (got == nil || got.Value != -1):
				t.Errorf("GetCurrentOffset(ctx, {* %d}) = %v after ResetOffset(ctx, *, -1); want value -1", shard, got)
			case name != "a" && name != "*" && (got == nil || got.Value != int64(i*10+j)):
				t.Errorf("GetCurrentOffset(ctx, {%q %d}) = %v; want value %d: resetting * or deleting a touches no other name", name, shard, got, i*10+j)
			}
		}
	}
}

// TestCheckProjectionName_TooLong checks that a name longer than
// MaxNameBytes, which would make a subject longer than a server takes, is
// refused with ErrInvalidArgument saying so, and that the store refuses
// it before it sends anything.
func TestCheckProjectionName_TooLong(t *testing.T) {
	name := strings.Repeat("n", offsetnats.MaxNameBytes+1)
	err := offsetnats.CheckProjectionName(name)
	if !errors.Is(err, offsetstore.ErrInvalidArgument) || !strings.Contains(err.Error(), "at most 1024 bytes") {
		t.Errorf("CheckProjectionName(%d bytes) = %v; want ErrInvalidArgument saying the limit", len(name), err)
	}
	store := offsetnats.NewOffsetStore("nats://127.0.0.1:1")
	err = store.WriteOffset(t.Context(), &egopb.Offset{ProjectionName: name})
	if !errors.Is(err, offsetstore.ErrInvalidArgument) {
		t.Errorf("WriteOffset(ctx, {%d bytes}) on a store never connected = %v; want ErrInvalidArgument", len(name), err)
	}
}
