package offsetstoretest

import (
	"math"
	"slices"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
)

// sortedFixture is a store's content sorted as Admin sorts: names byte by
// byte ("B" before "a", "p" before "pp", "é" last), shards as uint64 (1<<63
// and above after every shard a signed column would put first).
var sortedFixture = []*egopb.Offset{
	newOffset("B", 3, 1, 100),
	newOffset("a", 0, 2, 101),
	newOffset("p", 0, 7, 300),
	newOffset("p", 5, -3, 200),
	newOffset("p", 1<<63-1, 12, 250),
	newOffset("p", 1<<63, math.MinInt64, 50),
	newOffset("p", math.MaxUint64, math.MaxInt64, 150),
	newOffset("pp", 2, 4, 102),
	newOffset("é", 1, 5, 103),
}

// writeShuffled writes offsets in another order than sorted: last first,
// then every other one.
func (h *adminHarness) writeShuffled(offsets []*egopb.Offset) {
	h.t.Helper()
	order := slices.Clone(offsets)
	slices.Reverse(order)
	for i := 0; i < len(order); i += 2 {
		h.write(order[i])
	}
	for i := 1; i < len(order); i += 2 {
		h.write(order[i])
	}
}

func testProjectionsSummarise(h *adminHarness) {
	if got, err := h.admin.Projections(h.t.Context()); err != nil || len(got) != 0 {
		h.errorf("Projections(ctx) of an empty store = %+v, %v; want [], <nil>", got, err)
	}
	h.writeShuffled(sortedFixture)
	want := []offsetstore.ProjectionSummary{
		{Name: "B", Shards: 1, MinValue: 1, MaxValue: 1, LastUpdate: 100},
		{Name: "a", Shards: 1, MinValue: 2, MaxValue: 2, LastUpdate: 101},
		{Name: "p", Shards: 5, MinValue: math.MinInt64, MaxValue: math.MaxInt64, LastUpdate: 300},
		{Name: "pp", Shards: 1, MinValue: 4, MaxValue: 4, LastUpdate: 102},
		{Name: "é", Shards: 1, MinValue: 5, MaxValue: 5, LastUpdate: 103},
	}
	if got, err := h.admin.Projections(h.t.Context()); err != nil || !slices.Equal(got, want) {
		h.errorf("Projections(ctx) = %+v, %v; want %+v, <nil>", got, err, want)
	}
}

func testOffsetsSortedByShard(h *adminHarness) {
	h.writeShuffled(sortedFixture)
	want := slices.DeleteFunc(slices.Clone(sortedFixture), func(o *egopb.Offset) bool { return o.ProjectionName != "p" })
	c := offsetsCall("p")
	got, err := h.admin.Offsets(h.t.Context(), "p")
	h.wantResult(c, got, want, err)

	c = offsetsCall("unknown")
	got, err = h.admin.Offsets(h.t.Context(), "unknown")
	if err != nil || got == nil || len(got) != 0 {
		h.errorf("%s = %s, %v; want [] (empty, not nil), <nil>", c.name, offsetsString(got), err)
	}
}

func testSnapshotSorted(h *adminHarness) {
	if got := h.snapshot(); len(got) != 0 {
		h.errorf("Snapshot(ctx) of an empty store = %s, <nil>; want [], <nil>", offsetsString(got))
	}
	h.writeShuffled(sortedFixture)
	h.wantSnapshot("after writing in another order", sortedFixture...)
}

func testReadsAreCopies(h *adminHarness) {
	h.write(sortedFixture...)
	spoil := func(offsets []*egopb.Offset) {
		for _, o := range offsets {
			o.Value, o.Timestamp, o.ProjectionName = ^o.Value, ^o.Timestamp, "x"+o.ProjectionName
		}
	}
	got, err := h.admin.Offsets(h.t.Context(), "p")
	if err != nil {
		h.fatalf("Offsets(ctx, \"p\") = %s, %v; want <nil> error", offsetsString(got), err)
	}
	spoil(got)
	spoil(h.snapshot())
	h.wantSnapshot("after changing what Offsets and Snapshot returned", sortedFixture...)
}
