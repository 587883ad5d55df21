package offsetstoretest

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
)

// badNames are projection names a store must refuse. "\xff" and "p\xff"
// are what a store that repairs bad UTF-8 would turn into "\uFFFD",
// "p\uFFFD" or "p", which is why seedValid writes offsets under those.
var badNames = []string{"", "\xff", "p\xff"}

// seedValid writes offsets under names that a store which repaired bad
// names instead of refusing them would write over or reset, and returns
// them.
func (h *harness) seedValid() []*egopb.Offset {
	h.t.Helper()
	seeds := []*egopb.Offset{newOffset("p", 1, 5, 10), newOffset("\uFFFD", 1, 6, 11)}
	h.write(seeds...)
	return seeds
}

func testWriteInvalidArgument(h *harness) {
	seeds := h.seedValid()
	h.wantInvalid(writeCall(nil))
	for _, name := range badNames {
		h.wantInvalid(writeCall(newOffset(name, 1, 99, 99)))
	}
	h.wantStored(seeds...)
	h.wantOffset("p\uFFFD", 1, nil)
}

func testGetInvalidArgument(h *harness) {
	seeds := h.seedValid()
	h.wantInvalid(getCall(nil))
	for _, name := range badNames {
		h.wantInvalid(getCall(newID(name, 1)))
	}
	h.wantStored(seeds...)
}

func testResetInvalidArgument(h *harness) {
	seeds := h.seedValid()
	for _, name := range badNames {
		h.wantInvalid(resetCall(name, 99))
	}
	h.wantStored(seeds...)
}

func testContextCanceled(h *harness) {
	ctx, cancel := context.WithCancel(h.t.Context())
	cancel()
	h.wantDoneRefused(ctx)
}

func testContextDeadlineExceeded(h *harness) {
	ctx, cancel := context.WithDeadline(h.t.Context(), time.Now().Add(-time.Second))
	defer cancel()
	h.wantDoneRefused(ctx)
}

// wantDoneRefused reports unless every call that reads or changes offsets
// with ctx, which is done, fails with ctx's error and changes nothing.
func (h *harness) wantDoneRefused(ctx context.Context) {
	h.t.Helper()
	seeds := []*egopb.Offset{newOffset("p", 0, 5, 10), newOffset("p", 1, 6, 11)}
	h.write(seeds...)
	calls := []call{
		writeCall(newOffset("p", 0, 99, 99)),
		writeCall(newOffset("q", 0, 99, 99)),
		getCall(newID("p", 0)),
		resetCall("p", 99),
	}
	for _, c := range calls {
		h.wantErr(ctx, c, ctx.Err())
	}
	h.wantStored(seeds...)
	h.wantOffset("q", 0, nil)
}

// testErrorOrder calls WriteOffset, GetCurrentOffset and ResetOffset with
// every mix of a done context, bad input and a disconnected store, and
// wants the first error that applies, alone.
func testErrorOrder(h *harness) {
	done, cancel := context.WithCancel(h.t.Context())
	cancel()
	bad := []call{
		writeCall(nil),
		writeCall(newOffset("", 1, 5, 10)),
		getCall(nil),
		getCall(newID("\xff", 1)),
		resetCall("", 7),
	}
	for _, c := range bad {
		h.wantFirst(done, c, context.Canceled)
	}
	h.must(disconnectCall)
	for _, c := range bad {
		h.wantFirst(done, c, context.Canceled)
		h.wantFirst(h.t.Context(), c, offsetstore.ErrInvalidArgument)
	}
	for _, c := range dataCalls() {
		h.wantFirst(done, c, context.Canceled)
	}
}

// wantFirst makes c with ctx and reports unless it fails with an error
// wrapping want and none of the errors that rank after it.
func (h *harness) wantFirst(ctx context.Context, c call, want error) {
	h.t.Helper()
	err := h.wantErr(ctx, c, want)
	if !errors.Is(err, want) {
		return
	}
	ranked := []error{context.Canceled, offsetstore.ErrInvalidArgument, offsetstore.ErrNotConnected}
	later := ranked[slices.Index(ranked, want)+1:]
	for _, other := range later {
		if errors.Is(err, other) {
			h.errorf("%s = %v; want an error wrapping %s only, not %s too", c.name, err, errName(want), errName(other))
		}
	}
}
