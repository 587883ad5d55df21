package memory_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/memory"
)

// storeCall is one call of a method of the store, with input that is good
// or bad, made with the context it is given. A call that connects or
// disconnects works on a store in any state.
type storeCall struct {
	name       string
	bad        bool
	connection bool
	do         func(*memory.OffsetStore, context.Context) error
}

// everyMethod returns a call with good input of every method of the store,
// and one with bad input of every method that takes any.
func everyMethod() []storeCall {
	p := &egopb.ProjectionId{ProjectionName: "p"}
	call := func(name string, bad bool, do func(*memory.OffsetStore, context.Context) error) storeCall {
		return storeCall{name: name, bad: bad, do: do}
	}
	return []storeCall{
		{name: "Connect(ctx)", connection: true, do: (*memory.OffsetStore).Connect},
		{name: "Ping(ctx)", connection: true, do: (*memory.OffsetStore).Ping},
		{name: "Disconnect(ctx)", connection: true, do: (*memory.OffsetStore).Disconnect},
		call("WriteOffset(ctx, {p 0 9})", false, func(s *memory.OffsetStore, ctx context.Context) error {
			return s.WriteOffset(ctx, &egopb.Offset{ProjectionName: "p", Value: 9})
		}),
		call("WriteOffset(ctx, nil)", true, func(s *memory.OffsetStore, ctx context.Context) error { return s.WriteOffset(ctx, nil) }),
		call("GetCurrentOffset(ctx, {p 0})", false, func(s *memory.OffsetStore, ctx context.Context) error {
			return second(s.GetCurrentOffset(ctx, p))
		}),
		call("GetCurrentOffset(ctx, nil)", true, func(s *memory.OffsetStore, ctx context.Context) error {
			return second(s.GetCurrentOffset(ctx, nil))
		}),
		call("ResetOffset(ctx, p, 9)", false, func(s *memory.OffsetStore, ctx context.Context) error { return s.ResetOffset(ctx, "p", 9) }),
		call(`ResetOffset(ctx, "", 9)`, true, func(s *memory.OffsetStore, ctx context.Context) error { return s.ResetOffset(ctx, "", 9) }),
		call("Offsets(ctx, p)", false, func(s *memory.OffsetStore, ctx context.Context) error { return second(s.Offsets(ctx, "p")) }),
		call(`Offsets(ctx, "\xff")`, true, func(s *memory.OffsetStore, ctx context.Context) error { return second(s.Offsets(ctx, "\xff")) }),
		call("Projections(ctx)", false, func(s *memory.OffsetStore, ctx context.Context) error { return second(s.Projections(ctx)) }),
		call("Snapshot(ctx)", false, func(s *memory.OffsetStore, ctx context.Context) error { return second(s.Snapshot(ctx)) }),
		call("Restore(ctx, [{q 0 9}])", false, func(s *memory.OffsetStore, ctx context.Context) error {
			return s.Restore(ctx, []*egopb.Offset{{ProjectionName: "q", Value: 9}})
		}),
		call("Restore(ctx, [nil])", true, func(s *memory.OffsetStore, ctx context.Context) error {
			return s.Restore(ctx, []*egopb.Offset{nil})
		}),
		call("Restore(ctx, [{q 0 9} {q 0 9}])", true, func(s *memory.OffsetStore, ctx context.Context) error {
			q := &egopb.Offset{ProjectionName: "q", Value: 9}
			return s.Restore(ctx, []*egopb.Offset{q, q})
		}),
		call("WriteOffsets(ctx, [{q 0 9}])", false, func(s *memory.OffsetStore, ctx context.Context) error {
			return s.WriteOffsets(ctx, []*egopb.Offset{{ProjectionName: "q", Value: 9}})
		}),
		call("WriteOffsets(ctx, [nil])", true, func(s *memory.OffsetStore, ctx context.Context) error {
			return s.WriteOffsets(ctx, []*egopb.Offset{nil})
		}),
		call("ResetShards(ctx, p, 9, nil)", false, func(s *memory.OffsetStore, ctx context.Context) error {
			return second(s.ResetShards(ctx, "p", 9, nil))
		}),
		call(`ResetShards(ctx, "\xff", 9, nil)`, true, func(s *memory.OffsetStore, ctx context.Context) error {
			return second(s.ResetShards(ctx, "\xff", 9, nil))
		}),
		call("DeleteShards(ctx, p, [0])", false, func(s *memory.OffsetStore, ctx context.Context) error {
			return second(s.DeleteShards(ctx, "p", []uint64{0}))
		}),
		call(`DeleteShards(ctx, "", nil)`, true, func(s *memory.OffsetStore, ctx context.Context) error {
			return second(s.DeleteShards(ctx, "", nil))
		}),
		// Targets the stored offset already reaches: only an error may
		// keep these waits from returning at once.
		call("WaitForOffset(ctx, {p 0}, MinInt64)", false, func(s *memory.OffsetStore, ctx context.Context) error {
			return second(s.WaitForOffset(ctx, p, math.MinInt64))
		}),
		call("WaitForOffset(ctx, nil, MinInt64)", true, func(s *memory.OffsetStore, ctx context.Context) error {
			return second(s.WaitForOffset(ctx, nil, math.MinInt64))
		}),
		call("WaitForOffsets(ctx, p, {0: MinInt64})", false, func(s *memory.OffsetStore, ctx context.Context) error {
			return second(s.WaitForOffsets(ctx, "p", map[uint64]int64{0: math.MinInt64}))
		}),
		call(`WaitForOffsets(ctx, "", {0: MinInt64})`, true, func(s *memory.OffsetStore, ctx context.Context) error {
			return second(s.WaitForOffsets(ctx, "", map[uint64]int64{0: math.MinInt64}))
		}),
	}
}

