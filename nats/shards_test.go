package nats_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/natstest"
	offsetnats "github.com/ego-contrib/offsetstore/nats"
)

// TestOffsetStore_ChangeShards_ShardCreatedMeanwhile checks that
// ResetShards and DeleteShards are linearizable with a write that
// creates one of their shards while they run, however far the caller is
// from its server: a slow caller (what it sends held 250 ms) resets or
// deletes shards 0 and 1 of a projection that holds shard 0 alone, and
// while its change is on the way to the server, after it read the
// projection, a fast store writes shard 1, and is acknowledged. The
// change lands after that write: it must change shard 1 too, and report
// it as it was, named or not (shards nil).
func TestOffsetStore_ChangeShards_ShardCreatedMeanwhile(t *testing.T) {
	t.Parallel()
	now := time.UnixMilli(1_800_000_000_000)
	c := natstest.RunServer(t)
	bucket := newBucket()
	fast := connectedStore(t, c, 1, offsetnats.WithBucket(bucket))
	slow, proxy := slowStore(t, c.Servers[0], callerDelay, offsetnats.WithBucket(bucket), offsetnats.WithClock(func() time.Time { return now }))
	reset := func(name string, shards []uint64) ([]*egopb.Offset, error) {
		return slow.ResetShards(t.Context(), name, 7, shards)
	}
	deleteShards := func(name string, shards []uint64) ([]*egopb.Offset, error) {
		return slow.DeleteShards(t.Context(), name, shards)
	}
	for _, tc := range []struct {
		name   string
		shards []uint64
		change func(name string, shards []uint64) ([]*egopb.Offset, error)
		after  func(name string, shard uint64) *egopb.Offset // nil: deleted
	}{
		{"ResetShards/some", []uint64{0, 1}, reset, func(name string, shard uint64) *egopb.Offset { return offset(name, shard, 7, now.UnixMilli()) }},
		{"ResetShards/all", nil, reset, func(name string, shard uint64) *egopb.Offset { return offset(name, shard, 7, now.UnixMilli()) }},
		{"DeleteShards/some", []uint64{0, 1}, deleteShards, func(string, uint64) *egopb.Offset { return nil }},
		{"DeleteShards/all", nil, deleteShards, func(string, uint64) *egopb.Offset { return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "created-meanwhile-" + tc.name
			first, second := offset(name, 0, 10, 10), offset(name, 1, 20, 20)
			mustWrite(t, fast, first)
			var writeErr error
			var took time.Duration
			// An atomic batch ends with its commit: by then the change has
			// read what it changes.
			wait := onFirst(t, proxy, func() {
				start := time.Now()
				writeErr = fast.WriteOffset(t.Context(), second)
				took = time.Since(start)
			}, "Nats-Batch-Commit")
			got, err := tc.change(name, tc.shards)
			wait()
			switch {
			case writeErr != nil:
				t.Fatalf("setup: WriteOffset(ctx, %v) = %v; want <nil>", second, writeErr)
			case took >= callerDelay:
				t.Fatalf("setup: the write took %v, not less than the %v the change was held: the test did not race them", took, callerDelay)
			}
			if want := []*egopb.Offset{first, second}; err != nil || !sameOffsets(got, want) {
				t.Errorf("%s(ctx, %s, %v) sent before shard 1 was written and landing after = %v, %v; want %v, <nil>: a change lands at one instant, and reports what it changed", tc.name, name, tc.shards, got, err, want)
			}
			wantOffset(t, fast, name, 0, tc.after(name, 0))
			wantOffset(t, fast, name, 1, tc.after(name, 1))
		})
	}
	proxy.Watch(nil)
}

