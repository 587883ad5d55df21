// Package testkit stands in for eGo v4's testkit package.
package testkit

import "context"

// EventStore is eGo's in-memory testkit.EventStore.
type EventStore struct{}

// NewEventsStore has the signature of eGo's testkit.NewEventsStore.
func NewEventsStore() *EventStore { return &EventStore{} }

// Ping has the signature of eGo's EventStore.Ping.
func (x *EventStore) Ping(ctx context.Context) error { return nil }
