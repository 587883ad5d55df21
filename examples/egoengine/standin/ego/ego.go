// Package ego stands in for eGo v4's root package: it declares the names
// examples/egoengine uses, with eGo v4.4.3's signatures, and does nothing.
// It lets the example compile; it cannot run it.
package ego

import (
	"context"
	"time"

	goakt "github.com/tochemey/goakt/v4/actor"

	"github.com/tochemey/ego/v4/offsetstore"
	"github.com/tochemey/ego/v4/persistence"
	"github.com/tochemey/ego/v4/projection"
)

// Config is eGo's Config: built once by NewConfig, given to the actor
// system through GoaktOptions and to NewEngine.
type Config struct {
	offsetStore offsetstore.OffsetStore
	projections map[string]*projection.Options
}

// Option configures a Config, as eGo's ego.Option does.
type Option interface {
	Apply(c *Config)
}

// OptionFunc is eGo's ego.OptionFunc.
type OptionFunc func(c *Config)

// Apply applies the option to c.
func (f OptionFunc) Apply(c *Config) { f(c) }

// NewConfig has the signature of eGo's ego.NewConfig.
func NewConfig(eventsStore persistence.EventsStore, opts ...Option) *Config {
	c := &Config{projections: map[string]*projection.Options{}}
	for _, o := range opts {
		o.Apply(c)
	}
	return c
}

// WithOffsetStore has the signature of eGo's ego.WithOffsetStore: it takes
// eGo's offsetstore.OffsetStore.
func WithOffsetStore(offsetStore offsetstore.OffsetStore) Option {
	return OptionFunc(func(c *Config) { c.offsetStore = offsetStore })
}

// WithProjection has the signature of eGo's ego.WithProjection.
func WithProjection(name string, options *projection.Options) Option {
	return OptionFunc(func(c *Config) { c.projections[name] = options })
}

// GoaktOptions has the signature of eGo's Config.GoaktOptions.
func (c *Config) GoaktOptions() []goakt.Option { return nil }

// Engine is eGo's Engine.
type Engine struct{}

// NewEngine has the signature of eGo's ego.NewEngine.
func NewEngine(actorSys goakt.ActorSystem, config *Config) (*Engine, error) {
	return &Engine{}, nil
}

// Start has the signature of eGo's Engine.Start.
func (engine *Engine) Start(ctx context.Context) error { return nil }

// Stop has the signature of eGo's Engine.Stop.
func (engine *Engine) Stop(ctx context.Context) error { return nil }

// StartProjection has the signature of eGo's Engine.StartProjection.
func (engine *Engine) StartProjection(ctx context.Context, name string) error { return nil }

// StopProjection has the signature of eGo's Engine.StopProjection.
func (engine *Engine) StopProjection(ctx context.Context, name string) error { return nil }

// RebuildProjection has the signature of eGo's Engine.RebuildProjection.
func (engine *Engine) RebuildProjection(ctx context.Context, name string, from time.Time) error {
	return nil
}
