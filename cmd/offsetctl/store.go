package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
)

// A backend is a kind of store, chosen by the scheme of --url.
type backend struct {
	// checkName checks a projection name as the store will, before
	// anything is sent.
	checkName func(name string) error
	// open returns the store of the flags, not connected; with create,
	// connecting creates the table or bucket that is missing.
	open func(create bool) *database
	// missing reports whether Connect's error says the table or bucket
	// does not exist.
	missing func(err error) bool
}

// backends maps each scheme of --url to its backend; a string without a
// scheme is PostgreSQL's key=value form.
var backends = map[string]func(e *env) (*backend, error){
	"postgres":   postgresBackend,
	"postgresql": postgresBackend,
	"nats":       natsBackend,
}

// chooseBackend returns the backend of --url.
func (e *env) chooseBackend() (*backend, error) {
	if e.choose != nil {
		return e.choose()
	}
	for _, v := range []string{urlVariable, postgresURLVariable} {
		if e.conn.url == "" {
			e.conn.url = e.getenv(v)
		}
	}
	if e.conn.url == "" {
		return nil, usagef("no store given: pass --url, or set %s or %s", urlVariable, postgresURLVariable)
	}
	scheme, _, found := strings.Cut(e.conn.url, "://")
	if !found {
		scheme = "postgres"
	}
	if makeBackend, ok := backends[strings.ToLower(scheme)]; ok {
		return makeBackend(e)
	}
	return nil, usagef("--url scheme %q: want postgres://, postgresql:// or nats://", scheme)
}

// A database is a store, and what to call it in messages.
type database struct {
	store offsetstore.Admin
	// where names the server, never a password: "database app on
	// 10.0.0.5:5432"; holder what holds the offsets there: `table "t"`.
	where, holder string
	// explain turns the store's error into what an operator must read.
	explain func(ctx context.Context, err error) error
	// stamped is the store clock's last reading: the timestamp a reset
	// wrote.
	stamped time.Time
}

// clock returns the store's clock: e's, remembered in db.stamped.
func (db *database) clock(e *env) func() time.Time {
	return func() time.Time {
		db.stamped = e.now()
		return db.stamped
	}
}

func (db *database) in() string { return db.holder + " of " + db.where }

// connect connects to the store of b, creating its table or bucket only if
// create.
func (e *env) connect(ctx context.Context, b *backend, create bool) (*database, error) {
	db := b.open(create)
	if err := db.store.Connect(ctx); err != nil {
		return db, db.explain(ctx, err)
	}
	return db, nil
}

// open chooses the backend, checks names with it, and connects, bounded
// by --timeout from now.
func (e *env) open(ctx context.Context, names ...string) (context.Context, context.CancelFunc, *database, error) {
	b, err := e.chooseBackend()
	for _, name := range names {
		if err == nil {
			if err = b.checkName(name); err != nil {
				err = &usageError{msg: err.Error()}
			}
		}
	}
	if err != nil {
		return ctx, func() {}, nil, err
	}
	ctx, cancel := e.withTimeout(ctx)
	db, err := e.connect(ctx, b, false)
	return ctx, cancel, db, err
}

// withTimeout returns ctx bounded by --timeout from now. Commands call it
// just before they connect, import once it has read its input: the time a
// pipe or a person takes is not the store's.
func (e *env) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if e.conn.timeout == 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, e.conn.timeout)
}

// close disconnects db, waiting at most a second: every change is
// committed, and a server that stopped answering must not hold the exit.
func (db *database) close() {
	if db == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() {
		_ = db.store.Disconnect(ctx)
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// projectionOffsets returns the offsets of projection name, or an error
// ending with then, what the command will not do, if it has none: a name
// typed that has no offsets is more often a typo than an empty projection.
func (db *database) projectionOffsets(ctx context.Context, name, then string) ([]*egopb.Offset, error) {
	offsets, err := db.store.Offsets(ctx, name)
	if err != nil {
		return nil, db.explain(ctx, err)
	}
	if len(offsets) == 0 {
		msg := fmt.Sprintf("projection %q has no offsets in %s", name, db.in())
		if then != "" {
			msg += ": " + then
		}
		return nil, errors.New(msg)
	}
	return offsets, nil
}

// An explained error says in words what the error it wraps says in the
// driver's.
type explained struct {
	msg string
	err error
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.err }

// storePrefix is what the stores put in front of their errors.
var storePrefix = regexp.MustCompile(`^[a-z]+: [A-Za-z]+: `)

// explainCommon explains the errors of every backend, where names the
// server, and returns nil for the others.
func (e *env) explainCommon(ctx context.Context, err error, where string) error {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &explained{msg: fmt.Sprintf("no answer from %s within %v (--timeout)", where, e.conn.timeout), err: err}
	case errors.Is(ctx.Err(), context.Canceled):
		return &explained{msg: "interrupted while working on " + where, err: err}
	case errors.Is(err, offsetstore.ErrInvalidArgument):
		// A name, --table or --bucket the store cannot hold: the store's
		// prefix would only make the line longer.
		return &usageError{msg: storePrefix.ReplaceAllString(err.Error(), "")}
	}
	return nil
}
