// Package projection stands in for eGo v4's projection package.
package projection

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/anypb"
)

// Handler is eGo v4.4.3's projection.Handler.
type Handler interface {
	Handle(ctx context.Context, persistenceID string, event *anypb.Any, revision uint64) error
}

// Options has the fields of eGo v4.4.3's projection.Options that the
// example sets or names.
type Options struct {
	Handler      Handler
	BufferSize   int
	StartOffset  time.Time
	ResetOffset  time.Time
	PullInterval time.Duration
}

// DiscardHandler is eGo's projection.DiscardHandler: it handles every
// event by doing nothing.
type DiscardHandler struct{}

// NewDiscardHandler has the signature of eGo's projection.NewDiscardHandler.
func NewDiscardHandler() *DiscardHandler { return &DiscardHandler{} }

// Handle does nothing.
func (x *DiscardHandler) Handle(context.Context, string, *anypb.Any, uint64) error { return nil }
