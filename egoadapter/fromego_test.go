package egoadapter_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egoadapter"
	"github.com/ego-contrib/offsetstore/egoadapter/internal/egotestpb"
	"github.com/ego-contrib/offsetstore/egopb"
	"google.golang.org/protobuf/proto"
)

func TestFromEgo_RoundTrip(t *testing.T) {
	t.Run("Offset", func(t *testing.T) { testFromEgoRoundTrip(t, offsetOfEgosShape) })
	t.Run("RenamedOffset", func(t *testing.T) { testFromEgoRoundTrip(t, renamedOffset) })
	t.Run("OffsetOptionalShard", func(t *testing.T) { testFromEgoRoundTrip(t, optionalShardOffset) })
	t.Run("OffsetOneofValue", func(t *testing.T) { testFromEgoRoundTrip(t, oneofValueOffset) })
}

// testFromEgoRoundTrip writes every edge offset through FromEgo, checks
// that the eGo-side store got exactly its fields as an O, and reads an O
// back through FromEgo.
func testFromEgoRoundTrip[O any, PO egoadapter.Message[O]](t *testing.T, typ offsetType[O]) {
	ctx := t.Context()
	for _, want := range edgeOffsets {
		theirs := &egoFake[O, egotestpb.ProjectionId]{current: typ.build(want)}
		store := egoadapter.FromEgo[O, egotestpb.ProjectionId, PO](theirs)
		if err := store.WriteOffset(ctx, want); err != nil {
			t.Fatalf("WriteOffset(ctx, %v) = %v; want <nil>", want, err)
		}
		if len(theirs.written) != 1 || theirs.written[0] == nil || !proto.Equal(typ.read(theirs.written[0]), want) {
			t.Errorf("WriteOffset(ctx, %v) wrote %v to the eGo-side store; want [%v]: every field must cross unchanged",
				want, theirs.written, typ.build(want))
		}

		id := ourID(want.ProjectionName, want.ShardNumber)
		current, err := store.GetCurrentOffset(ctx, id)
		if err != nil || !proto.Equal(current, want) {
			t.Errorf("GetCurrentOffset(ctx, %v) of an eGo-side store holding %v = %v, %v; want %v, <nil>: every field must cross unchanged",
				id, theirs.current, current, err, want)
		}
		if wantID := egoID(want.ProjectionName, want.ShardNumber); len(theirs.asked) != 1 || !proto.Equal(theirs.asked[0], wantID) {
			t.Errorf("GetCurrentOffset(ctx, %v) asked the eGo-side store for %v; want [%v]", id, theirs.asked, wantID)
		}

		if err := store.ResetOffset(ctx, want.ProjectionName, want.Value); err != nil {
			t.Fatalf("ResetOffset(ctx, %q, %d) = %v; want <nil>: the eGo-side store answered <nil>", want.ProjectionName, want.Value, err)
		}
		if theirs.resetName != want.ProjectionName || theirs.resetTo != want.Value {
			t.Errorf("ResetOffset(ctx, %q, %d) reset %q to %d in the eGo-side store; want %q to %d",
				want.ProjectionName, want.Value, theirs.resetName, theirs.resetTo, want.ProjectionName, want.Value)
		}
	}
}

func TestFromEgo_NilStaysNil(t *testing.T) {
	ctx := t.Context()
	theirs := &egoFake[egotestpb.Offset, egotestpb.ProjectionId]{}
	store := egoadapter.FromEgo[egotestpb.Offset, egotestpb.ProjectionId](theirs)
	_ = store.WriteOffset(ctx, nil)
	_, _ = store.GetCurrentOffset(ctx, nil)
	if len(theirs.written) != 1 || theirs.written[0] != nil {
		t.Errorf("WriteOffset(ctx, nil) wrote %v to the eGo-side store; want [<nil>]", theirs.written)
	}
	if len(theirs.asked) != 1 || theirs.asked[0] != nil {
		t.Errorf("GetCurrentOffset(ctx, nil) asked the eGo-side store for %v; want [<nil>]", theirs.asked)
	}
}

