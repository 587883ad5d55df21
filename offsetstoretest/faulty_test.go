package offsetstoretest_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/offsetstoretest"
)

// countingStore counts the calls that reach it, by Op, and succeeds at
// each.
type countingStore struct {
	calls [offsetstoretest.OpResetOffset + 1]atomic.Int64
}

func (s *countingStore) count(op offsetstoretest.Op) error {
	s.calls[op].Add(1)
	return nil
}

func (s *countingStore) Connect(context.Context) error {
	return s.count(offsetstoretest.OpConnect)
}

func (s *countingStore) Disconnect(context.Context) error {
	return s.count(offsetstoretest.OpDisconnect)
}

func (s *countingStore) Ping(context.Context) error {
	return s.count(offsetstoretest.OpPing)
}

func (s *countingStore) WriteOffset(context.Context, *egopb.Offset) error {
	return s.count(offsetstoretest.OpWriteOffset)
}

func (s *countingStore) GetCurrentOffset(context.Context, *egopb.ProjectionId) (*egopb.Offset, error) {
	return &egopb.Offset{ProjectionName: "p", Value: 1}, s.count(offsetstoretest.OpGetCurrentOffset)
}

func (s *countingStore) ResetOffset(context.Context, string, int64) error {
	return s.count(offsetstoretest.OpResetOffset)
}

var errBoom = errors.New("boom")

// ops calls each method of a store once, by the Op that names it.
var ops = []struct {
	op   offsetstoretest.Op
	call func(offsetstore.OffsetStore, context.Context) error
}{
	{offsetstoretest.OpConnect, offsetstore.OffsetStore.Connect},
	{offsetstoretest.OpDisconnect, offsetstore.OffsetStore.Disconnect},
	{offsetstoretest.OpPing, offsetstore.OffsetStore.Ping},
	{offsetstoretest.OpWriteOffset, func(s offsetstore.OffsetStore, ctx context.Context) error {
		return s.WriteOffset(ctx, &egopb.Offset{ProjectionName: "p", Value: 1})
	}},
	{offsetstoretest.OpGetCurrentOffset, func(s offsetstore.OffsetStore, ctx context.Context) error {
		_, err := s.GetCurrentOffset(ctx, &egopb.ProjectionId{ProjectionName: "p"})
		return err
	}},
	{offsetstoretest.OpResetOffset, func(s offsetstore.OffsetStore, ctx context.Context) error {
		return s.ResetOffset(ctx, "p", 0)
	}},
}

func TestFaultyStore_FailNext(t *testing.T) {
	for _, tt := range ops {
		t.Run(tt.op.String(), func(t *testing.T) {
			inner := &countingStore{}
			f := offsetstoretest.NewFaultyStore(inner)
			f.FailNext(tt.op, 2, errBoom)
			for i := range 2 {
				if err := tt.call(f, t.Context()); !errors.Is(err, errBoom) {
					t.Errorf("call %d of %v = %v; want %v", i+1, tt.op, err, errBoom)
				}
			}
			if n := inner.calls[tt.op].Load(); n != 0 {
				t.Errorf("inner store got %d calls of %v; want 0 while they fail", n, tt.op)
			}
			if err := tt.call(f, t.Context()); err != nil {
				t.Errorf("call 3 of %v = %v; want <nil>", tt.op, err)
			}
			if n := inner.calls[tt.op].Load(); n != 1 {
				t.Errorf("inner store got %d calls of %v; want 1 once they stop failing", n, tt.op)
			}
			if n := f.Calls(tt.op); n != 3 {
				t.Errorf("Calls(%v) = %d; want 3", tt.op, n)
			}
			for _, other := range ops {
				if n := f.Calls(other.op); other.op != tt.op && n != 0 {
					t.Errorf("Calls(%v) = %d; want 0", other.op, n)
				}
			}
		})
	}
}

func TestFaultyStore_FailNext_GetCurrentOffsetReturnsNoOffset(t *testing.T) {
	f := offsetstoretest.NewFaultyStore(&countingStore{})
	f.FailNext(offsetstoretest.OpGetCurrentOffset, 1, errBoom)
	id := &egopb.ProjectionId{ProjectionName: "p"}
	if o, err := f.GetCurrentOffset(t.Context(), id); o != nil || !errors.Is(err, errBoom) {
		t.Errorf("GetCurrentOffset = %v, %v; want <nil>, %v", o, err, errBoom)
	}
}

