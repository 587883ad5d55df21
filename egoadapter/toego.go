package egoadapter

import (
	"context"

	"github.com/ego-contrib/offsetstore"
)

// ToEgo returns s as eGo's offset store over eGo's messages O (Offset) and P
// (ProjectionId). With eGo's egopb package:
//
//	store := egoadapter.ToEgo[egopb.Offset, egopb.ProjectionId](memory.NewOffsetStore())
//
// and store goes wherever eGo takes an offsetstore.OffsetStore. Go infers
// PO and PP.
//
// ToEgo checks once, here, that O and P have eGo's fields: for O, uint64 = 1,
// string = 2, int64 = 3 and int64 = 5; for P, string = 1 and uint64 = 2, by
// field number and kind (names may differ, other fields are ignored), no two
// of them in one oneof. It panics when they do not, naming the message (by
// proto name and Go type), the field and what it expected, and when s is nil.
//
// Every method of the result calls the same method of s. Offsets and ids are
// copied into new egopb messages on the way in and into new O messages on the
// way out, so neither side ever holds a message of the other. A nil message
// stays nil, so s refuses it with [offsetstore.ErrInvalidArgument]; an
// absent offset comes back as a nil *O and a nil error; errors come back
// from s unchanged.
func ToEgo[O, P any, PO Message[O], PP Message[P]](s offsetstore.OffsetStore) EgoOffsetStore[O, P] {
	const fn = "egoadapter.ToEgo"
	codec := newCodec[O, P, PO, PP](fn)
	if s == nil {
		panic(fn + ": nil store")
	}
	return &toEgo[O, P, PO, PP]{store: s, codec: codec}
}

// toEgo is the store [ToEgo] returns.
type toEgo[O, P any, PO Message[O], PP Message[P]] struct {
	store offsetstore.OffsetStore
	codec *codec[O, P, PO, PP]
}

func (s *toEgo[O, P, PO, PP]) Connect(ctx context.Context) error {
	return s.store.Connect(ctx)
}

func (s *toEgo[O, P, PO, PP]) Disconnect(ctx context.Context) error {
	return s.store.Disconnect(ctx)
}

func (s *toEgo[O, P, PO, PP]) Ping(ctx context.Context) error {
	return s.store.Ping(ctx)
}

func (s *toEgo[O, P, PO, PP]) WriteOffset(ctx context.Context, offset *O) error {
	return s.store.WriteOffset(ctx, s.codec.offsetToOurs(offset))
}

func (s *toEgo[O, P, PO, PP]) GetCurrentOffset(ctx context.Context, projectionID *P) (*O, error) {
	current, err := s.store.GetCurrentOffset(ctx, s.codec.idToOurs(projectionID))
	return s.codec.offsetFromOurs(current), err
}

func (s *toEgo[O, P, PO, PP]) ResetOffset(ctx context.Context, projectionName string, value int64) error {
	return s.store.ResetOffset(ctx, projectionName, value)
}
