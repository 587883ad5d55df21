package egoadapter

import (
	"context"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
)

// FromEgo returns s, a store with eGo's method set over eGo's messages O
// (Offset) and P (ProjectionId), as an [offsetstore.OffsetStore]. It lets
// stores written for eGo run this module's conformance suite:
//
//	offsetstoretest.Run(t, func(t *testing.T) offsetstore.OffsetStore {
//		return egoadapter.FromEgo[egopb.Offset, egopb.ProjectionId](mystore.New())
//	})
//
// FromEgo checks O and P, and copies messages, nil and errors, exactly as
// [ToEgo] does, in the other direction. Because it copies, the suite's
// CopyIn and CopyOut cases cannot see whether s itself keeps or hands out
// its messages.
func FromEgo[O, P any, PO Message[O], PP Message[P]](s EgoOffsetStore[O, P]) offsetstore.OffsetStore {
	const fn = "egoadapter.FromEgo"
	codec := newCodec[O, P, PO, PP](fn)
	if s == nil {
		panic(fn + ": nil store")
	}
	return &fromEgo[O, P, PO, PP]{store: s, codec: codec}
}

// fromEgo is the store [FromEgo] returns.
type fromEgo[O, P any, PO Message[O], PP Message[P]] struct {
	store EgoOffsetStore[O, P]
	codec *codec[O, P, PO, PP]
}

func (s *fromEgo[O, P, PO, PP]) Connect(ctx context.Context) error {
	return s.store.Connect(ctx)
}

func (s *fromEgo[O, P, PO, PP]) Disconnect(ctx context.Context) error {
	return s.store.Disconnect(ctx)
}

func (s *fromEgo[O, P, PO, PP]) Ping(ctx context.Context) error {
	return s.store.Ping(ctx)
}

func (s *fromEgo[O, P, PO, PP]) WriteOffset(ctx context.Context, offset *egopb.Offset) error {
	return s.store.WriteOffset(ctx, s.codec.offsetFromOurs(offset))
}

func (s *fromEgo[O, P, PO, PP]) GetCurrentOffset(ctx context.Context, projectionID *egopb.ProjectionId) (*egopb.Offset, error) {
	current, err := s.store.GetCurrentOffset(ctx, s.codec.idFromOurs(projectionID))
	return s.codec.offsetToOurs(current), err
}

func (s *fromEgo[O, P, PO, PP]) ResetOffset(ctx context.Context, projectionName string, value int64) error {
	return s.store.ResetOffset(ctx, projectionName, value)
}
