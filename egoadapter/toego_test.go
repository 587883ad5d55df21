package egoadapter_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egoadapter"
	"github.com/ego-contrib/offsetstore/egoadapter/internal/egotestpb"
	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/memory"
	"google.golang.org/protobuf/proto"
)

// connected returns a new memory store, connected, disconnected when t ends.
func connected(t *testing.T) *memory.OffsetStore {
	t.Helper()
	store := memory.NewOffsetStore()
	if err := store.Connect(t.Context()); err != nil {
		t.Fatalf("Connect(ctx) = %v; want <nil>", err)
	}
	t.Cleanup(func() { _ = store.Disconnect(context.Background()) })
	return store
}

func TestToEgo_RoundTrip(t *testing.T) {
	t.Run("Offset", func(t *testing.T) { testToEgoRoundTrip(t, offsetOfEgosShape) })
	t.Run("RenamedOffset", func(t *testing.T) { testToEgoRoundTrip(t, renamedOffset) })
	t.Run("OffsetOptionalShard", func(t *testing.T) { testToEgoRoundTrip(t, optionalShardOffset) })
	t.Run("OffsetOneofValue", func(t *testing.T) { testToEgoRoundTrip(t, oneofValueOffset) })
}

// testToEgoRoundTrip writes every edge offset as an O through ToEgo, checks
// that the wrapped store holds exactly its fields, and reads it back
// through ToEgo.
func testToEgoRoundTrip[O any, PO egoadapter.Message[O]](t *testing.T, typ offsetType[O]) {
	ours := connected(t)
	store := egoadapter.ToEgo[O, egotestpb.ProjectionId, PO](ours)
	ctx := t.Context()
	for _, want := range edgeOffsets {
		offset := typ.build(want)
		if err := store.WriteOffset(ctx, offset); err != nil {
			t.Fatalf("WriteOffset(ctx, %v) = %v; want <nil>", offset, err)
		}
		stored, err := ours.GetCurrentOffset(ctx, ourID(want.ProjectionName, want.ShardNumber))
		if err != nil || !proto.Equal(stored, want) {
			t.Errorf("after WriteOffset(ctx, %v), the wrapped store holds %v, %v; want %v, <nil>: every field must cross unchanged",
				offset, stored, err, want)
		}

		id := egoID(want.ProjectionName, want.ShardNumber)
		current, err := store.GetCurrentOffset(ctx, id)
		if err != nil || current == nil || !proto.Equal(typ.read(current), want) {
			t.Errorf("GetCurrentOffset(ctx, %v) = %v, %v; want %v, <nil>: every field must cross unchanged",
				id, current, err, offset)
		}
	}
}

func TestToEgo_PassesIDsAndResets(t *testing.T) {
	ctx := t.Context()
	for _, o := range edgeOffsets {
		ours := &ourFake{}
		store := egoadapter.ToEgo[egotestpb.Offset, egotestpb.ProjectionId](ours)
		id := egoID(o.ProjectionName, o.ShardNumber)
		if _, err := store.GetCurrentOffset(ctx, id); err != nil {
			t.Fatalf("GetCurrentOffset(ctx, %v) = _, %v; want <nil>: the wrapped store answered <nil>", id, err)
		}
		if want := ourID(o.ProjectionName, o.ShardNumber); len(ours.asked) != 1 || !proto.Equal(ours.asked[0], want) {
			t.Errorf("GetCurrentOffset(ctx, %v) asked the wrapped store for %v; want [%v]", id, ours.asked, want)
		}
		if err := store.ResetOffset(ctx, o.ProjectionName, o.Value); err != nil {
			t.Fatalf("ResetOffset(ctx, %q, %d) = %v; want <nil>: the wrapped store answered <nil>", o.ProjectionName, o.Value, err)
		}
		if ours.resetName != o.ProjectionName || ours.resetTo != o.Value {
			t.Errorf("ResetOffset(ctx, %q, %d) reset %q to %d in the wrapped store; want %q to %d",
				o.ProjectionName, o.Value, ours.resetName, ours.resetTo, o.ProjectionName, o.Value)
		}
	}
}

