package offsetstoretest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
)

// An adminCase checks one rule of [offsetstore.Admin] on a store of its
// own, connected.
type adminCase struct {
	name string
	rule string
	fn   func(h *adminHarness)
}

// adminCases are in the order of [offsetstore.Admin]'s methods, then its
// rules that every method shares.
var adminCases = []adminCase{
	{name: "ProjectionsSummarise", fn: testProjectionsSummarise,
		rule: "Projections must list every projection with an offset, sorted by name byte by byte, with its number of shards, lowest and highest Value and highest Timestamp"},
	{name: "OffsetsSortedByShard", fn: testOffsetsSortedByShard,
		rule: "Offsets must return the projection's offsets only, sorted by shard number as a uint64, and an empty slice for a projection with none"},
	{name: "SnapshotSorted", fn: testSnapshotSorted,
		rule: "Snapshot must return every offset, sorted by projection name byte by byte, then by shard number as a uint64"},
	{name: "ReadsAreCopies", fn: testReadsAreCopies,
		rule: "Offsets and Snapshot must return new offsets the caller may change"},
	{name: "WriteOffsetsWritesAll", fn: testWriteOffsetsWritesAll,
		rule: "WriteOffsets must store every offset as given, over what was stored, keep the offsets it does not name, and not keep the caller's messages"},
	{name: "WriteOffsetsAllOrNone", fn: testWriteOffsetsAllOrNone,
		rule: "WriteOffsets with a nil entry, a bad name or two offsets of one projection and shard must fail with offsetstore.ErrInvalidArgument, say what was wrong, and write none of them"},
	{name: "WriteOffsetsAtomic", fn: testWriteOffsetsAtomic,
		rule: "WriteOffsets must write every offset at once: Offsets and Snapshot must never see some of its offsets and not others"},
	{name: "ResetShardsSome", fn: testResetShardsSome,
		rule: "ResetShards must set Value, and Timestamp to now, on the named shards that have an offset, create none, leave other shards and projections as they are, and return the offsets it changed as they were, sorted by shard"},
	{name: "ResetShardsAll", fn: testResetShardsAll,
		rule: "ResetShards with nil shards must reset every shard of the projection, return them as they were, sorted by shard, and create nothing for a projection with no offsets"},
	{name: "ResetShardsNone", fn: testResetShardsNone,
		rule: "ResetShards with an empty, non-nil list of shards must change nothing and return an empty result"},
	{name: "ResetShardsAtomic", fn: testResetShardsAtomic,
		rule: "ResetShards must reset its shards at once: Offsets must never see some of them reset and others not"},
	{name: "DeleteShardsSome", fn: testDeleteShardsSome,
		rule: "DeleteShards must remove the named shards' offsets, for good (a later ResetOffset does not bring them back), leave other shards and projections as they are, and return what it removed, sorted by shard"},
	{name: "DeleteShardsAll", fn: testDeleteShardsAll,
		rule: "DeleteShards with nil shards must remove every offset of the projection, for good, so that Projections no longer lists it, and return them, sorted by shard"},
	{name: "DeleteShardsNone", fn: testDeleteShardsNone,
		rule: "DeleteShards with an empty, non-nil list of shards must change nothing and return an empty result"},
	{name: "DeleteShardsAtomic", fn: testDeleteShardsAtomic,
		rule: "DeleteShards must remove its shards at once: Offsets must never see some of them removed and others not"},
	{name: "AdminInvalidArgument", fn: testAdminInvalidArgument,
		rule: "Offsets, ResetShards, DeleteShards and WriteOffsets of a projection name that is empty or not valid UTF-8 must fail with offsetstore.ErrInvalidArgument, say what was wrong and change nothing"},
	{name: "AdminNotConnected", fn: testAdminNotConnected,
		rule: "every Admin method on a store that is not connected, before Connect or after Disconnect, must fail with offsetstore.ErrNotConnected and change nothing"},
	{name: "AdminContextDone", fn: testAdminContextDone,
		rule: "every Admin method called with a done context must fail with an error wrapping the context's error and change nothing"},
}

// RunAdmin checks that the stores newStore makes keep the rules of
// [offsetstore.Admin], reporting every broken rule through t. It checks
// the methods Admin adds; [Run] checks those of [offsetstore.OffsetStore],
// and a store that is an Admin should run both.
//
// As in [Run], each case is a subtest named for what it checks
// (ResetShardsSome, WriteOffsetsAtomic, ...), with a new, empty store from
// newStore, which RunAdmin connects and disconnects when the case ends.
// RunAdmin does not call [testing.T.Parallel].
func RunAdmin(t *testing.T, newStore func(t *testing.T) offsetstore.Admin) {
	for _, c := range adminCases {
		t.Run(c.name, func(t *testing.T) {
			store := newStore(t)
			t.Cleanup(func() {
				if err := store.Disconnect(context.Background()); err != nil {
					t.Errorf("Disconnect(ctx) = %v; want <nil>: Disconnect must never fail", err)
				}
			})
			if err := store.Connect(t.Context()); err != nil {
				t.Fatalf("Connect(ctx) = %v; want <nil>: a new store must connect", err)
			}
			c.fn(&adminHarness{harness: &harness{t: t, store: store, rule: c.rule}, admin: store})
		})
	}
}

