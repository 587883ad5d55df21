package memory_test

import (
	"errors"
	"math"
	"testing"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/memory"
)

// The fuzz targets run their seeds, from f.Add and testdata/fuzz, on every
// go test. A longer run, one target at a time, is scripts/fuzz.sh.

// fuzzNow is the fixed clock of the fuzzed stores, so a reset's timestamp
// is known.
const fuzzNow = 1_700_000_000_123

func newFuzzStore(t *testing.T) *memory.OffsetStore {
	t.Helper()
	store := memory.NewOffsetStore(memory.WithClock(func() time.Time { return time.UnixMilli(fuzzNow) }))
	if err := store.Connect(t.Context()); err != nil {
		t.Fatalf("Connect(ctx) = %v; want <nil>", err)
	}
	return store
}

// FuzzAPI sends one arbitrary offset through the whole API. No call may
// panic; every call must fail with ErrInvalidArgument exactly when the
// name is empty or not valid UTF-8, and change nothing; otherwise every
// read must give back exactly what was written, restored or reset.
func FuzzAPI(f *testing.F) {
	f.Add("accounts", uint64(0), int64(15), int64(1_700_000_000_000))
	f.Add("p", uint64(math.MaxUint64), int64(math.MinInt64), int64(math.MaxInt64))
	f.Add("P", uint64(1), int64(math.MaxInt64), int64(math.MinInt64))
	f.Add("", uint64(0), int64(0), int64(0))
	f.Add("\xff", uint64(3), int64(-1), int64(-1))
	f.Add("naïve-projection", uint64(7), int64(-42), int64(0))
	f.Fuzz(func(t *testing.T, name string, shard uint64, value, timestamp int64) {
		ctx := t.Context()
		store := newFuzzStore(t)
		valid := name != "" && utf8.ValidString(name)
		id := &egopb.ProjectionId{ProjectionName: name, ShardNumber: shard}
		in := &egopb.Offset{ProjectionName: name, ShardNumber: shard, Value: value, Timestamp: timestamp}
		want := row{name, shard, value, timestamp}
		call := "WriteOffset(ctx, " + want.String() + ")"

		if !valid {
			checkAllRefuse(t, store, in)
			return
		}
		if err := store.WriteOffset(ctx, in); err != nil {
			t.Fatalf("%s = %v; want <nil>: a valid offset is accepted (rule 5)", call, err)
		}
		// Copy in (rule 7): the caller may reuse its message.
		in.Value, in.Timestamp = ^value, ^timestamp

		checkOnly(t, store, want, "after "+call)

		got, err := store.WaitForOffset(ctx, id, value)
		if err != nil || got == nil || *rowOf(got) != want {
			t.Fatalf("WaitForOffset(ctx, %s, %d) = %s, %v; want %s, <nil>: the offset is already there", fmtID(id), value, fmtOffset(got), err, want)
		}
		if all, err := store.WaitForOffsets(ctx, name, map[uint64]int64{shard: value}); err != nil || len(all) != 1 || *rowOf(all[0]) != want {
			t.Fatalf("WaitForOffsets(ctx, %q, {%d: %d}) = %v, %v; want [%s], <nil>: the offset is already there", name, shard, value, rowsOf(all), err, want)
		}

		snapshot, err := store.Snapshot(ctx)
		if err != nil {
			t.Fatalf("Snapshot(ctx) = %v; want <nil>", err)
		}
		if deleted, err := store.DeleteShards(ctx, name, nil); err != nil || len(deleted) != 1 || *rowOf(deleted[0]) != want {
			t.Fatalf("DeleteShards(ctx, %q, nil) = %v, %v; want [%s], <nil>", name, rowsOf(deleted), err, want)
		}
		checkEmpty(t, store, name, "after DeleteShards of every shard")
		if err := store.Restore(ctx, []*egopb.Offset{snapshot[0], snapshot[0]}); !errors.Is(err, offsetstore.ErrInvalidArgument) {
			t.Fatalf("Restore(ctx, [%s %s]) = %v; want an error wrapping %q: a duplicate key rejects the whole call", want, want, err, offsetstore.ErrInvalidArgument)
		}
		checkEmpty(t, store, name, "after a rejected Restore")
		if err := store.Restore(ctx, snapshot); err != nil {
			t.Fatalf("Restore(ctx, [%s]) = %v; want <nil>", want, err)
		}
		checkOnly(t, store, want, "after Restore")

		reset := ^value
		if err := store.ResetOffset(ctx, name, reset); err != nil {
			t.Fatalf("ResetOffset(ctx, %q, %d) = %v; want <nil>", name, reset, err)
		}
		checkOnly(t, store, row{name, shard, reset, fuzzNow}, "after ResetOffset sets the value and stamps now (rule 8)")

		if _, err := store.DeleteShards(ctx, name, []uint64{shard}); err != nil {
			t.Fatalf("DeleteShards(ctx, %q, [%d]) = %v; want <nil>", name, shard, err)
		}
		checkEmpty(t, store, name, "after DeleteShards of its shard")
		if err := store.ResetOffset(ctx, name, value); err != nil {
			t.Fatalf("ResetOffset(ctx, %q, %d) = %v; want <nil>", name, value, err)
		}
		checkEmpty(t, store, name, "after resetting a projection with no offsets, which creates nothing (rule 8)")
	})
}

