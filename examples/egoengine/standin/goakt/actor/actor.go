// Package actor stands in for goakt v4's actor package: it declares the
// names examples/egoengine uses, with goakt v4's signatures, and does
// nothing. It lets the example compile; it cannot run it.
package actor

import "context"

// Option configures an actor system, as goakt's actor.Option does.
type Option interface {
	apply()
}

// ActorSystem has the methods of goakt's actor.ActorSystem that the example
// calls.
type ActorSystem interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

// NewActorSystem has the signature of goakt's actor.NewActorSystem.
func NewActorSystem(name string, opts ...Option) (ActorSystem, error) {
	return system{}, nil
}

type system struct{}

func (system) Start(context.Context) error { return nil }
func (system) Stop(context.Context) error  { return nil }
