package offsetstoretest

import (
	"context"
	"time"

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