// checkAllRefuse checks that every call naming in's projection fails with
// ErrInvalidArgument and that the store stays empty.
func checkAllRefuse(t *testing.T, store *memory.OffsetStore, in *egopb.Offset) {
	t.Helper()
	ctx := t.Context()
	name := in.ProjectionName
	id := &egopb.ProjectionId{ProjectionName: name, ShardNumber: in.ShardNumber}
	calls := []struct {
		call string
		err  error
	}{
		{"WriteOffset", store.WriteOffset(ctx, in)},
		{"GetCurrentOffset", second(store.GetCurrentOffset(ctx, id))},
		{"ResetOffset", store.ResetOffset(ctx, name, in.Value)},
		{"Offsets", second(store.Offsets(ctx, name))},
		{"ResetShards", second(store.ResetShards(ctx, name, in.Value, nil))},
		{"DeleteShards", second(store.DeleteShards(ctx, name, []uint64{in.ShardNumber}))},
		{"WriteOffsets", store.WriteOffsets(ctx, []*egopb.Offset{in})},
		{"Restore", store.Restore(ctx, []*egopb.Offset{in})},
		{"WaitForOffset", second(store.WaitForOffset(ctx, id, in.Value))},
		{"WaitForOffsets", second(store.WaitForOffsets(ctx, name, nil))},
	}
	for _, c := range calls {
		if !errors.Is(c.err, offsetstore.ErrInvalidArgument) {
			t.Errorf("%s(ctx, projection %q) = %v; want an error wrapping %q: a bad name is rejected (rule 3)", c.call, name, c.err, offsetstore.ErrInvalidArgument)
		}
	}
	if snapshot, err := store.Snapshot(ctx); err != nil || len(snapshot) != 0 {
		t.Errorf("Snapshot(ctx) = %v, %v; want [], <nil>: rejected calls change nothing (rule 3)", rowsOf(snapshot), err)
	}
}

// checkOnly checks that want is the only offset in the store, through
// every read.
func checkOnly(t *testing.T, store *memory.OffsetStore, want row, when string) {
	t.Helper()
	ctx := t.Context()
	id := &egopb.ProjectionId{ProjectionName: want.Name, ShardNumber: want.Shard}
	got, err := store.GetCurrentOffset(ctx, id)
	if err != nil || got == nil || *rowOf(got) != want {
		t.Fatalf("%s: GetCurrentOffset(ctx, %s) = %s, %v; want %s, <nil>", when, fmtID(id), fmtOffset(got), err, want)
	}
	// Copy out (rule 7): what a read returns belongs to the caller.
	got.Value, got.ProjectionName = ^got.Value, "x"+got.ProjectionName
	offsets, err := store.Offsets(ctx, want.Name)
	if rows := rowsOf(offsets); err != nil || len(rows) != 1 || rows[0] != want {
		t.Fatalf("%s: Offsets(ctx, %q) = %v, %v; want [%s], <nil>", when, want.Name, rows, err, want)
	}
	snapshot, err := store.Snapshot(ctx)
	if rows := rowsOf(snapshot); err != nil || len(rows) != 1 || rows[0] != want {
		t.Fatalf("%s: Snapshot(ctx) = %v, %v; want [%s], <nil>", when, rows, err, want)
	}
	summaries, err := store.Projections(ctx)
	wantSummary := offsetstore.ProjectionSummary{Name: want.Name, Shards: 1, MinValue: want.Value, MaxValue: want.Value, LastUpdate: want.Timestamp}
	if err != nil || len(summaries) != 1 || summaries[0] != wantSummary {
		t.Fatalf("%s: Projections(ctx) = %+v, %v; want [%+v], <nil>", when, summaries, err, wantSummary)
	}
}

// checkEmpty checks that the store holds nothing, name included.
func checkEmpty(t *testing.T, store *memory.OffsetStore, name, when string) {
	t.Helper()
	ctx := t.Context()
	if offsets, err := store.Offsets(ctx, name); err != nil || len(offsets) != 0 {
		t.Fatalf("%s: Offsets(ctx, %q) = %v, %v; want [], <nil>", when, name, rowsOf(offsets), err)
	}
	if snapshot, err := store.Snapshot(ctx); err != nil || len(snapshot) != 0 {
		t.Fatalf("%s: Snapshot(ctx) = %v, %v; want [], <nil>", when, rowsOf(snapshot), err)
	}
	if summaries, err := store.Projections(ctx); err != nil || len(summaries) != 0 {
		t.Fatalf("%s: Projections(ctx) = %+v, %v; want [], <nil>: a projection without offsets is not listed", when, summaries, err)
	}
}

