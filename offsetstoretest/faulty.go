package offsetstoretest

import (
	"context"
	"fmt"
	"sync"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
)

// An Op names a method of [offsetstore.OffsetStore], for choosing which
// calls of a [FaultyStore] fail.
type Op int

// The methods of [offsetstore.OffsetStore].
const (
	OpConnect Op = iota
	OpDisconnect
	OpPing
	OpWriteOffset
	OpGetCurrentOffset
	OpResetOffset
	numOps
)

var opNames = [numOps]string{
	OpConnect:          "Connect",
	OpDisconnect:       "Disconnect",
	OpPing:             "Ping",
	OpWriteOffset:      "WriteOffset",
	OpGetCurrentOffset: "GetCurrentOffset",
	OpResetOffset:      "ResetOffset",
}

// String returns the name of the method op stands for, such as
// "WriteOffset", or "Op(7)" for a value that stands for none.
func (op Op) String() string {
	if !op.valid() {
		return fmt.Sprintf("Op(%d)", int(op))
	}
	return opNames[op]
}

func (op Op) valid() bool { return op >= 0 && op < numOps }

// A FaultyStore is an [offsetstore.OffsetStore] that passes every call to
// another store, except the calls it has been told to fail with
// [FaultyStore.FailNext]. It counts the calls it receives.
//
// A FaultyStore is safe for concurrent use if the store it wraps is. The
// wrapped store is called without any lock held.
type FaultyStore struct {
	inner offsetstore.OffsetStore

	mu    sync.Mutex
	calls [numOps]int
	fails [numOps]fault
}

// A fault is a run of calls of one method that fail without reaching the
// inner store.
type fault struct {
	n   int
	err error
}

var _ offsetstore.OffsetStore = (*FaultyStore)(nil)

// NewFaultyStore returns a [FaultyStore] that passes calls to inner and fails
// none of them until told to.
func NewFaultyStore(inner offsetstore.OffsetStore) *FaultyStore {
	return &FaultyStore{inner: inner}
}

// FailNext makes the next n calls of op return err without reaching the
// inner store; calls of [FaultyStore.GetCurrentOffset] return a nil offset
// with it. It replaces what an earlier FailNext set for op, and n <= 0 stops
// calls of op failing.
//
// A nil err makes the calls succeed without reaching the inner store: a
// write that is acknowledged and lost, a read that finds nothing.
//
// FailNext panics if op is not one of the Op constants.
func (f *FaultyStore) FailNext(op Op, n int, err error) {
	if !op.valid() {
		panic(fmt.Sprintf("offsetstoretest: FailNext(%v, ...): no such Op", op))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fails[op] = fault{n: max(n, 0), err: err}
}

// Calls returns how many calls of op the store has received, the ones that
// failed included. It returns 0 for a value of op that names no method.
func (f *FaultyStore) Calls(op Op) int {
	if !op.valid() {
		return 0
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

// intercept counts a call of op and reports whether it must fail, and with
// what error.
func (f *FaultyStore) intercept(op Op) (fail bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[op]++
	if ft := &f.fails[op]; ft.n > 0 {
		ft.n--
		return true, ft.err
	}
	return false, nil
}

// Connect connects the inner store, unless the call is to fail.
func (f *FaultyStore) Connect(ctx context.Context) error {
	if fail, err := f.intercept(OpConnect); fail {
		return err
	}
	return f.inner.Connect(ctx)
}

// Disconnect disconnects the inner store, unless the call is to fail.
func (f *FaultyStore) Disconnect(ctx context.Context) error {
	if fail, err := f.intercept(OpDisconnect); fail {
		return err
	}
	return f.inner.Disconnect(ctx)
}

// Ping pings the inner store, unless the call is to fail.
func (f *FaultyStore) Ping(ctx context.Context) error {
	if fail, err := f.intercept(OpPing); fail {
		return err
	}
	return f.inner.Ping(ctx)
}

// WriteOffset writes offset to the inner store, unless the call is to fail.
func (f *FaultyStore) WriteOffset(ctx context.Context, offset *egopb.Offset) error {
	if fail, err := f.intercept(OpWriteOffset); fail {
		return err
	}
	return f.inner.WriteOffset(ctx, offset)
}

// GetCurrentOffset reads the offset of projectionID from the inner store,
// unless the call is to fail.
func (f *FaultyStore) GetCurrentOffset(ctx context.Context, projectionID *egopb.ProjectionId) (*egopb.Offset, error) {
	if fail, err := f.intercept(OpGetCurrentOffset); fail {
		return nil, err
	}
	return f.inner.GetCurrentOffset(ctx, projectionID)
}

// ResetOffset resets projectionName in the inner store, unless the call is
// to fail.
func (f *FaultyStore) ResetOffset(ctx context.Context, projectionName string, value int64) error {
	if fail, err := f.intercept(OpResetOffset); fail {
		return err
	}
	return f.inner.ResetOffset(ctx, projectionName, value)
}
