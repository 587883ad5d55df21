package offsetstoretest

import (
	"math"
	"slices"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/shardlayout"
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
	h.resetAtomic("dense", shardlayout.Dense(16))
	h.resetAtomic("sparse", shardlayout.Ego(16))
}

// resetAtomic resets projection name, whose offsets are on shards, over
// and over, while readers check that no reset is ever seen half done.
func (h *harness) resetAtomic(name string, shards []uint64) {
	h.t.Helper()
	const (
		resets = 500
		reads  = 8000
	)
	ctx := h.t.Context()
	for _, shard := range shards {
		h.write(newOffset(name, shard, 0, 0))
	}
	first, last := shards[0], shards[len(shards)-1]
	reversed := slices.Clone(shards)
	slices.Reverse(reversed)

	// Every shard starts at 0 and each reset moves all of them to the next
	// value, so while resets are atomic all shards always hold the same
	// value, and one reader can never read a lower value after a higher
	// one, whatever order it reads the shards in. A reset that moves
	// shards one at a time, in whatever order, breaks that for a reader
	// that reads a shard it moves early and then one it moves late. The
	// first reader goes back and forth between the first shard written
	// and the last, as fast as it can, so that both orders are tried at
	// every reset; the others sweep every shard, one each way.
	var reached int64
	resetter := func(i int) bool {
		v := int64(i + 1)
		if err := h.store.ResetOffset(ctx, name, v); err != nil {
			h.errorf("%s = %v; want <nil>", resetCall(name, v).name, err)
			return false
		}
		reached = v
		return true
	}
	follow := func(order []uint64) racer {
		var seen *egopb.Offset
		return func(i int) bool {
			o, ok := h.readOnward(ctx, newID(name, order[i%len(order)]), seen)
			seen = o
			return ok
		}
	}
	race(resets, reads, []racer{resetter},
		[]racer{follow([]uint64{first, last}), follow(shards), follow(reversed)})
	for _, shard := range shards {
		if o := h.get(name, shard); o.Value != reached {
			h.errorf("%s = %s, <nil>; want value %d, the last reset's", getName(newID(name, shard)), offsetString(o), reached)
		}
	}
}