// FuzzOffsetBytes decodes arbitrary bytes as an egopb.Offset, as the store
// would receive one from eGo, then writes it and restores it. Both must
// fail with ErrInvalidArgument exactly when the decoded name is invalid,
// and otherwise give back the decoded message, field for field. Bytes
// that are not an Offset are skipped: rejecting them is protobuf's job.
// The same bytes, decoded as a ProjectionId, must be read without panic.
func FuzzOffsetBytes(f *testing.F) {
	for _, seed := range []*egopb.Offset{
		{ProjectionName: "accounts", ShardNumber: 3, Value: 15, Timestamp: 1_700_000_000_000},
		{ProjectionName: "p", ShardNumber: math.MaxUint64, Value: math.MinInt64, Timestamp: -1},
		{ShardNumber: 1, Value: 1},
		{},
	} {
		b, err := proto.Marshal(seed)
		if err != nil {
			f.Fatalf("proto.Marshal(%v) = %v", seed, err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := t.Context()
		decoded := new(egopb.Offset)
		if err := proto.Unmarshal(data, decoded); err != nil {
			return
		}
		// The store keeps the four fields and nothing else: unknown fields
		// carried by the bytes are not part of the round trip.
		want := proto.Clone(decoded).(*egopb.Offset)
		want.ProtoReflect().SetUnknown(nil)
		valid := want.ProjectionName != "" && utf8.ValidString(want.ProjectionName)

		for _, put := range []struct {
			call string
			do   func(*memory.OffsetStore) error
		}{
			{"WriteOffset", func(s *memory.OffsetStore) error { return s.WriteOffset(ctx, decoded) }},
			{"Restore", func(s *memory.OffsetStore) error { return s.Restore(ctx, []*egopb.Offset{decoded}) }},
		} {
			store := newFuzzStore(t)
			err := put.do(store)
			if !valid {
				if !errors.Is(err, offsetstore.ErrInvalidArgument) {
					t.Fatalf("%s(ctx, %s) = %v; want an error wrapping %q: a bad name is rejected (rule 3)", put.call, fmtOffset(want), err, offsetstore.ErrInvalidArgument)
				}
				checkEmpty(t, store, "x", "after a rejected "+put.call)
				continue
			}
			if err != nil {
				t.Fatalf("%s(ctx, %s) = %v; want <nil>", put.call, fmtOffset(want), err)
			}
			id := &egopb.ProjectionId{ProjectionName: want.ProjectionName, ShardNumber: want.ShardNumber}
			got, err := store.GetCurrentOffset(ctx, id)
			if err != nil || !proto.Equal(got, want) {
				t.Fatalf("after %s: GetCurrentOffset(ctx, %s) = %s, %v; want %s, <nil>: an exact round trip", put.call, fmtID(id), fmtOffset(got), err, fmtOffset(want))
			}
			b, err := proto.Marshal(got)
			if err != nil {
				t.Fatalf("proto.Marshal(%s) = %v; want <nil>: what the store returns encodes", fmtOffset(got), err)
			}
			again := new(egopb.Offset)
			if err := proto.Unmarshal(b, again); err != nil || !proto.Equal(again, want) {
				t.Fatalf("proto.Unmarshal(proto.Marshal(%s)) = %s, %v; want %s, <nil>", fmtOffset(got), fmtOffset(again), err, fmtOffset(want))
			}
			snapshot, err := store.Snapshot(ctx)
			if err != nil || len(snapshot) != 1 || !proto.Equal(snapshot[0], want) {
				t.Fatalf("after %s: Snapshot(ctx) = %v, %v; want [%s], <nil>", put.call, rowsOf(snapshot), err, fmtOffset(want))
			}
		}

		id := new(egopb.ProjectionId)
		if err := proto.Unmarshal(data, id); err != nil {
			return
		}
		store := newFuzzStore(t)
		got, err := store.GetCurrentOffset(ctx, id)
		validID := id.ProjectionName != "" && utf8.ValidString(id.ProjectionName)
		if validID && (got != nil || err != nil) || !validID && !errors.Is(err, offsetstore.ErrInvalidArgument) {
			t.Fatalf("GetCurrentOffset(ctx, %s) on an empty store = %s, %v; want <nil>, <nil> for a valid id (rule 6) or an error wrapping %q for a bad one (rule 3)",
				fmtID(id), fmtOffset(got), err, offsetstore.ErrInvalidArgument)
		}
	})
}
