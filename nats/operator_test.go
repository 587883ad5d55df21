package nats_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/natstest"
	offsetnats "github.com/ego-contrib/offsetstore/nats"
)

// TestOffsetStore_OperatorEditsProjectionKey checks that what an operator
// may do with the nats command to the one key of a projection that is
// not a shard, <name>.p, which looks stray to them (nats kv del, nats kv
// purge, or nats kv del then nats kv compact), never brings back offsets
// that a reset changed or a deletion removed: after each, every shard
// reads as the reset or the deletion left it.
func TestOffsetStore_OperatorEditsProjectionKey(t *testing.T) {
	t.Parallel()
	now := time.UnixMilli(1_800_000_000_000)
	c := natstest.RunServer(t)
	bucket := newBucket()
	store := connectedStore(t, c, 1, offsetnats.WithBucket(bucket), offsetnats.WithClock(func() time.Time { return now }))
	_, js := jsOn(t, c.URL())
	kv, err := js.KeyValue(t.Context(), bucket)
	if err != nil {
		t.Fatal(err)
	}
	edits := []struct {
		name string
		edit func(ctx context.Context, key string) error
	}{
		{"del", func(ctx context.Context, key string) error { return kv.Delete(ctx, key) }},
		{"purge", func(ctx context.Context, key string) error { return kv.Purge(ctx, key) }},
		{"compact", func(ctx context.Context, key string) error {
			if err := kv.Delete(ctx, key); err != nil {
				return err
			}
			return kv.PurgeDeletes(ctx, jetstream.DeleteMarkersOlderThan(-1))
		}},
	}
	changes := []struct {
		name   string
		change func(ctx context.Context, name string) error
		want   func(name string, shard uint64) *egopb.Offset
	}{
		{"ResetOffset", func(ctx context.Context, name string) error { return store.ResetOffset(ctx, name, 3) },
			func(name string, shard uint64) *egopb.Offset { return offset(name, shard, 3, now.UnixMilli()) }},
		{"DeleteShards", func(ctx context.Context, name string) error {
			_, err := store.DeleteShards(ctx, name, nil)
			return err
		}, func(string, uint64) *egopb.Offset { return nil }},
	}
	for _, change := range changes {
		for _, edit := range edits {
			t.Run(change.name+"/"+edit.name, func(t *testing.T) {
				ctx := t.Context()
				name := "operator-" + change.name + "-" + edit.name
				mustWrite(t, store, offset(name, 0, 10, 10))
				mustWrite(t, store, offset(name, 1, 20, 20))
				if err := change.change(ctx, name); err != nil {
					t.Fatalf("%s(ctx, %s) = %v; want <nil>", change.name, name, err)
				}
				if err := edit.edit(ctx, projectionKey(name)); err != nil {
					t.Fatalf("nats kv %s of %s = %v; want <nil>", edit.name, projectionKey(name), err)
				}
				for shard := range uint64(2) {
					want := change.want(name, shard)
					got, err := store.GetCurrentOffset(ctx, id(name, shard))
					if err != nil || !sameOffset(got, want) {
						t.Errorf("GetCurrentOffset(ctx, {%s %d}) after %s and nats kv %s of %s = %v, %v; want %v, <nil>: an operator's edit of that key must not bring back what %s changed",
							name, shard, change.name, edit.name, projectionKey(name), got, err, want, change.name)
					}
				}
			})
		}
	}
}
