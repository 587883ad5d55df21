package nats_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/natstest"
	offsetnats "github.com/ego-contrib/offsetstore/nats"
)

func offset(name string, shard uint64, value, timestamp int64) *egopb.Offset {
	return &egopb.Offset{ProjectionName: name, ShardNumber: shard, Value: value, Timestamp: timestamp}
}

func id(name string, shard uint64) *egopb.ProjectionId {
	return &egopb.ProjectionId{ProjectionName: name, ShardNumber: shard}
}

func sameOffset(a, b *egopb.Offset) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.ProjectionName == b.ProjectionName && a.ShardNumber == b.ShardNumber && a.Value == b.Value && a.Timestamp == b.Timestamp
}

func sameOffsets(a, b []*egopb.Offset) bool { return slices.EqualFunc(a, b, sameOffset) }

func wantOffset(t *testing.T, store *offsetnats.OffsetStore, name string, shard uint64, want *egopb.Offset) {
	t.Helper()
	got, err := store.GetCurrentOffset(t.Context(), id(name, shard))
	if err != nil || !sameOffset(got, want) {
		t.Errorf("GetCurrentOffset(ctx, {%q %d}) = %v, %v; want %v, <nil>", name, shard, got, err, want)
	}
}

// TestOffsetStore_Connect_MissingBucket checks that Connect, without
// WithCreateBucket, fails on a missing bucket with an error that names it
// and says how to create it, and on a KeyValue bucket that does not take
// atomic batches with an error that says so; WithCreateBucket then turns
// them on.
func TestOffsetStore_Connect_MissingBucket(t *testing.T) {
	c := natstest.RunServer(t)
	ctx := t.Context()
	bucket := newBucket()
	store := offsetnats.NewOffsetStore(c.URL(), offsetnats.WithBucket(bucket))
	err := store.Connect(ctx)
	if err == nil || !strings.Contains(err.Error(), `bucket "`+bucket+`"`) || !strings.Contains(err.Error(), "WithCreateBucket") {
		t.Errorf("Connect(ctx) on a missing bucket = %v; want an error naming bucket %q and saying how to create it", err, bucket)
	}

	nc, err := nats.Connect(c.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: bucket}); err != nil {
		t.Fatal(err)
	}
	err = store.Connect(ctx)
	if err == nil || !strings.Contains(err.Error(), "allow_atomic") {
		t.Errorf("Connect(ctx) on a bucket without atomic batches = %v; want an error saying allow_atomic", err)
	}
	store = offsetnats.NewOffsetStore(c.URL(), offsetnats.WithBucket(bucket), offsetnats.WithCreateBucket())
	if err := store.Connect(ctx); err != nil {
		t.Fatalf("Connect(ctx) with WithCreateBucket on a bucket without atomic batches = %v; want <nil>", err)
	}
	defer store.Disconnect(context.Background())
	if err := store.ResetOffset(ctx, "p", 0); err != nil {
		t.Errorf("ResetOffset(ctx, p, 0) = %v; want <nil>", err)
	}
	if _, err := store.ResetShards(ctx, "p", 0, []uint64{0}); err != nil {
		t.Errorf("ResetShards(ctx, p, 0, [0]) = %v; want <nil>", err)
	}

	if err := offsetnats.NewOffsetStore(c.URL(), offsetnats.WithBucket("a.b")).Connect(ctx); !errors.Is(err, offsetstore.ErrInvalidArgument) {
		t.Errorf("Connect(ctx) with bucket a.b = %v; want an error wrapping ErrInvalidArgument", err)
	}
}

// TestOffsetStore_WithConn checks that the store uses the caller's
// connection and leaves it open on Disconnect.
func TestOffsetStore_WithConn(t *testing.T) {
	c := natstest.RunServer(t)
	nc, err := nats.Connect(c.URL(), nats.ReconnectBufSize(-1))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	store := offsetnats.NewOffsetStore("nats://127.0.0.1:1", offsetnats.WithConn(nc), offsetnats.WithBucket(newBucket()), offsetnats.WithCreateBucket())
	if err := store.Ping(t.Context()); err != nil {
		t.Fatalf("Ping(ctx) = %v; want <nil>: the store uses the connection given, not its URL", err)
	}
	mustWrite(t, store, offset("p", 0, 1, 1))
	if err := store.Disconnect(t.Context()); err != nil {
		t.Fatal(err)
	}
	if nc.IsClosed() {
		t.Errorf("the connection of WithConn is closed after Disconnect; want it left open")
	}
}

