// Package persistence stands in for eGo v4's persistence package.
package persistence

import "context"

// EventsStore stands in for eGo's persistence.EventsStore, which has more
// methods: the example only passes one to NewConfig.
type EventsStore interface {
	Ping(ctx context.Context) error
}
