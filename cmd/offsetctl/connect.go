package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/postgres"
)

// SQLSTATE codes offsetctl explains in its own words.
const (
	codeUndefinedTable    = "42P01"
	codeInvalidSchemaName = "3F000"
	codeUndefinedColumn   = "42703"
)

// A database is the store offsetctl works on, and what to call it in
// messages.
type database struct {
	store *postgres.OffsetStore
	// where names the server and database, never the password.
	where string
	// table is the table's name as SQL spells it.
	table string
	// stamped is the clock's last reading the store took, which is the
	// timestamp a reset wrote.
	stamped time.Time
}

// connect connects to the database of the invocation's flags. It does not
// create the table unless createTable is true.
func (inv *invocation) connect(ctx context.Context, createTable bool) (*database, error) {
	db, err := inv.database(createTable)
	if err != nil {
		return nil, err
	}
	if err := db.store.Connect(ctx); err != nil {
		return db, db.explain(ctx, inv, err)
	}
	return db, nil
}

// database returns the database of the invocation's flags, not connected.
func (inv *invocation) database(createTable bool) (*database, error) {
	o := &inv.opts
	if o.url == "" {
		return nil, usagef("no database given: pass --url, or set %s", urlVariable)
	}
	// The store parses the string as pgxpool does, pool settings included:
	// what it would refuse is refused here, before anything is sent.
	config, err := pgxpool.ParseConfig(o.url)
	if err != nil {
		return nil, usagef("cannot use --url (or $%s): %s", urlVariable, parseReason(err))
	}
	db := &database{where: describe(&config.ConnConfig.Config)}
	opts := []postgres.Option{
		postgres.WithTable(o.table),
		postgres.WithClock(func() time.Time {
			db.stamped = inv.now()
			return db.stamped
		}),
	}
	id := pgx.Identifier{o.table}
	if o.schema != "" {
		opts = append(opts, postgres.WithSchema(o.schema))
		id = pgx.Identifier{o.schema, o.table}
	}
	if createTable {
		opts = append(opts, postgres.WithCreateTable())
	}
	db.table = id.Sanitize()
	db.store = postgres.NewOffsetStore(o.url, opts...)
	return db, nil
}

// parseReason says why the driver could not parse a connection string,
// without the string: the driver's error quotes it, the password masked
// only where the driver can tell where the password is.
func parseReason(err error) string {
	var urlErr *url.Error
	var parseErr *pgconn.ParseConfigError
	switch {
	case errors.As(err, &urlErr):
		return urlErr.Err.Error()
	case errors.As(err, &parseErr):
		// The reason follows the quoted string: "cannot parse `...`: why".
		msg := parseErr.Error()
		if i := strings.LastIndex(msg, "`: "); i >= 0 {
			return msg[i+len("`: "):]
		}
	}
	return "cannot parse it"
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

// describe names the server and database of config, for messages.
func describe(config *pgconn.Config) string {
	hosts := []string{address(config.Host, config.Port)}
	for _, f := range config.Fallbacks {
		if a := address(f.Host, f.Port); a != hosts[len(hosts)-1] {
			hosts = append(hosts, a)
		}
	}
	if config.Database == "" {
		// The server will take the user's name for the database's.
		return "PostgreSQL on " + strings.Join(hosts, " or ")
	}
	return fmt.Sprintf("database %s on %s", config.Database, strings.Join(hosts, " or "))
}

func address(host string, port uint16) string {
	if strings.HasPrefix(host, "/") {
		return fmt.Sprintf("socket %s/.s.PGSQL.%d", host, port)
	}
	return net.JoinHostPort(host, strconv.Itoa(int(port)))
}

// explain turns err, returned by the store, into what an operator needs
// to read: what failed, where, and why, in words rather than in the
// driver's layers. The error it returns still wraps err.
func (db *database) explain(ctx context.Context, inv *invocation, err error) error {
	var pgErr *pgconn.PgError
	var dnsErr *net.DNSError
	var connectErr *pgconn.ConnectError
	var msg string
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) && answered(err):
		msg = fmt.Sprintf("%s answered, but a statement on table %s did not finish within %v (--timeout): another session may hold a lock on its rows (an open transaction writing the projection) or on the table",
			db.where, db.table, inv.opts.timeout)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		msg = fmt.Sprintf("no answer from %s within %v (--timeout)", db.where, inv.opts.timeout)
	case errors.Is(ctx.Err(), context.Canceled):
		msg = fmt.Sprintf("interrupted while working on %s", db.where)
	case missingTable(err):
		msg = fmt.Sprintf("table %s does not exist in %s: check --schema and --table, or create it with the statement in postgres/schema.sql", db.table, db.where)
	case errors.As(err, &pgErr) && pgErr.Code == codeUndefinedColumn:
		// Every statement reads the same four columns: a table that lacks
		// one is another table than eGo's.
		msg = fmt.Sprintf("table %s in %s is not an offsets table: server says: %s: check --schema and --table", db.table, db.where, pgErr.Message)
	case errors.As(err, &pgErr):
		msg = fmt.Sprintf("%s: server says: %s (SQLSTATE %s)", db.where, pgErr.Message, pgErr.Code)
	case errors.As(err, &dnsErr):
		msg = fmt.Sprintf("cannot connect to %s: cannot resolve host %s: %s", db.where, dnsErr.Name, dnsErr.Err)
	case errors.As(err, &connectErr):
		msg = fmt.Sprintf("cannot connect to %s: %s", db.where, dialFailures(connectErr))
	case errors.Is(err, offsetstore.ErrInvalidArgument):
		// Connect refuses a --schema or --table PostgreSQL cannot hold;
		// the store's own prefix would only make the line longer.
		return &usageError{msg: storePrefix.ReplaceAllString(err.Error(), "")}
	default:
		msg = fmt.Sprintf("%s: %s", db.where, err)
	}
	return &explained{msg: msg, err: err}
}