func TestOffsetStore_MonotonicWrites(t *testing.T) {
	c := natstest.RunServer(t)
	store := connectedStore(t, c, 1, offsetnats.WithMonotonicWrites())
	ctx := t.Context()
	mustWrite(t, store, offset("p", 1, 10, 1))
	if err := store.WriteOffset(ctx, offset("p", 1, 9, 2)); !errors.Is(err, offsetstore.ErrOffsetRegression) {
		t.Errorf("WriteOffset(ctx, {p 1 value:9}) after value 10 = %v; want an error wrapping offsetstore.ErrOffsetRegression", err)
	}
	wantOffset(t, store, "p", 1, offset("p", 1, 10, 1))
	mustWrite(t, store, offset("p", 1, 10, 3)) // equal is accepted
	wantOffset(t, store, "p", 1, offset("p", 1, 10, 3))
	// A reset may lower values; writes above the new value succeed.
	if err := store.ResetOffset(ctx, "p", 0); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, store, offset("p", 1, 1, 6))

	// Many writers of one key at once: whatever order their conditional
	// writes land in, the value never goes down.
	const writers = 16
	errs := make(chan error, writers)
	for v := range int64(writers) {
		go func() { errs <- store.WriteOffset(ctx, offset("p", 2, v, v)) }()
	}
	for range writers {
		if err := <-errs; err != nil && !errors.Is(err, offsetstore.ErrOffsetRegression) {
			t.Errorf("concurrent WriteOffset = %v; want <nil> or an error wrapping offsetstore.ErrOffsetRegression", err)
		}
	}
	wantOffset(t, store, "p", 2, offset("p", 2, writers-1, writers-1))

	// One regression refuses the whole WriteOffsets call.
	err := store.WriteOffsets(ctx, []*egopb.Offset{offset("p", 0, 5, 5), offset("p", 1, 0, 9), offset("p", 3, 5, 5)})
	if !errors.Is(err, offsetstore.ErrOffsetRegression) {
		t.Errorf("WriteOffsets(ctx, ...{p 1 value:0}...) after value 1 = %v; want an error wrapping offsetstore.ErrOffsetRegression", err)
	}
	wantOffset(t, store, "p", 0, nil)
	wantOffset(t, store, "p", 3, nil)
}

