// Package offsetstore stands in for eGo v4's offsetstore package.
package offsetstore

import (
	"context"

	"github.com/tochemey/ego/v4/egopb"
)

// OffsetStore is eGo v4.4.3's offsetstore.OffsetStore, method for method.
type OffsetStore interface {
	Connect(ctx context.Context) error
	Disconnect(ctx context.Context) error
	Ping(ctx context.Context) error
	WriteOffset(ctx context.Context, offset *egopb.Offset) error
	GetCurrentOffset(ctx context.Context, projectionID *egopb.ProjectionId) (currentOffset *egopb.Offset, err error)
	ResetOffset(ctx context.Context, projectionName string, value int64) error
}
