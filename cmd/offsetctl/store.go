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
	// checkName checks a projection name as the store does, before
	// anything is sent: import reports bad names with their lines.
	checkName func(name string) error
	// open returns the store of the flags, not connected; with create,
	// connecting creates the table or bucket when it is missing.
	open func(create bool) (*database, error)
	// missing reports whether an error of Connect says the table or
	// bucket does not exist.
	missing func(err error) bool
}

// backends maps each scheme of --url to the function that makes its
// backend; a connection string without a scheme is PostgreSQL's
// key=value form.
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
	if e.conn.url == "" {
		e.conn.url = e.getenv(urlVariable)
	}
	if e.conn.url == "" {
		e.conn.url = e.getenv(postgresURLVariable)
	}
	if e.conn.url == "" {
		return nil, usagef("no store given: pass --url, or set %s or %s", urlVariable, postgresURLVariable)
	}
	scheme, _, found := strings.Cut(e.conn.url, "://")
	if !found {
		scheme = "postgres"
	}
	makeBackend, ok := backends[strings.ToLower(scheme)]
	if !ok {
		return nil, usagef("--url scheme %q: want postgres://, postgresql:// or nats://", scheme)
	}
	return makeBackend(e)
}

// A database is the store offsetctl works on, and what to call it in
// messages.
type database struct {
	store offsetstore.Admin
	// where names the server, and database, never a password:
	// "database app on 10.0.0.5:5432".
	where string
	// holder names what holds the offsets there: `table "offsets_store"`.
	holder string
	// explain turns an error of the store into what an operator needs to
	// read.
	explain func(ctx context.Context, err error) error
	// stamped is the clock's last reading the store took, which is the
	// timestamp a reset wrote.
	stamped time.Time
}

// clock returns the store's clock: e's, remembered in db.stamped.
func (db *database) clock(e *env) func() time.Time {
	return func() time.Time {
		db.stamped = e.now()
		return db.stamped
	}
}

// in names where db's offsets are, for messages.
func (db *database) in() string { return db.holder + " of " + db.where }

// connect connects to the store of b. It does not create the table or
// bucket unless create is true.
func (e *env) connect(ctx context.Context, b *backend, create bool) (*database, error) {
	db, err := b.open(create)
	if err != nil {
		return nil, err
	}
	if err := db.store.Connect(ctx); err != nil {
		return db, db.explain(ctx, err)
	}
	return db, nil
}

// open chooses the backend, checks names with it, and connects, bounded
// by --timeout from now; the caller calls the returned cancel, and closes
// the database.
func (e *env) open(ctx context.Context, names ...string) (context.Context, context.CancelFunc, *database, error) {
	b, err := e.chooseBackend()
	if err == nil {
		err = checkNames(b, names...)
	}
	if err != nil {
		return ctx, func() {}, nil, err
	}
	ctx, cancel := e.withTimeout(ctx)
	db, err := e.connect(ctx, b, false)
	return ctx, cancel, db, err
}

// checkNames checks the projection names an operator typed.
func checkNames(b *backend, names ...string) error {
	for _, name := range names {
		if err := b.checkName(name); err != nil {
			return &usageError{msg: err.Error()}
		}
	}
	return nil
}

// close disconnects db, waiting at most a second: offsetctl has nothing
// left to send, every change it made is committed, and a server that
// stopped answering must not hold the exit.
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

// projectionOffsets returns the offsets of projection name, or an error if
// it has none, ending with then, what the command will not do: a name an
// operator typed that has no offsets is a typo or the wrong table more
// often than an empty projection.
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

// An explained error says in its own words what the error it wraps says in
// the driver's.
type explained struct {
	msg string
	err error
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.err }

// storePrefix is what the stores put in front of their errors.
var storePrefix = regexp.MustCompile(`^[a-z]+: [A-Za-z]+: `)

// explainCommon explains the errors every backend shares, and returns nil
// for the others: where names the server, and what took too long after
// it answered.
func (e *env) explainCommon(ctx context.Context, err error, where string) error {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &explained{msg: fmt.Sprintf("no answer from %s within %v (--timeout)", where, e.conn.timeout), err: err}
	case errors.Is(ctx.Err(), context.Canceled):
		return &explained{msg: "interrupted while working on " + where, err: err}
	case errors.Is(err, offsetstore.ErrInvalidArgument):
		// A store refuses a name, a --table or a --bucket it cannot
		// hold; its own prefix would only make the line longer.
		return &usageError{msg: storePrefix.ReplaceAllString(err.Error(), "")}
	}
	return nil
}
