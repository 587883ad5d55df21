package main

import (
	"context"
	"errors"
	"log"
	"os"

	"github.com/tochemey/ego/v4"
	"github.com/tochemey/ego/v4/egopb"
	"github.com/tochemey/ego/v4/persistence"
	"github.com/tochemey/ego/v4/projection"
	goakt "github.com/tochemey/goakt/v4/actor"

	"github.com/ego-contrib/offsetstore/egoadapter"
	offsetpb "github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/postgres"
)

// run runs the projection "accounts" under eGo, its offsets in PostgreSQL,
// until ctx ends; then it stops eGo, the actor system and the store, in
// that order.
func run(ctx context.Context, events persistence.EventsStore, handler projection.Handler) (err error) {
	store := postgres.NewOffsetStore(os.Getenv("OFFSETSTORE_POSTGRES_URL"))
	// eGo never calls Disconnect: the program does, last.
	defer func() { err = errors.Join(err, store.Disconnect(context.Background())) }()
	if err := store.Ping(ctx); err != nil { // Ping connects, as when eGo calls it
		return err
	}
	// The store's own methods take this module's messages, hence offsetpb.
	var resume []*offsetpb.Offset
	if resume, err = store.Offsets(ctx, "accounts"); err != nil {
		return err
	}
	log.Printf("accounts resumes on %d shards", len(resume))

	cfg := ego.NewConfig(events,
		// eGo's egopb: the store, seen as eGo's offsetstore.OffsetStore.
		ego.WithOffsetStore(egoadapter.ToEgo[egopb.Offset, egopb.ProjectionId](store)),
		ego.WithProjection("accounts", &projection.Options{
			Handler: handler, // at-least-once: it may see an event twice
			// ResetOffset stays zero: eGo would reset at every start.
		}),
	)
	sys, err := goakt.NewActorSystem("accounts", cfg.GoaktOptions()...)
	if err != nil {
		return err
	}
	if err := sys.Start(ctx); err != nil {
		return err
	}
	defer func() { err = errors.Join(err, sys.Stop(context.Background())) }()
	engine, err := ego.NewEngine(sys, cfg)
	if err != nil {
		return err
	}
	if err := engine.Start(ctx); err != nil {
		return err
	}
	defer func() { err = errors.Join(err, engine.Stop(context.Background())) }()
	if err := engine.StartProjection(ctx, "accounts"); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}