// An explained error says in its own words what the error it wraps says in
// the driver's.
type explained struct {
	msg string
	err error
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.err }

// answered reports whether err, which ended a call at its deadline, says
// that the server had answered: a connection was made, and a statement was
// waiting, most often for a lock that another session holds. The driver
// says so with a timeout on an open connection, or with the server's error
// when the server cancelled the statement first; a deadline that ends the
// connection's making comes without either.
func answered(err error) bool {
	var pgErr *pgconn.PgError
	var connectErr *pgconn.ConnectError
	return errors.As(err, &pgErr) || (pgconn.Timeout(err) && !errors.As(err, &connectErr))
}

// missingTable reports whether err says the table, or its schema, does
// not exist.
func missingTable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == codeUndefinedTable || pgErr.Code == codeInvalidSchemaName)
}

// storePrefix is what package postgres puts in front of its errors.
var storePrefix = regexp.MustCompile(`^postgres: [A-Za-z]+: `)

// dialFailures says why each address the driver tried failed: "connection
// refused" for one address, "ADDR: why; ADDR: why" for several. The driver
// joins one error per attempt, and may try each address twice, with TLS
// and without, for the same reason.
func dialFailures(err error) string {
	var attempts []error
	for e := error(err); e != nil; e = errors.Unwrap(e) {
		if joined, ok := e.(interface{ Unwrap() []error }); ok {
			attempts = joined.Unwrap()
			break
		}
	}
	if len(attempts) == 0 {
		return rootCause(err).Error()
	}
	var reasons, addrs []string
	for _, attempt := range attempts {
		addr := ""
		var opErr *net.OpError
		if errors.As(attempt, &opErr) && opErr.Addr != nil {
			addr = opErr.Addr.String()
		}
		reason := addr + ": " + rootCause(attempt).Error()
		if !slices.Contains(reasons, reason) {
			reasons = append(reasons, reason)
		}
		if !slices.Contains(addrs, addr) {
			addrs = append(addrs, addr)
		}
	}
	if len(addrs) == 1 {
		for i, r := range reasons {
			reasons[i] = strings.TrimPrefix(r, addrs[0]+": ")
		}
	}
	return strings.Join(reasons, "; ")
}

// rootCause returns the innermost error of err's chain, such as
// "connection refused" under "dial tcp 127.0.0.1:5432: connect:".
func rootCause(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}