func TestToEgo_NilStaysNil(t *testing.T) {
	ctx := t.Context()
	ours := &ourFake{}
	store := egoadapter.ToEgo[egotestpb.Offset, egotestpb.ProjectionId](ours)
	_ = store.WriteOffset(ctx, nil)
	_, _ = store.GetCurrentOffset(ctx, nil)
	if len(ours.written) != 1 || ours.written[0] != nil {
		t.Errorf("WriteOffset(ctx, nil) wrote %v to the wrapped store; want [<nil>]", ours.written)
	}
	if len(ours.asked) != 1 || ours.asked[0] != nil {
		t.Errorf("GetCurrentOffset(ctx, nil) asked the wrapped store for %v; want [<nil>]", ours.asked)
	}

	// So the wrapped store refuses them, as its contract says.
	store = egoadapter.ToEgo[egotestpb.Offset, egotestpb.ProjectionId](connected(t))
	if err := store.WriteOffset(ctx, nil); !errors.Is(err, offsetstore.ErrInvalidArgument) {
		t.Errorf("WriteOffset(ctx, nil) = %v; want an error wrapping %v", err, offsetstore.ErrInvalidArgument)
	}
	if current, err := store.GetCurrentOffset(ctx, nil); current != nil || !errors.Is(err, offsetstore.ErrInvalidArgument) {
		t.Errorf("GetCurrentOffset(ctx, nil) = %v, %v; want <nil>, an error wrapping %v", current, err, offsetstore.ErrInvalidArgument)
	}
}

func TestToEgo_AbsentIsNilNil(t *testing.T) {
	store := egoadapter.ToEgo[egotestpb.Offset, egotestpb.ProjectionId](connected(t))
	id := egoID("accounts", 3)
	current, err := store.GetCurrentOffset(t.Context(), id)
	if current != nil || err != nil {
		t.Errorf("GetCurrentOffset(ctx, %v) of an empty store = %v, %v; want <nil>, <nil>", id, current, err)
	}
}

func TestToEgo_ErrorsPassThrough(t *testing.T) {
	want := fmt.Errorf("%w: from the wrapped store", offsetstore.ErrNotConnected)
	ours := &ourFake{err: want}
	store := egoadapter.ToEgo[egotestpb.Offset, egotestpb.ProjectionId](ours)
	ctx := t.Context()
	offset := &egotestpb.Offset{ProjectionName: "p"}
	current, getErr := store.GetCurrentOffset(ctx, egoID("p", 0))
	for _, c := range []struct {
		call string
		err  error
	}{
		{"Connect(ctx)", store.Connect(ctx)},
		{"Disconnect(ctx)", store.Disconnect(ctx)},
		{"Ping(ctx)", store.Ping(ctx)},
		{"WriteOffset(ctx, {p 0})", store.WriteOffset(ctx, offset)},
		{"GetCurrentOffset(ctx, {p 0})", getErr},
		{"ResetOffset(ctx, p, 0)", store.ResetOffset(ctx, "p", 0)},
	} {
		if c.err != want {
			t.Errorf("%s = %v; want the wrapped store's error %v, unchanged", c.call, c.err, want)
		}
	}
	if current != nil {
		t.Errorf("GetCurrentOffset(ctx, {p 0}) = %v, %v; want <nil>, %v", current, getErr, want)
	}
	if wantCalls := []string{"GetCurrentOffset", "Connect", "Disconnect", "Ping", "WriteOffset", "ResetOffset"}; !slices.Equal(ours.calls, wantCalls) {
		t.Errorf("the calls made the wrapped store see %v; want %v: every method must call the same method, once", ours.calls, wantCalls)
	}
}

func TestToEgo_SharesNoMessage(t *testing.T) {
	ctx := t.Context()
	ours := &ourFake{current: &egopb.Offset{ProjectionName: "p", ShardNumber: 1, Value: 7, Timestamp: 9}}
	store := egoadapter.ToEgo[egotestpb.Offset, egotestpb.ProjectionId](ours)

	offset := &egotestpb.Offset{ProjectionName: "p", ShardNumber: 1, Value: 7, Timestamp: 9}
	for range 2 {
		if err := store.WriteOffset(ctx, offset); err != nil {
			t.Fatalf("WriteOffset(ctx, %v) = %v; want <nil>: the wrapped store answered <nil>", offset, err)
		}
	}
	offset.Value = 8
	if len(ours.written) != 2 || ours.written[0] == ours.written[1] || ours.written[1].GetValue() != 7 {
		t.Errorf("two WriteOffset(ctx, %v) of one message, changed after, gave the wrapped store %v; want two messages of their own, with value 7",
			offset, ours.written)
	}

	first, _ := store.GetCurrentOffset(ctx, egoID("p", 1))
	second, _ := store.GetCurrentOffset(ctx, egoID("p", 1))
	if first == nil || first == second {
		t.Fatalf("two GetCurrentOffset(ctx, {p 1}) = %p, %p; want two messages of their own", first, second)
	}
	first.Value = 8
	if second.Value != 7 || ours.current.Value != 7 {
		t.Errorf("changing what GetCurrentOffset returned changed the next answer (%v) or the wrapped store's message (%v); want neither changed",
			second, ours.current)
	}
}