// TestOffsetStore_Change checks Offsets, Snapshot, DeleteShards,
// ResetShards and WriteOffsets, and that a
// projection's record, which resets and deletions write, keeps them in
// order: a reset after a deletion does not bring shards back, a write
// after either stands.
func TestOffsetStore_Change(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	c := natstest.RunServer(t)
	store := connectedStore(t, c, 1, offsetnats.WithClock(func() time.Time { return now }))
	ctx := t.Context()
	var ps []*egopb.Offset
	for _, shard := range []uint64{0, 1, 2, math.MaxUint64} {
		o := offset("p", shard, int64(shard%100+1), 1)
		ps = append(ps, o)
		mustWrite(t, store, o)
	}
	q := offset("q", 0, 5, 5)
	mustWrite(t, store, q)
	if got, err := store.Offsets(ctx, "p"); err != nil || !sameOffsets(got, ps) {
		t.Errorf("Offsets(ctx, p) = %v, %v; want %v", got, err, ps)
	}
	if got, err := store.Offsets(ctx, "none"); err != nil || got == nil || len(got) != 0 {
		t.Errorf("Offsets(ctx, none) = %#v, %v; want an empty slice, <nil>", got, err)
	}
	if got, err := store.Snapshot(ctx); err != nil || !sameOffsets(got, append(slices.Clone(ps), q)) {
		t.Errorf("Snapshot(ctx) = %v, %v; want %v", got, err, append(slices.Clone(ps), q))
	}

	before, err := store.ResetShards(ctx, "p", -1, []uint64{math.MaxUint64, 1, 99})
	if err != nil || !sameOffsets(before, []*egopb.Offset{ps[1], ps[3]}) {
		t.Errorf("ResetShards(ctx, p, -1, [max 1 99]) = %v, %v; want the offsets of shards 1 and max before", before, err)
	}
	wantOffset(t, store, "p", 0, ps[0])
	wantOffset(t, store, "p", 1, offset("p", 1, -1, now.UnixMilli()))
	wantOffset(t, store, "p", math.MaxUint64, offset("p", math.MaxUint64, -1, now.UnixMilli()))
	wantOffset(t, store, "p", 99, nil)
	if before, err := store.ResetShards(ctx, "none", 0, nil); err != nil || len(before) != 0 {
		t.Errorf("ResetShards(ctx, none, 0, nil) = %v, %v; want nothing reset", before, err)
	}

	deleted, err := store.DeleteShards(ctx, "p", []uint64{0, 42})
	if err != nil || !sameOffsets(deleted, ps[:1]) {
		t.Errorf("DeleteShards(ctx, p, [0 42]) = %v, %v; want %v", deleted, err, ps[:1])
	}
	if _, err := store.DeleteShards(ctx, "p", []uint64{2}); err != nil {
		t.Fatal(err)
	}
	if deleted, err := store.DeleteShards(ctx, "p", []uint64{2}); err != nil || len(deleted) != 0 {
		t.Errorf("DeleteShards(ctx, p, [2]) twice = %v, %v; want [], <nil>", deleted, err)
	}
	wantOffset(t, store, "p", 2, nil)
	before, err = store.ResetShards(ctx, "p", 3, nil)
	wantBefore := []*egopb.Offset{offset("p", 1, -1, now.UnixMilli()), offset("p", math.MaxUint64, -1, now.UnixMilli())}
	if err != nil || !sameOffsets(before, wantBefore) {
		t.Errorf("ResetShards(ctx, p, 3, nil) = %v, %v; want %v", before, err, wantBefore)
	}
	wantOffset(t, store, "p", 1, offset("p", 1, 3, now.UnixMilli()))
	wantOffset(t, store, "p", 2, nil) // not brought back

	if _, err := store.DeleteShards(ctx, "p", nil); err != nil {
		t.Fatal(err)
	}
	if err := store.ResetOffset(ctx, "p", 0); err != nil {
		t.Fatal(err)
	}
	wantOffset(t, store, "p", 1, nil) // a reset after a deletion does not bring shards back
	if got, err := store.Projections(ctx); err != nil || len(got) != 1 || got[0].Name != "q" {
		t.Errorf("Projections(ctx) after DeleteShards(ctx, p, nil) = %+v, %v; want q only", got, err)
	}
	mustWrite(t, store, offset("p", 1, 8, 8))
	wantOffset(t, store, "p", 1, offset("p", 1, 8, 8))
	deleted, err = store.DeleteShards(ctx, "p", nil)
	if err != nil || !sameOffsets(deleted, []*egopb.Offset{offset("p", 1, 8, 8)}) {
		t.Errorf("DeleteShards(ctx, p, nil) = %v, %v; want [{p 1 8 8}]", deleted, err)
	}
	wantOffset(t, store, "p", 1, nil)

	// WriteOffsets: all or nothing.
	batch := []*egopb.Offset{offset("r", 0, 1, 1), offset("q", 0, 6, 6), offset("r", 1<<63, 2, 2)}
	if err := store.WriteOffsets(ctx, batch); err != nil {
		t.Fatal(err)
	}
	for _, o := range batch {
		wantOffset(t, store, o.ProjectionName, o.ShardNumber, o)
	}
	tooMany := make([]*egopb.Offset, offsetnats.MaxWriteOffsets+1)
	for i := range tooMany {
		tooMany[i] = offset("s", uint64(i), 1, 1)
	}
	for _, bad := range [][]*egopb.Offset{
		{offset("s", 0, 1, 1), offset("s", 0, 2, 2)},
		{offset("s", 0, 1, 1), nil},
		{offset("s", 0, 1, 1), offset("", 0, 1, 1)},
		tooMany,
	} {
		if err := store.WriteOffsets(ctx, bad); !errors.Is(err, offsetstore.ErrInvalidArgument) {
			t.Errorf("WriteOffsets(ctx, %d offsets) = %v; want an error wrapping offsetstore.ErrInvalidArgument", len(bad), err)
		}
	}
	wantOffset(t, store, "s", 0, nil)
	if err := store.WriteOffsets(ctx, tooMany[:offsetnats.MaxWriteOffsets]); err != nil {
		t.Errorf("WriteOffsets(ctx, %d offsets) = %v; want <nil>", offsetnats.MaxWriteOffsets, err)
	}
	if got, err := store.Offsets(ctx, "s"); err != nil || len(got) != offsetnats.MaxWriteOffsets {
		t.Errorf("Offsets(ctx, s) after WriteOffsets of %d = %d offsets, %v", offsetnats.MaxWriteOffsets, len(got), err)
	}
}