func TestFromEgo_AbsentIsNilNil(t *testing.T) {
	store := egoadapter.FromEgo[egotestpb.Offset, egotestpb.ProjectionId](&egoFake[egotestpb.Offset, egotestpb.ProjectionId]{})
	id := ourID("accounts", 3)
	current, err := store.GetCurrentOffset(t.Context(), id)
	if current != nil || err != nil {
		t.Errorf("GetCurrentOffset(ctx, %v) of an eGo-side store answering nil, nil = %v, %v; want <nil>, <nil>", id, current, err)
	}
}

func TestFromEgo_ErrorsPassThrough(t *testing.T) {
	want := fmt.Errorf("%w: from the eGo-side store", offsetstore.ErrInvalidArgument)
	theirs := &egoFake[egotestpb.Offset, egotestpb.ProjectionId]{err: want}
	store := egoadapter.FromEgo[egotestpb.Offset, egotestpb.ProjectionId](theirs)
	ctx := t.Context()
	current, getErr := store.GetCurrentOffset(ctx, ourID("p", 0))
	for _, c := range []struct {
		call string
		err  error
	}{
		{"Connect(ctx)", store.Connect(ctx)},
		{"Disconnect(ctx)", store.Disconnect(ctx)},
		{"Ping(ctx)", store.Ping(ctx)},
		{"WriteOffset(ctx, {p 0})", store.WriteOffset(ctx, &egopb.Offset{ProjectionName: "p"})},
		{"GetCurrentOffset(ctx, {p 0})", getErr},
		{"ResetOffset(ctx, p, 0)", store.ResetOffset(ctx, "p", 0)},
	} {
		if c.err != want {
			t.Errorf("%s = %v; want the eGo-side store's error %v, unchanged", c.call, c.err, want)
		}
	}
	if current != nil {
		t.Errorf("GetCurrentOffset(ctx, {p 0}) = %v, %v; want <nil>, %v", current, getErr, want)
	}
	if wantCalls := []string{"GetCurrentOffset", "Connect", "Disconnect", "Ping", "WriteOffset", "ResetOffset"}; !slices.Equal(theirs.calls, wantCalls) {
		t.Errorf("the calls made the eGo-side store see %v; want %v: every method must call the same method, once", theirs.calls, wantCalls)
	}
}

func TestFromEgo_SharesNoMessage(t *testing.T) {
	ctx := t.Context()
	theirs := &egoFake[egotestpb.Offset, egotestpb.ProjectionId]{
		current: &egotestpb.Offset{ProjectionName: "p", ShardNumber: 1, Value: 7, Timestamp: 9},
	}
	store := egoadapter.FromEgo[egotestpb.Offset, egotestpb.ProjectionId](theirs)

	offset := &egopb.Offset{ProjectionName: "p", ShardNumber: 1, Value: 7, Timestamp: 9}
	for range 2 {
		if err := store.WriteOffset(ctx, offset); err != nil {
			t.Fatalf("WriteOffset(ctx, %v) = %v; want <nil>: the eGo-side store answered <nil>", offset, err)
		}
	}
	offset.Value = 8
	if len(theirs.written) != 2 || theirs.written[0] == theirs.written[1] || theirs.written[1].GetValue() != 7 {
		t.Errorf("two WriteOffset(ctx, %v) of one message, changed after, gave the eGo-side store %v; want two messages of their own, with value 7",
			offset, theirs.written)
	}

	first, _ := store.GetCurrentOffset(ctx, ourID("p", 1))
	second, _ := store.GetCurrentOffset(ctx, ourID("p", 1))
	if first == nil || first == second {
		t.Fatalf("two GetCurrentOffset(ctx, {p 1}) = %p, %p; want two messages of their own", first, second)
	}
	first.Value = 8
	if second.Value != 7 || theirs.current.Value != 7 {
		t.Errorf("changing what GetCurrentOffset returned changed the next answer (%v) or the eGo-side store's message (%v); want neither changed",
			second, theirs.current)
	}
}
