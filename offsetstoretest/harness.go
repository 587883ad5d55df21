package offsetstoretest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
)

// A harness is one case's hold on the store under test. It carries the
// rule the case checks, so that every failure message can end with it.
//
// errorf may be called from any goroutine; the methods that stop the case
// when a call fails (fatalf, must, write, reset, get) only from the case's
// own.
type harness struct {
	t     *testing.T
	store offsetstore.OffsetStore
	rule  string
}

func (h *harness) errorf(format string, args ...any) {
	h.t.Helper()
	h.t.Errorf("%s: %s", fmt.Sprintf(format, args...), h.rule)
}

func (h *harness) fatalf(format string, args ...any) {
	h.t.Helper()
	h.t.Fatalf("%s: %s", fmt.Sprintf(format, args...), h.rule)
}

// A call is one method of a store applied to fixed arguments, with the name
// failure messages give it.
type call struct {
	name string
	// do makes the call, returning its results formatted for a failure
	// message and its error.
	do func(context.Context, offsetstore.OffsetStore) (string, error)
}

// errCall makes a call of a method that returns only an error.
func errCall(name string, f func(offsetstore.OffsetStore, context.Context) error) call {
	return call{name: name, do: func(ctx context.Context, s offsetstore.OffsetStore) (string, error) {
		err := f(s, ctx)
		return fmt.Sprint(err), err
	}}
}

var (
	connectCall    = errCall("Connect(ctx)", offsetstore.OffsetStore.Connect)
	disconnectCall = errCall("Disconnect(ctx)", offsetstore.OffsetStore.Disconnect)
	pingCall       = errCall("Ping(ctx)", offsetstore.OffsetStore.Ping)
)

func writeCall(o *egopb.Offset) call {
	return errCall(fmt.Sprintf("WriteOffset(ctx, %s)", offsetString(o)),
		func(s offsetstore.OffsetStore, ctx context.Context) error { return s.WriteOffset(ctx, o) })
}

func resetCall(name string, value int64) call {
	return errCall(fmt.Sprintf("ResetOffset(ctx, %s, %d)", nameString(name), value),
		func(s offsetstore.OffsetStore, ctx context.Context) error { return s.ResetOffset(ctx, name, value) })
}

func getCall(id *egopb.ProjectionId) call {
	return call{
		name: getName(id),
		do: func(ctx context.Context, s offsetstore.OffsetStore) (string, error) {
			o, err := s.GetCurrentOffset(ctx, id)
			return fmt.Sprintf("%s, %v", offsetString(o), err), err
		},
	}
}

// must makes c and stops the case unless it succeeds.
func (h *harness) must(c call) {
	h.t.Helper()
	if got, err := c.do(h.t.Context(), h.store); err != nil {
		h.fatalf("%s = %s; want <nil>", c.name, got)
	}
}

// write writes offsets in order, stopping the case unless all succeed.
func (h *harness) write(offsets ...*egopb.Offset) {
	h.t.Helper()
	for _, o := range offsets {
		h.must(writeCall(o))
	}
}

// reset resets projection name to value, stopping the case unless it
// succeeds. It returns readings of the clock taken just before and just
// after the call, in Unix milliseconds, between which the store must have
// stamped the reset.
func (h *harness) reset(name string, value int64) (before, after int64) {
	h.t.Helper()
	before = time.Now().UnixMilli()
	h.must(resetCall(name, value))
	return before, time.Now().UnixMilli()
}

// get returns the offset stored for name and shard, stopping the case if
// there is none.
func (h *harness) get(name string, shard uint64) *egopb.Offset {
	h.t.Helper()
	id := newID(name, shard)
	o, err := h.store.GetCurrentOffset(h.t.Context(), id)
	if o == nil || err != nil {
		h.fatalf("%s = %s, %v; want an offset, <nil>", getName(id), offsetString(o), err)
	}
	return o
}

// wantOffset reports unless GetCurrentOffset of name and shard returns
// want; a nil want means that nothing may be stored there.
func (h *harness) wantOffset(name string, shard uint64, want *egopb.Offset) {
	h.t.Helper()
	id := newID(name, shard)
	o, err := h.store.GetCurrentOffset(h.t.Context(), id)
	if !sameOffset(o, want) || err != nil {
		h.errorf("%s = %s, %v; want %s, <nil>", getName(id), offsetString(o), err, offsetString(want))
	}
}

