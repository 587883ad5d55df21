package egoadapter

import (
	"context"

	"google.golang.org/protobuf/proto"
)

// EgoOffsetStore has the method set of eGo's offsetstore.OffsetStore, over
// eGo's messages O (Offset) and P (ProjectionId), or any generated messages
// of the same shape. With eGo's egopb package,
// EgoOffsetStore[egopb.Offset, egopb.ProjectionId] is exactly the interface
// eGo's projections take; Go matches interfaces by method set, so a value of
// this type is one of eGo's without this module importing eGo.
type EgoOffsetStore[O, P any] interface {
	// Connect makes the store ready for use.
	Connect(ctx context.Context) error
	// Disconnect releases the store.
	Disconnect(ctx context.Context) error
	// Ping checks that the store is usable. eGo calls Ping, never Connect,
	// before a projection starts.
	Ping(ctx context.Context) error
	// WriteOffset stores offset as the current offset of its projection and
	// shard.
	WriteOffset(ctx context.Context, offset *O) error
	// GetCurrentOffset returns the offset stored for projectionID, or nil,
	// nil when there is none.
	GetCurrentOffset(ctx context.Context, projectionID *P) (current *O, err error)
	// ResetOffset sets the value of every stored shard of projectionName.
	ResetOffset(ctx context.Context, projectionName string, value int64) error
}

// Message is the constraint on the pointer type parameters of [ToEgo] and
// [FromEgo]: *M must be a generated protobuf message. Go infers these
// parameters, so callers name only M.
type Message[M any] interface {
	*M
	proto.Message
}
