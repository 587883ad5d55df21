package egoadapter_test

import (
	"context"

	"github.com/ego-contrib/offsetstore/egopb"
)

// ourFake is an offsetstore.OffsetStore that keeps what it was given and
// answers what it is told to, so that tests see exactly what the adapter
// passes to a store and what it makes of the answers.
type ourFake = fake[egopb.Offset, egopb.ProjectionId]

// egoFake is ourFake's counterpart on eGo's side, over messages O and P.
type egoFake[O, P any] = fake[O, P]

type fake[O, P any] struct {
	err     error // returned by every method
	current *O    // returned by GetCurrentOffset, the same message each time

	calls     []string // the methods called, in order
	written   []*O
	asked     []*P
	resetName string
	resetTo   int64
}

func (f *fake[O, P]) Connect(context.Context) error {
	f.calls = append(f.calls, "Connect")
	return f.err
}

func (f *fake[O, P]) Disconnect(context.Context) error {
	f.calls = append(f.calls, "Disconnect")
	return f.err
}

func (f *fake[O, P]) Ping(context.Context) error {
	f.calls = append(f.calls, "Ping")
	return f.err
}

func (f *fake[O, P]) WriteOffset(_ context.Context, offset *O) error {
	f.calls = append(f.calls, "WriteOffset")
	f.written = append(f.written, offset)
	return f.err
}

func (f *fake[O, P]) GetCurrentOffset(_ context.Context, id *P) (*O, error) {
	f.calls = append(f.calls, "GetCurrentOffset")
	f.asked = append(f.asked, id)
	return f.current, f.err
}

func (f *fake[O, P]) ResetOffset(_ context.Context, name string, value int64) error {
	f.calls = append(f.calls, "ResetOffset")
	f.resetName, f.resetTo = name, value
	return f.err
}