// TestOffsetStore_ErrorOrder_EveryMethod holds every method, the test
// helpers included, to rule 11: a done context's error first, then bad
// input, then not connected, each alone; and a call that fails changes
// nothing, the connection included.
func TestOffsetStore_ErrorOrder_EveryMethod(t *testing.T) {
	const rule = "a done context, then bad input, then not connected, and the error wraps that one only (rule 11)"
	ranked := []error{context.Canceled, offsetstore.ErrInvalidArgument, offsetstore.ErrNotConnected}
	done, cancel := context.WithCancel(t.Context())
	cancel()
	for _, c := range everyMethod() {
		for _, connect := range []bool{true, false} {
			for _, ctx := range []context.Context{done, t.Context()} {
				var want error
				switch {
				case ctx == done:
					want = context.Canceled
				case c.bad:
					want = offsetstore.ErrInvalidArgument
				case !connect && !c.connection:
					want = offsetstore.ErrNotConnected
				default:
					continue // a call that succeeds is for other tests
				}
				store := memory.NewOffsetStore(memory.WithKeepRecordsAfterDisconnect())
				connected(t, store)
				write(t, store, &egopb.Offset{ProjectionName: "p", Value: 5, Timestamp: 50})
				if !connect {
					if err := store.Disconnect(t.Context()); err != nil {
						t.Fatalf("Disconnect(ctx) = %v; want <nil>", err)
					}
				}
				state := map[bool]string{true: "a connected store", false: "a disconnected store"}[connect]
				if ctx == done {
					state += ", with a cancelled context"
				}

				err := c.do(store, ctx)
				if !errors.Is(err, want) {
					t.Errorf("%s on %s = %v; want an error wrapping %q: %s", c.name, state, err, want, rule)
				}
				for _, other := range ranked[slices.Index(ranked, want)+1:] {
					if errors.Is(err, other) {
						t.Errorf("%s on %s = %v; want an error wrapping %q only, not %q too: %s", c.name, state, err, want, other, rule)
					}
				}

				// A failed call leaves the connection as it was, and the
				// offsets too.
				_, err = store.Snapshot(t.Context())
				if gotConnected := err == nil; gotConnected != connect {
					t.Errorf("Snapshot(ctx) after %s on %s = %v; want the store still connected: %t", c.name, state, err, connect)
				}
				connected(t, store)
				got, err := store.Snapshot(t.Context())
				if want := []row{{"p", 0, 5, 50}}; err != nil || !slices.Equal(rowsOf(got), want) {
					t.Errorf("Snapshot(ctx) after %s on %s = %v, %v; want %v: a call that fails changes nothing", c.name, state, rowsOf(got), err, want)
				}
			}
		}
	}
}