// wantStored reports unless each of offsets is stored, as it is, under its
// own projection name and shard.
func (h *harness) wantStored(offsets ...*egopb.Offset) {
	h.t.Helper()
	for _, o := range offsets {
		h.wantOffset(o.ProjectionName, o.ShardNumber, o)
	}
}

// wantReset reports unless the offset of name and shard holds value and a
// timestamp from before to after, inclusive.
func (h *harness) wantReset(name string, shard uint64, value, before, after int64) {
	h.t.Helper()
	id := newID(name, shard)
	o, err := h.store.GetCurrentOffset(h.t.Context(), id)
	if o == nil || err != nil || o.ProjectionName != name || o.ShardNumber != shard ||
		o.Value != value || o.Timestamp < before || o.Timestamp > after {
		h.errorf("%s = %s, %v; want {%s %d value:%d timestamp:[%d, %d]}, <nil>",
			getName(id), offsetString(o), err, nameString(name), shard, value, before, after)
	}
}

// wantErr makes c with ctx and reports unless it fails with an error
// wrapping target, which it returns. It reports a panic instead of letting
// it end the test binary, since a store that panics on bad input or when not
// connected is a broken rule like any other.
func (h *harness) wantErr(ctx context.Context, c call, target error) (err error) {
	h.t.Helper()
	defer func() {
		if p := recover(); p != nil {
			h.t.Helper()
			h.errorf("%s panicked: %v; want an error wrapping %s", c.name, p, errName(target))
		}
	}()
	got, err := c.do(ctx, h.store)
	if !errors.Is(err, target) {
		h.errorf("%s = %s; want an error wrapping %s", c.name, got, errName(target))
	}
	return err
}

// wantInvalid makes c, which passes bad input, and reports unless it fails
// with an error wrapping [offsetstore.ErrInvalidArgument] that says more
// than that.
func (h *harness) wantInvalid(c call) {
	h.t.Helper()
	err := h.wantErr(h.t.Context(), c, offsetstore.ErrInvalidArgument)
	if err != nil && err.Error() == offsetstore.ErrInvalidArgument.Error() {
		h.errorf("%s = %v; want an error that says what was wrong", c.name, err)
	}
}

func errName(err error) string {
	switch err {
	case offsetstore.ErrNotConnected:
		return "offsetstore.ErrNotConnected"
	case offsetstore.ErrInvalidArgument:
		return "offsetstore.ErrInvalidArgument"
	case context.Canceled:
		return "context.Canceled"
	case context.DeadlineExceeded:
		return "context.DeadlineExceeded"
	}
	return fmt.Sprintf("%q", err)
}

func newOffset(name string, shard uint64, value, timestamp int64) *egopb.Offset {
	return &egopb.Offset{ProjectionName: name, ShardNumber: shard, Value: value, Timestamp: timestamp}
}

func newID(name string, shard uint64) *egopb.ProjectionId {
	return &egopb.ProjectionId{ProjectionName: name, ShardNumber: shard}
}

// sameOffset reports whether a and b are both nil or hold the same fields.
func sameOffset(a, b *egopb.Offset) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.ProjectionName == b.ProjectionName && a.ShardNumber == b.ShardNumber &&
		a.Value == b.Value && a.Timestamp == b.Timestamp
}

// offsetString formats o for failure messages; the generated String method
// varies its spacing from run to run, on purpose.
func offsetString(o *egopb.Offset) string {
	if o == nil {
		return "<nil>"
	}
	return fmt.Sprintf("{%s %d value:%d timestamp:%d}", nameString(o.ProjectionName), o.ShardNumber, o.Value, o.Timestamp)
}

func getName(id *egopb.ProjectionId) string {
	return fmt.Sprintf("GetCurrentOffset(ctx, %s)", idString(id))
}

func idString(id *egopb.ProjectionId) string {
	if id == nil {
		return "<nil>"
	}
	return fmt.Sprintf("{%s %d}", nameString(id.ProjectionName), id.ShardNumber)
}

// nameString quotes name for a failure message, shortening a long one.
func nameString(name string) string {
	const keep = 24
	if len(name) <= 2*keep {
		return fmt.Sprintf("%q", name)
	}
	return fmt.Sprintf("%q…%q (%d bytes)", name[:keep], name[len(name)-keep:], len(name))
}
