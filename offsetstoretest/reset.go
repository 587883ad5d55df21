package offsetstoretest

import (
	"math"
	"slices"

	"github.com/ego-contrib/offsetstore/egopb"
)

func testResetAllShards(h *harness) {
	shards := []uint64{0, 1, 2, 7, math.MaxUint64}
	for i, shard := range shards {
		h.write(newOffset("p", shard, int64(10+i), 1))
	}
	// 3 is below every value written: a reset may move an offset back.
	before, after := h.reset("p", 3)
	for _, shard := range shards {
		h.wantReset("p", shard, 3, before, after)
	}
}

func testResetOtherProjectionsUntouched(h *harness) {
	var others []*egopb.Offset
	for _, name := range []string{"p", "p2", "pp", "P"} {
		for shard := range uint64(2) {
			o := newOffset(name, shard, 10, 20)
			h.write(o)
			if name != "p" {
				others = append(others, o)
			}
		}
	}
	before, after := h.reset("p", 3)
	h.wantReset("p", 0, 3, before, after)
	h.wantReset("p", 1, 3, before, after)
	h.wantStored(others...)
}

func testResetUnknownProjection(h *harness) {
	h.reset("p", 3)
	others := []*egopb.Offset{newOffset("q", 0, 5, 10), newOffset("pp", 0, 6, 11)}
	h.write(others...)
	h.reset("p", 3)
	for _, shard := range []uint64{0, 1, math.MaxUint64} {
		h.wantOffset("p", shard, nil)
	}
	h.wantStored(others...)
}

func testResetThenWrite(h *harness) {
	h.write(newOffset("p", 0, 10, 1), newOffset("p", 1, 11, 1))
	before, after := h.reset("p", 3)
	// Lower than the reset value and stamped earlier than the reset, and
	// still the latest write.
	o := newOffset("p", 0, 1, 2)
	h.write(o)
	h.wantStored(o)
	h.wantReset("p", 1, 3, before, after)

	h.write(newOffset("p", 2, 5, 6))
	before, after = h.reset("p", 4)
	for shard := range uint64(3) {
		h.wantReset("p", shard, 4, before, after)
	}
}

func testResetAtomic(h *harness) {
	const (
		shards  = 8
		resets  = 200
		readers = 4
	)
	ctx := h.t.Context()
	var order []uint64
	for shard := range uint64(shards) {
		order = append(order, shard)
		h.write(newOffset("p", shard, 0, 0))
	}
	reversed := slices.Clone(order)
	slices.Reverse(reversed)

	// Every shard starts at 0 and each reset moves all of them to the next
	// value, so while resets are atomic all shards always hold the same
	// value, and one reader can never read a lower value after a higher
	// one, whatever order it reads the shards in. A reset that moves shards
	// one by one breaks that for a reader going the other way, so readers
	// go both ways.
	resetter := func() {
		for v := int64(1); v <= resets; v++ {
			if err := h.store.ResetOffset(ctx, "p", v); err != nil {
				h.errorf("%s = %v; want <nil>", resetCall("p", v).name, err)
				return
			}
		}
	}
	var followers []func() bool
	for r := range readers {
		order := order
		if r%2 == 1 {
			order = reversed
		}
		var last *egopb.Offset
		followers = append(followers, func() bool {
			for _, shard := range order {
				o, ok := h.readOnward(ctx, newID("p", shard), last)
				if !ok {
					return false
				}
				last = o
			}
			return true
		})
	}
	race([]func(){resetter}, followers)
	for _, shard := range order {
		if o := h.get("p", shard); o.Value != resets {
			h.errorf("%s = %s, <nil>; want value %d", getName(newID("p", shard)), offsetString(o), resets)
		}
	}
}
