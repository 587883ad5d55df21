package offsetstoretest

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/shardlayout"
)

func testWriteOffsetsWritesAll(h *adminHarness) {
	kept := newOffset("p", 2, 5, 10)
	h.write(newOffset("p", 0, 50, 60), kept, newOffset("q", 1, 7, 8))
	in := []*egopb.Offset{
		newOffset("p", 0, 3, 4), // lower than stored, and still the latest
		newOffset("q", 1, 9, 70),
		newOffset("q", 5, 11, 71),
		newOffset("r", 0, 12, 72),
	}
	want := clones([]*egopb.Offset{in[0], kept, in[1], in[2], in[3]})
	h.must(writeOffsetsCall(in))
	// Copy in: the caller may reuse its messages.
	for _, o := range in {
		o.Value, o.Timestamp = ^o.Value, ^o.Timestamp
	}
	h.wantSnapshot("after WriteOffsets, its offsets then changed by the caller", want...)
	h.must(writeOffsetsCall([]*egopb.Offset{}))
	h.must(writeOffsetsCall(nil))
	h.wantSnapshot("after WriteOffsets of nothing", want...)
}

func testWriteOffsetsAllOrNone(h *adminHarness) {
	seeds := []*egopb.Offset{newOffset("p", 0, 5, 10), newOffset("p", 1, 6, 11)}
	h.write(seeds...)
	good := newOffset("p", 0, 99, 99)
	fresh := newOffset("q", 0, 99, 99)
	for _, offsets := range [][]*egopb.Offset{
		{good, fresh, nil},
		{good, fresh, newOffset("", 1, 99, 99)},
		{good, fresh, newOffset("p\xff", 1, 99, 99)},
		{good, fresh, newOffset("p", 0, 98, 98)},
	} {
		h.wantInvalid(writeOffsetsCall(offsets))
	}
	h.wantSnapshot("after refused WriteOffsets", seeds...)
}

func testResetShardsSome(h *adminHarness) {
	p0, p1, p7 := newOffset("p", 0, 10, 20), newOffset("p", 1, 11, 21), newOffset("p", 7, 12, 22)
	others := []*egopb.Offset{newOffset("pp", 1, 13, 23), newOffset("q", 7, 14, 24)}
	h.write(append([]*egopb.Offset{p0, p1, p7}, others...)...)

	// Unsorted, repeated, and naming a shard with no offset.
	c := resetShardsCall("p", 3, []uint64{7, 99, 1, 7})
	before := time.Now().UnixMilli()
	got, err := h.admin.ResetShards(h.t.Context(), "p", 3, []uint64{7, 99, 1, 7})
	after := time.Now().UnixMilli()
	h.wantResult(c, got, []*egopb.Offset{p1, p7}, err)
	h.wantReset("p", 1, 3, before, after)
	h.wantReset("p", 7, 3, before, after)
	h.wantStored(p0)
	h.wantStored(others...)
	h.wantOffset("p", 99, nil)
}

func testResetShardsAll(h *adminHarness) {
	shards := []uint64{9, 0, 1 << 63, 2}
	var written []*egopb.Offset
	for i, shard := range shards {
		o := newOffset("p", shard, int64(10+i), int64(20+i))
		written = append(written, o)
	}
	other := newOffset("pp", 0, 1, 2)
	h.write(append(slices.Clone(written), other)...)

	c := resetShardsCall("p", -1, nil)
	before := time.Now().UnixMilli()
	got, err := h.admin.ResetShards(h.t.Context(), "p", -1, nil)
	after := time.Now().UnixMilli()
	h.wantResult(c, got, sortedOffsets(written), err)
	for _, shard := range shards {
		h.wantReset("p", shard, -1, before, after)
	}
	h.wantStored(other)

	c = resetShardsCall("unknown", 5, nil)
	got, err = h.admin.ResetShards(h.t.Context(), "unknown", 5, nil)
	h.wantResult(c, got, nil, err)
	h.wantOffset("unknown", 0, nil)
}

func testResetShardsNone(h *adminHarness) {
	seeds := []*egopb.Offset{newOffset("p", 0, 5, 10), newOffset("p", 1, 6, 11)}
	h.write(seeds...)
	c := resetShardsCall("p", 99, []uint64{})
	got, err := h.admin.ResetShards(h.t.Context(), "p", 99, []uint64{})
	h.wantResult(c, got, nil, err)
	h.wantSnapshot("after ResetShards of no shard", seeds...)
}