// TestOffsetStore_ChangeShards_MoreKeysThanABatch checks that a reset of
// all the shards of a projection with 999 shard keys, deleted ones
// included, is one batch the server takes (with the fence, 1,000
// messages, its default max_batch_size), and that with one key more it
// fails with an error that says why, changing nothing.
func TestOffsetStore_ChangeShards_MoreKeysThanABatch(t *testing.T) {
	t.Parallel()
	now := time.UnixMilli(1_800_000_000_000)
	c := natstest.RunServer(t)
	store := connectedStore(t, c, 1, offsetnats.WithClock(func() time.Time { return now }))
	ctx := t.Context()
	var offsets []*egopb.Offset
	for shard := range uint64(999) {
		offsets = append(offsets, offset("big", shard, 1, 1))
	}
	for start := 0; start < len(offsets); start += offsetnats.MaxWriteOffsets {
		if err := store.WriteOffsets(ctx, offsets[start:min(start+offsetnats.MaxWriteOffsets, len(offsets))]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := store.DeleteShards(ctx, "big", []uint64{0}); err != nil {
		t.Fatal(err)
	}
	if err := store.ResetOffset(ctx, "big", 2); err != nil {
		t.Errorf("ResetOffset(ctx, big, 2) on 999 shard keys = %v; want <nil>", err)
	}
	mustWrite(t, store, offset("big", 999, 1, 1))
	err := store.ResetOffset(ctx, "big", 3)
	if err == nil || !strings.Contains(err.Error(), "max_batch_size") {
		t.Errorf("ResetOffset(ctx, big, 3) on 1,000 shard keys = %v; want an error saying the batch would be larger than max_batch_size", err)
	}
	wantOffset(t, store, "big", 1, offset("big", 1, 2, now.UnixMilli()))
}

// TestOffsetStore_ResetOffset_ChangedMeanwhile checks that ResetOffset is
// linearizable with a write, a deletion or a write that adds a shard,
// made and acknowledged after it read the projection and before its
// batch lands, however far the caller is from its server: shards 0 and 1
// exist; a slow caller resets the projection to 7 and, while its batch is
// on the way, a fast store writes shard 0, deletes shard 1, or writes
// shard 2. The reset lands after: every shard with an offset then holds
// 7, and a deleted one stays deleted.
func TestOffsetStore_ResetOffset_ChangedMeanwhile(t *testing.T) {
	t.Parallel()
	now := time.UnixMilli(1_800_000_000_000)
	c := natstest.RunServer(t)
	bucket := newBucket()
	fast := connectedStore(t, c, 1, offsetnats.WithBucket(bucket))
	slow, proxy := slowStore(t, c.Servers[0], callerDelay, offsetnats.WithBucket(bucket), offsetnats.WithClock(func() time.Time { return now }))
	reset := func(name string, shard uint64) *egopb.Offset { return offset(name, shard, 7, now.UnixMilli()) }
	for _, tc := range []struct {
		name   string
		change func(name string) error
		want   [3]func(name string, shard uint64) *egopb.Offset // nil: no offset
	}{
		{"Written", func(name string) error { return fast.WriteOffset(t.Context(), offset(name, 0, 30, 30)) },
			[3]func(string, uint64) *egopb.Offset{reset, reset, nil}},
		{"Deleted", func(name string) error {
			_, err := fast.DeleteShards(t.Context(), name, []uint64{1})
			return err
		}, [3]func(string, uint64) *egopb.Offset{reset, nil, nil}},
		{"Added", func(name string) error { return fast.WriteOffset(t.Context(), offset(name, 2, 30, 30)) },
			[3]func(string, uint64) *egopb.Offset{reset, reset, reset}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "reset-meanwhile-" + tc.name
			mustWrite(t, fast, offset(name, 0, 10, 10))
			mustWrite(t, fast, offset(name, 1, 20, 20))
			var changeErr error
			var took time.Duration
			wait := onFirst(t, proxy, func() {
				start := time.Now()
				changeErr = tc.change(name)
				took = time.Since(start)
			}, "Nats-Batch-Commit")
			err := slow.ResetOffset(t.Context(), name, 7)
			wait()
			switch {
			case changeErr != nil:
				t.Fatalf("setup: the change meanwhile = %v; want <nil>", changeErr)
			case took >= callerDelay:
				t.Fatalf("setup: the change took %v, not less than the %v the reset was held: the test did not race them", took, callerDelay)
			}
			if err != nil {
				t.Fatalf("ResetOffset(ctx, %s, 7) = %v; want <nil>", name, err)
			}
			for shard, want := range tc.want {
				var w *egopb.Offset
				if want != nil {
					w = want(name, uint64(shard))
				}
				wantOffset(t, fast, name, uint64(shard), w)
			}
		})
	}
	proxy.Watch(nil)
}