// An adminHarness is a [harness] with the store seen as an Admin.
type adminHarness struct {
	*harness
	admin offsetstore.Admin
}

func offsetsCall(name string) call {
	return call{
		name: fmt.Sprintf("Offsets(ctx, %s)", nameString(name)),
		do: func(ctx context.Context, s offsetstore.OffsetStore) (string, error) {
			got, err := s.(offsetstore.Admin).Offsets(ctx, name)
			return fmt.Sprintf("%s, %v", offsetsString(got), err), err
		},
	}
}

var (
	projectionsCall = call{
		name: "Projections(ctx)",
		do: func(ctx context.Context, s offsetstore.OffsetStore) (string, error) {
			got, err := s.(offsetstore.Admin).Projections(ctx)
			return fmt.Sprintf("%+v, %v", got, err), err
		},
	}
	snapshotCall = call{
		name: "Snapshot(ctx)",
		do: func(ctx context.Context, s offsetstore.OffsetStore) (string, error) {
			got, err := s.(offsetstore.Admin).Snapshot(ctx)
			return fmt.Sprintf("%s, %v", offsetsString(got), err), err
		},
	}
)

func writeOffsetsCall(offsets []*egopb.Offset) call {
	return errCall(fmt.Sprintf("WriteOffsets(ctx, %s)", offsetsString(offsets)),
		func(s offsetstore.OffsetStore, ctx context.Context) error {
			return s.(offsetstore.Admin).WriteOffsets(ctx, offsets)
		})
}

func resetShardsCall(name string, value int64, shards []uint64) call {
	return call{
		name: fmt.Sprintf("ResetShards(ctx, %s, %d, %s)", nameString(name), value, shardsString(shards)),
		do: func(ctx context.Context, s offsetstore.OffsetStore) (string, error) {
			got, err := s.(offsetstore.Admin).ResetShards(ctx, name, value, shards)
			return fmt.Sprintf("%s, %v", offsetsString(got), err), err
		},
	}
}

func deleteShardsCall(name string, shards []uint64) call {
	return call{
		name: fmt.Sprintf("DeleteShards(ctx, %s, %s)", nameString(name), shardsString(shards)),
		do: func(ctx context.Context, s offsetstore.OffsetStore) (string, error) {
			got, err := s.(offsetstore.Admin).DeleteShards(ctx, name, shards)
			return fmt.Sprintf("%s, %v", offsetsString(got), err), err
		},
	}
}

// adminCalls are one call of each method Admin adds, with good input.
func adminCalls() []call {
	return []call{
		projectionsCall,
		offsetsCall("p"),
		snapshotCall,
		writeOffsetsCall([]*egopb.Offset{newOffset("p", 0, 99, 99), newOffset("q", 0, 99, 99)}),
		resetShardsCall("p", 99, nil),
		resetShardsCall("p", 99, []uint64{0}),
		deleteShardsCall("p", nil),
		deleteShardsCall("p", []uint64{0}),
	}
}

// snapshot returns every offset stored, stopping the case if Snapshot
// fails.
func (h *adminHarness) snapshot() []*egopb.Offset {
	h.t.Helper()
	got, err := h.admin.Snapshot(h.t.Context())
	if err != nil {
		h.fatalf("Snapshot(ctx) = %s, %v; want <nil> error", offsetsString(got), err)
	}
	return got
}

// wantSnapshot reports unless the store holds exactly want, which is
// sorted as Snapshot sorts.
func (h *adminHarness) wantSnapshot(when string, want ...*egopb.Offset) {
	h.t.Helper()
	if got := h.snapshot(); !sameOffsets(got, want) {
		h.errorf("%s: Snapshot(ctx) = %s, <nil>; want %s, <nil>", when, offsetsString(got), offsetsString(want))
	}
}

// wantResult reports unless the offsets a call returned are want.
func (h *adminHarness) wantResult(c call, got, want []*egopb.Offset, err error) {
	h.t.Helper()
	if err != nil || got == nil && len(want) != 0 || !sameOffsets(got, want) {
		h.errorf("%s = %s, %v; want %s, <nil>", c.name, offsetsString(got), err, offsetsString(want))
	}
}

func sameOffsets(a, b []*egopb.Offset) bool {
	return slices.EqualFunc(a, b, sameOffset)
}

func offsetsString(offsets []*egopb.Offset) string {
	if offsets == nil {
		return "[] (nil)"
	}
	parts := make([]string, len(offsets))
	for i, o := range offsets {
		parts[i] = offsetString(o)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func shardsString(shards []uint64) string {
	if shards == nil {
		return "nil"
	}
	return fmt.Sprint(shards)
}