func testDeleteShardsSome(h *adminHarness) {
	p0, p1, p5 := newOffset("p", 0, 10, 20), newOffset("p", 1, 11, 21), newOffset("p", 5, 12, 22)
	other := newOffset("q", 1, 13, 23)
	h.write(p0, p1, p5, other)

	c := deleteShardsCall("p", []uint64{5, 99, 1, 5})
	got, err := h.admin.DeleteShards(h.t.Context(), "p", []uint64{5, 99, 1, 5})
	h.wantResult(c, got, []*egopb.Offset{p1, p5}, err)
	h.wantSnapshot("after DeleteShards", p0, other)
	// A reset must not bring a deleted offset back.
	before, after := h.reset("p", 3)
	h.wantReset("p", 0, 3, before, after)
	h.wantOffset("p", 1, nil)
	h.wantOffset("p", 5, nil)

	c = deleteShardsCall("p", []uint64{1})
	got, err = h.admin.DeleteShards(h.t.Context(), "p", []uint64{1})
	h.wantResult(c, got, nil, err)
}

func testDeleteShardsAll(h *adminHarness) {
	written := []*egopb.Offset{newOffset("p", 4, 10, 20), newOffset("p", 0, 11, 21), newOffset("p", 1<<63, 12, 22)}
	other := newOffset("pp", 0, 1, 2)
	h.write(append(slices.Clone(written), other)...)

	c := deleteShardsCall("p", nil)
	got, err := h.admin.DeleteShards(h.t.Context(), "p", nil)
	h.wantResult(c, got, sortedOffsets(written), err)
	h.wantSnapshot("after DeleteShards of every shard", other)
	h.reset("p", 3)
	h.wantSnapshot("after DeleteShards of every shard and a reset", other)
	want := []offsetstore.ProjectionSummary{{Name: "pp", Shards: 1, MinValue: 1, MaxValue: 1, LastUpdate: 2}}
	if got, err := h.admin.Projections(h.t.Context()); err != nil || !slices.Equal(got, want) {
		h.errorf("Projections(ctx) after DeleteShards of every shard of p = %+v, %v; want %+v, <nil>", got, err, want)
	}
	// The projection's name is free again.
	again := newOffset("p", 0, 1, 1)
	h.write(again)
	h.wantStored(again)
}

func testDeleteShardsNone(h *adminHarness) {
	seeds := []*egopb.Offset{newOffset("p", 0, 5, 10), newOffset("p", 1, 6, 11)}
	h.write(seeds...)
	c := deleteShardsCall("p", []uint64{})
	got, err := h.admin.DeleteShards(h.t.Context(), "p", []uint64{})
	h.wantResult(c, got, nil, err)
	h.wantSnapshot("after DeleteShards of no shard", seeds...)
}

func testAdminInvalidArgument(h *adminHarness) {
	seeds := h.seedValid()
	for _, name := range badNames {
		h.wantInvalid(offsetsCall(name))
		h.wantInvalid(resetShardsCall(name, 99, nil))
		h.wantInvalid(resetShardsCall(name, 99, []uint64{1}))
		h.wantInvalid(deleteShardsCall(name, nil))
		h.wantInvalid(deleteShardsCall(name, []uint64{1}))
	}
	h.wantSnapshot("after refused calls", sortedOffsets(seeds)...)
}

func testAdminNotConnected(h *adminHarness) {
	seeds := []*egopb.Offset{newOffset("p", 0, 5, 10)}
	h.write(seeds...)
	h.must(disconnectCall)
	for _, c := range adminCalls() {
		h.wantErr(h.t.Context(), c, offsetstore.ErrNotConnected)
	}
	h.must(connectCall)
	// A store may drop its offsets on Disconnect; it must not have
	// changed them.
	if got := h.snapshot(); len(got) != 0 && !sameOffsets(got, seeds) {
		h.errorf("Snapshot(ctx) after calls refused while disconnected = %s; want %s or nothing", offsetsString(got), offsetsString(seeds))
	}
}

func testAdminContextDone(h *adminHarness) {
	seeds := []*egopb.Offset{newOffset("p", 0, 5, 10), newOffset("p", 1, 6, 11)}
	h.write(seeds...)
	ctx, cancel := context.WithCancel(h.t.Context())
	cancel()
	for _, c := range adminCalls() {
		h.wantErr(ctx, c, context.Canceled)
	}
	h.wantSnapshot("after calls with a cancelled context", seeds...)
}

// The atomicity cases change a projection's shards, laid out as eGo lays
// them out, again and again, while readers check that no Offsets (nor, for
// WriteOffsets, Snapshot) ever sees a change half made.
const (
	atomicShards  = 8
	atomicChanges = 100
	atomicReads   = 400
)