func TestFaultyStore_FailNext_Replaces(t *testing.T) {
	op := offsetstoretest.OpWriteOffset
	errOther := errors.New("other")
	tests := []struct {
		name string
		n    int
		err  error
		want []error
	}{
		{"ByALaterOne", 1, errOther, []error{errOther, nil}},
		{"ByZero", 0, errOther, []error{nil}},
		{"ByNegative", -1, errOther, []error{nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := offsetstoretest.NewFaultyStore(&countingStore{})
			f.FailNext(op, 5, errBoom)
			f.FailNext(op, tt.n, tt.err)
			for i, want := range tt.want {
				if err := f.WriteOffset(t.Context(), &egopb.Offset{ProjectionName: "p"}); !errors.Is(err, want) {
					t.Errorf("call %d = %v; want %v", i+1, err, want)
				}
			}
		})
	}
}

func TestFaultyStore_FailNext_NilErrorSkipsInner(t *testing.T) {
	inner := &countingStore{}
	f := offsetstoretest.NewFaultyStore(inner)
	f.FailNext(offsetstoretest.OpGetCurrentOffset, 1, nil)
	id := &egopb.ProjectionId{ProjectionName: "p"}
	if o, err := f.GetCurrentOffset(t.Context(), id); o != nil || err != nil {
		t.Errorf("GetCurrentOffset = %v, %v; want <nil>, <nil>", o, err)
	}
	if n := inner.calls[offsetstoretest.OpGetCurrentOffset].Load(); n != 0 {
		t.Errorf("inner store got %d calls; want 0", n)
	}
}

func TestFaultyStore_FailNext_PanicsOnUnknownOp(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("FailNext(Op(99), 1, errBoom) did not panic")
		}
	}()
	offsetstoretest.NewFaultyStore(&countingStore{}).FailNext(offsetstoretest.Op(99), 1, errBoom)
}

func TestFaultyStore_Concurrent(t *testing.T) {
	const (
		goroutines = 8
		callsEach  = 100
		failures   = 150
	)
	inner := &countingStore{}
	f := offsetstoretest.NewFaultyStore(inner)
	f.FailNext(offsetstoretest.OpWriteOffset, failures, errBoom)
	var failed atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for range callsEach {
			f.Calls(offsetstoretest.OpWriteOffset)
		}
	})
	for range goroutines {
		wg.Go(func() {
			for range callsEach {
				for _, tt := range ops {
					err := tt.call(f, t.Context())
					if errors.Is(err, errBoom) {
						failed.Add(1)
					} else if err != nil {
						t.Errorf("%v = %v; want <nil> or %v", tt.op, err, errBoom)
					}
				}
			}
		})
	}
	wg.Wait()
	if n := failed.Load(); n != failures {
		t.Errorf("%d calls failed; want %d", n, failures)
	}
	for _, tt := range ops {
		wantInner := int64(goroutines * callsEach)
		if tt.op == offsetstoretest.OpWriteOffset {
			wantInner -= failures
		}
		if n := f.Calls(tt.op); n != goroutines*callsEach {
			t.Errorf("Calls(%v) = %d; want %d", tt.op, n, goroutines*callsEach)
		}
		if n := inner.calls[tt.op].Load(); n != wantInner {
			t.Errorf("inner store got %d calls of %v; want %d", n, tt.op, wantInner)
		}
	}
}

func TestFaultyStore_PassesRun(t *testing.T) {
	offsetstoretest.Run(t, func(*testing.T) offsetstore.OffsetStore {
		return offsetstoretest.NewFaultyStore(newReferenceStore())
	})
}

func TestOp_String(t *testing.T) {
	tests := []struct {
		op   offsetstoretest.Op
		want string
	}{
		{offsetstoretest.OpConnect, "Connect"},
		{offsetstoretest.OpDisconnect, "Disconnect"},
		{offsetstoretest.OpPing, "Ping"},
		{offsetstoretest.OpWriteOffset, "WriteOffset"},
		{offsetstoretest.OpGetCurrentOffset, "GetCurrentOffset"},
		{offsetstoretest.OpResetOffset, "ResetOffset"},
		{offsetstoretest.Op(-1), "Op(-1)"},
		{offsetstoretest.Op(99), "Op(99)"},
	}
	for _, tt := range tests {
		if got := tt.op.String(); got != tt.want {
			t.Errorf("Op(%d).String() = %q; want %q", int(tt.op), got, tt.want)
		}
	}
}
