package offsetstoretest

import (
	"math"

	"github.com/ego-contrib/offsetstore/egopb"
)

func testLastWriteWins(h *harness) {
	// Reading after every write catches a store that drops or reorders
	// some writes, not just one that gets the final one wrong.
	for _, v := range []int64{5, 10, 3, 0, -7, math.MaxInt64, math.MinInt64, 1} {
		o := newOffset("p", 1, v, 100)
		h.write(o)
		h.wantStored(o)
	}
}

func testTimestampAsGiven(h *harness) {
	var offsets []*egopb.Offset
	for i, ts := range []int64{0, -1, 1, math.MinInt64, math.MaxInt64, 1_700_000_000_000} {
		offsets = append(offsets, newOffset("p", uint64(i), 5, ts))
	}
	h.write(offsets...)
	h.wantStored(offsets...)
}

func testKeysAreDistinct(h *harness) {
	// Each key here is one that some database would fold into another by
	// default: by case, accent, trailing space, or by storing a uint64 in a
	// signed column.
	keys := []*egopb.ProjectionId{
		newID("acct", 0), newID("Acct", 0), newID("ACCT", 0),
		newID("acct ", 0), newID("café", 0), newID("cafe", 0), newID("счёт", 0),
		newID("acct", 1), newID("acct", 1<<63), newID("acct", math.MaxUint64),
	}
	var offsets []*egopb.Offset
	for i, id := range keys {
		offsets = append(offsets, newOffset(id.ProjectionName, id.ShardNumber, int64(i+1), int64(i+100)))
	}
	h.write(offsets...)
	h.wantStored(offsets...)
}

func testAbsentIsNil(h *harness) {
	h.wantOffset("p", 0, nil)
	h.write(newOffset("pp", 1, 5, 10))
	for _, id := range []*egopb.ProjectionId{
		newID("pp", 0), newID("pp", 2), newID("pp", math.MaxUint64),
		newID("p", 1), newID("ppp", 1), newID("PP", 1),
	} {
		h.wantOffset(id.ProjectionName, id.ShardNumber, nil)
	}
}

func testCopyIn(h *harness) {
	o := newOffset("p", 1, 5, 10)
	h.write(o)
	o.ProjectionName, o.ShardNumber, o.Value, o.Timestamp = "q", 2, 6, 11
	h.wantOffset("p", 1, newOffset("p", 1, 5, 10))
	h.wantOffset("q", 2, nil)
}

func testCopyOut(h *harness) {
	want := newOffset("p", 1, 5, 10)
	h.write(want)
	a, b := h.get("p", 1), h.get("p", 1)
	if a == b {
		h.errorf("%s returned %p twice; want a new Offset each time", getName(newID("p", 1)), a)
	}
	a.ProjectionName, a.ShardNumber, a.Value, a.Timestamp = "q", 2, 6, 11
	h.wantStored(want)
}
