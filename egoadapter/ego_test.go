package egoadapter_test

import (
	"context"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egoadapter"
	"github.com/ego-contrib/offsetstore/egoadapter/internal/egotestpb"
)

// egoOffsetStore is eGo v4's offsetstore.OffsetStore, written out here as
// eGo declares it (eGo cannot be imported), over messages of eGo's shape.
type egoOffsetStore interface {
	Connect(ctx context.Context) error
	Disconnect(ctx context.Context) error
	Ping(ctx context.Context) error
	WriteOffset(ctx context.Context, offset *egotestpb.Offset) error
	GetCurrentOffset(ctx context.Context, projectionID *egotestpb.ProjectionId) (current *egotestpb.Offset, err error)
	ResetOffset(ctx context.Context, projectionName string, value int64) error
}

// ToEgo's result has eGo's method set, and FromEgo takes any store that
// has it: the compiler checks both, with no call made.
var (
	_ func(offsetstore.OffsetStore) egoadapter.EgoOffsetStore[egotestpb.Offset, egotestpb.ProjectionId] = egoadapter.ToEgo[egotestpb.Offset, egotestpb.ProjectionId]
	_ egoOffsetStore                                                                                    = egoadapter.EgoOffsetStore[egotestpb.Offset, egotestpb.ProjectionId](nil)
	_ egoadapter.EgoOffsetStore[egotestpb.Offset, egotestpb.ProjectionId]                               = egoOffsetStore(nil)
	_ func(egoadapter.EgoOffsetStore[egotestpb.Offset, egotestpb.ProjectionId]) offsetstore.OffsetStore = egoadapter.FromEgo[egotestpb.Offset, egotestpb.ProjectionId]
)
