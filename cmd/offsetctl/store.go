package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
)

// A backend is the store --url names, set up with the flags: everything
// offsetctl must know of it beyond [offsetstore.Admin].
type backend struct {
	// where names the server, never a password: "database app on
	// 10.0.0.5:5432"; holder what holds the offsets there: `table "t"`.
	where, holder string
	// postgresURL is --url if the offsets are in PostgreSQL, for the
	// events table; "" otherwise.
	postgresURL string
	// checkName checks a projection name as the store will, before
	// anything is sent.
	checkName func(name string) error
	// connect returns the store, connected, stamping with clock; with
	// create, connecting creates the table or bucket that is missing. It
	// returns what it made even with an error, for close to release.
	connect func(ctx context.Context, create bool, clock func() time.Time) (offsetstore.Admin, error)
	// missing reports whether Connect's error says the table or bucket
	// does not exist.
	missing func(err error) bool
	// answered reports whether an error at the deadline says the server
	// had answered; nil if the backend cannot tell.
	answered func(err error) bool
	// describe says in words what an error of the store means, one that
	// is not of every backend.
	describe func(err error) string
}

// chooseBackend returns the backend of --url, by its scheme; a string
// without a scheme is PostgreSQL's key=value form.
func (e *env) chooseBackend() (*backend, error) {
	if e.choose != nil {
		return e.choose()
	}
	if e.timeout < 0 {
		return nil, usagef("--timeout %v: want a positive duration, or 0 for none", e.timeout)
	}
	e.urlFrom = "--url"
	for _, v := range urlVariables {
		if e.url == "" {
			e.url, e.urlFrom = e.getenv(v), "$"+v
		}
	}
	if e.url == "" {
		return nil, usagef("no store given: pass --url, or set %s", strings.Join(urlVariables, ", "))
	}
	scheme, _, found := strings.Cut(e.url, "://")
	switch strings.ToLower(scheme) {
	case "nats", "tls":
		return natsBackend(e)
	}
	if !found || isPostgresScheme(scheme) {
		return postgresBackend(e)
	}
	return nil, usagef("%s scheme %q: want postgres://, postgresql://, nats:// or tls://", e.urlFrom, scheme)
}

// isPostgresScheme reports whether scheme, that of a URL, is one of
// PostgreSQL's, in any case.
func isPostgresScheme(scheme string) bool {
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
		return true
	}
	return false
}

// A database is a store a command works on, connected.
type database struct {
	*backend
	store   offsetstore.Admin
	timeout time.Duration
	// stamped is the store clock's last reading: the timestamp a reset
	// wrote.
	stamped time.Time
	// cancel ends the command's bound of --timeout.
	cancel context.CancelFunc
}

// connect connects to the store of b, creating its table or bucket only if
// create.
func (e *env) connect(ctx context.Context, b *backend, create bool) (*database, error) {
	db := &database{backend: b, timeout: e.timeout, cancel: func() {}}
	var err error
	db.store, err = b.connect(ctx, create, func() time.Time {
		db.stamped = e.now()
		return db.stamped
	})
	if err != nil {
		return db, db.explain(ctx, err)
	}
	return db, nil
}

// open chooses the backend, and connects to it as openBackend does.
func (e *env) open(ctx context.Context, names ...string) (context.Context, *database, error) {
	b, err := e.chooseBackend()
	if err != nil {
		return ctx, nil, err
	}
	return e.openBackend(ctx, b, names...)
}

// openBackend checks names with b, and connects to it, bounded by
// --timeout from now; db.close ends the bound, whatever the error.
func (e *env) openBackend(ctx context.Context, b *backend, names ...string) (context.Context, *database, error) {
	for _, name := range names {
		if err := b.checkName(name); err != nil {
			return ctx, nil, usagef("%s", err)
		}
	}
	ctx, cancel := e.withTimeout(ctx)
	db, err := e.connect(ctx, b, false)
	db.cancel = cancel
	return ctx, db, err
}