func testWriteOffsetsAtomic(h *adminHarness) {
	ctx := h.t.Context()
	shards := shardlayout.Ego(atomicShards)
	// Every call writes value i to every shard of p and q: a reader must
	// see one value everywhere.
	writeAll := func(v int64) []*egopb.Offset {
		var offsets []*egopb.Offset
		for _, name := range []string{"p", "q"} {
			for _, shard := range shards {
				offsets = append(offsets, newOffset(name, shard, v, pairedTimestamp(v)))
			}
		}
		return offsets
	}
	h.must(writeOffsetsCall(writeAll(0)))
	writer := func(i int) bool {
		c := writeOffsetsCall(writeAll(int64(i + 1)))
		if got, err := c.do(ctx, h.store); err != nil {
			h.errorf("%s = %s; want <nil>", c.name, got)
			return false
		}
		return true
	}
	oneValue := func(what string, offsets []*egopb.Offset, err error, n int) bool {
		if err != nil || len(offsets) != n || slices.ContainsFunc(offsets, func(o *egopb.Offset) bool { return o.Value != offsets[0].Value }) {
			h.errorf("%s = %s, %v; want %d offsets of one value: a reader saw a WriteOffsets half done", what, offsetsString(offsets), err, n)
			return false
		}
		return true
	}
	readOffsets := func(int) bool {
		got, err := h.admin.Offsets(ctx, "p")
		return oneValue(offsetsCall("p").name, got, err, len(shards))
	}
	readSnapshot := func(int) bool {
		got, err := h.admin.Snapshot(ctx)
		return oneValue("Snapshot(ctx)", got, err, 2*len(shards))
	}
	race(atomicChanges, atomicReads, []racer{writer}, []racer{readOffsets, readSnapshot})
}

func testResetShardsAtomic(h *adminHarness) {
	ctx := h.t.Context()
	shards := shardlayout.Ego(atomicShards)
	// Every even shard (in eGo's order) is reset, again and again, to the
	// next value; the odd ones keep -1, the value every shard starts at.
	var reset []uint64
	for i, shard := range shards {
		h.write(newOffset("p", shard, -1, 0))
		if i%2 == 0 {
			reset = append(reset, shard)
		}
	}
	resetter := func(i int) bool {
		c := resetShardsCall("p", int64(i+1), reset)
		if got, err := c.do(ctx, h.store); err != nil {
			h.errorf("%s = %s; want <nil>", c.name, got)
			return false
		}
		return true
	}
	reader := func(int) bool {
		got, err := h.admin.Offsets(ctx, "p")
		if err == nil && len(got) == len(shards) && resetTogether(got, reset) {
			return true
		}
		h.errorf("%s = %s, %v; want %d offsets, shards %v of one value, the others -1: a reader saw a ResetShards half done",
			offsetsCall("p").name, offsetsString(got), err, len(shards), reset)
		return false
	}
	race(atomicChanges, atomicReads, []racer{resetter}, []racer{reader, reader})
}

func testDeleteShardsAtomic(h *adminHarness) {
	ctx := h.t.Context()
	shards := shardlayout.Ego(atomicShards)
	deleted := shards[:atomicShards/2]
	var all []*egopb.Offset
	for _, shard := range shards {
		all = append(all, newOffset("p", shard, 1, 1))
	}
	h.write(all...)
	// Each step deletes half the shards, or writes them back.
	changer := func(i int) bool {
		c := deleteShardsCall("p", deleted)
		if i%2 == 1 {
			c = writeOffsetsCall(all[:len(deleted)])
		}
		if got, err := c.do(ctx, h.store); err != nil {
			h.errorf("%s = %s; want <nil>", c.name, got)
			return false
		}
		return true
	}
	reader := func(int) bool {
		got, err := h.admin.Offsets(ctx, "p")
		if err != nil || len(got) != len(shards) && len(got) != len(shards)-len(deleted) {
			h.errorf("%s = %s, %v; want %d or %d offsets: a reader saw a DeleteShards of %v half done",
				offsetsCall("p").name, offsetsString(got), err, len(shards), len(shards)-len(deleted), deleted)
			return false
		}
		return true
	}
	race(atomicChanges, atomicReads, []racer{changer}, []racer{reader, reader})
}

// sortedOffsets returns copies of offsets sorted as Snapshot sorts them.
func sortedOffsets(offsets []*egopb.Offset) []*egopb.Offset {
	sorted := clones(offsets)
	slices.SortFunc(sorted, func(a, b *egopb.Offset) int {
		return cmp.Or(strings.Compare(a.ProjectionName, b.ProjectionName), cmp.Compare(a.ShardNumber, b.ShardNumber))
	})
	return sorted
}

// resetTogether reports whether offsets hold one value on the shards of reset
// and -1 on the others.
func resetTogether(offsets []*egopb.Offset, reset []uint64) bool {
	values := make(map[int64]bool)
	for _, o := range offsets {
		if !slices.Contains(reset, o.ShardNumber) {
			if o.Value != -1 {
				return false
			}
			continue
		}
		values[o.Value] = true
	}
	return len(values) == 1
}

func clones(offsets []*egopb.Offset) []*egopb.Offset {
	out := make([]*egopb.Offset, len(offsets))
	for i, o := range offsets {
		out[i] = newOffset(o.ProjectionName, o.ShardNumber, o.Value, o.Timestamp)
	}
	return out
}