// withTimeout returns ctx bounded by --timeout from now. Commands call it
// just before they connect, import once it has read its input: the time a
// pipe or a person takes is not the store's.
func (e *env) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if e.timeout == 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, e.timeout)
}

// close disconnects db, waiting at most a second, as both stores allow:
// every change is committed, and a server that stopped answering must not
// hold the exit.
func (db *database) close() {
	if db == nil {
		return
	}
	defer db.cancel()
	if db.store == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = db.store.Disconnect(ctx)
}

// offsets returns the offsets of projection name's shards, or of all of
// them if shards is empty, or an error if there are none, ending with
// then, what the command will not do: a name typed that has no offsets is
// more often a typo than an empty projection.
func (db *database) offsets(ctx context.Context, name string, shards []uint64, then string) ([]*egopb.Offset, error) {
	offsets, err := db.store.Offsets(ctx, name)
	if err != nil {
		return nil, db.explain(ctx, err)
	}
	if len(offsets) == 0 {
		msg := fmt.Sprintf("projection %q has no offsets in %s", name, db.holder+" of "+db.where)
		if then != "" {
			msg += ": " + then
		}
		return nil, errors.New(msg)
	}
	if len(shards) == 0 {
		return offsets, nil
	}
	// offsets is sorted by shard, as the store returns it, and so are the
	// offsets a reset or a delete returns: selecting in its order keeps
	// the dry run's plan the same as --execute's.
	selected := slices.DeleteFunc(offsets, func(o *egopb.Offset) bool { return !slices.Contains(shards, o.ShardNumber) })
	// An operator who names shards that are not there has mistyped
	// something, and changing the others would be half of what was meant.
	if missing := missingShards(shards, selected); missing != "" {
		return nil, fmt.Errorf("projection %q has no offset for shard %s ('offsetctl offsets %s' lists its shards): nothing changed", name, missing, name)
	}
	return selected, nil
}

// missingShards names the shards of want that got lacks, or "" if it
// lacks none: shards mistyped, or deleted by another client between
// offsetctl's read and its change.
func missingShards(want []uint64, got []*egopb.Offset) string {
	var missing []string
	for _, shard := range want {
		if !slices.ContainsFunc(got, func(o *egopb.Offset) bool { return o.ShardNumber == shard }) {
			missing = append(missing, strconv.FormatUint(shard, 10))
		}
	}
	return strings.Join(missing, ", ")
}

// shardNumbers returns the shards of offsets.
func shardNumbers(offsets []*egopb.Offset) []uint64 {
	shards := make([]uint64, len(offsets))
	for i, o := range offsets {
		shards[i] = o.ShardNumber
	}
	return shards
}

// storePrefix is what the stores put in front of their errors.
var storePrefix = regexp.MustCompile(`^[a-z]+: [A-Za-z]+: `)

// explain turns err, returned by the store, into what an operator needs
// to read: what failed, where, and why, in words rather than in the
// driver's layers. The error it returns still wraps err.
func (db *database) explain(ctx context.Context, err error) error {
	var msg string
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) && db.answered != nil && db.answered(err):
		msg = fmt.Sprintf("%s answered, but a statement on %s did not finish within %v (--timeout): another session may hold a lock on its rows (an open transaction writing the projection) or on the table",
			db.where, db.holder, db.timeout)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		msg = fmt.Sprintf("no answer from %s within %v (--timeout)", db.where, db.timeout)
	case errors.Is(ctx.Err(), context.Canceled):
		msg = "interrupted while working on " + db.where
	case errors.Is(err, offsetstore.ErrInvalidArgument):
		// A name, --table or --bucket the store cannot hold: the store's
		// prefix would only make the line longer.
		return usagef("%s", storePrefix.ReplaceAllString(err.Error(), ""))
	default:
		msg = db.describe(err)
	}
	return &offsetctlError{msg: msg, err: err}
}
