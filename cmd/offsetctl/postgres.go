package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/nats"
	"github.com/ego-contrib/offsetstore/postgres"
)

// SQLSTATE codes offsetctl explains in its own words.
const (
	codeUndefinedTable    = "42P01"
	codeInvalidSchemaName = "3F000"
	codeUndefinedColumn   = "42703"
)

// postgresBackend is PostgreSQL, through package postgres.
func postgresBackend(e *env) (*backend, error) {
	if e.bucket != nats.DefaultBucket {
		return nil, usagef("--bucket is for NATS: PostgreSQL takes --schema and --table")
	}
	if f := e.nats.set(); f != "" {
		return nil, usagef("%s is for NATS: PostgreSQL reads TLS and credentials from --url (sslmode, sslrootcert, sslcert, sslkey, password) and ~/.pgpass", f)
	}
	if e.replicasGiven {
		return nil, usagef("--replicas is for NATS: a PostgreSQL table has no replicas of its own")
	}
	// The store parses the string as pgxpool does, pool settings included:
	// what it would refuse is refused here, before anything is sent.
	config, err := pgxpool.ParseConfig(e.url)
	if err != nil {
		return nil, usagef("cannot use %s: %s", e.urlFrom, parseReason(err))
	}
	opts := []postgres.Option{postgres.WithTable(e.table)}
	id := pgx.Identifier{e.table}
	if e.schema != "" {
		opts = append(opts, postgres.WithSchema(e.schema))
		id = pgx.Identifier{e.schema, e.table}
	}
	b := &backend{
		where:       describe(&config.ConnConfig.Config),
		holder:      "table " + id.Sanitize(),
		postgresURL: e.url,
		checkName:   postgres.CheckProjectionName,
		missing:     missingTable,
		answered:    answered,
	}
	b.connect = func(ctx context.Context, create bool, clock func() time.Time) (offsetstore.Admin, error) {
		// Clipped: each store gets options of its own.
		opts := append(slices.Clip(opts), postgres.WithClock(clock))
		if create {
			opts = append(opts, postgres.WithCreateTable())
		}
		s := postgres.NewOffsetStore(e.url, opts...)
		return s, s.Connect(ctx)
	}
	// What creates the table, for the message that says it is missing:
	// the statement, which needs no source tree, with its schema's.
	create := oneLineSQL(postgres.NewOffsetStore(e.url, opts...).CreateTableSQL())
	if e.schema != "" {
		create = "CREATE SCHEMA IF NOT EXISTS " + pgx.Identifier{e.schema}.Sanitize() + "; " + create
	}
	b.describe = func(err error) string {
		if missingTable(err) {
			return fmt.Sprintf("%s does not exist in %s: check --schema and --table; import --execute creates it, or run: %s", b.holder, b.where, create)
		}
		return describePostgres(err, b)
	}
	return b, nil
}

// oneLineSQL returns statement on one line, without its comments, so
// that an error message of one line can hold it, ready to paste into
// psql.
func oneLineSQL(statement string) string {
	var lines []string
	for line := range strings.Lines(statement) {
		// The statement is the package's own, with no "--" in a string.
		line, _, _ = strings.Cut(line, "--")
		lines = append(lines, line)
	}
	return strings.Join(strings.Fields(strings.Join(lines, " ")), " ")
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

// describePostgres says what err, returned by the store of b, means.
func describePostgres(err error, b *backend) string {
	var pgErr *pgconn.PgError
	var dnsErr *net.DNSError
	var connectErr *pgconn.ConnectError
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == codeUndefinedColumn:
		// Every statement reads the same four columns: a table that lacks
		// one is another table than eGo's.
		return fmt.Sprintf("%s in %s is not an offsets table: server says: %s: check --schema and --table", b.holder, b.where, pgErr.Message)
	case errors.As(err, &pgErr):
		return fmt.Sprintf("%s: server says: %s (SQLSTATE %s)", b.where, pgErr.Message, pgErr.Code)
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("cannot connect to %s: cannot resolve host %s: %s", b.where, dnsErr.Name, dnsErr.Err)
	case errors.As(err, &connectErr):
		return fmt.Sprintf("cannot connect to %s: %s", b.where, dialFailures(connectErr))
	}
	return fmt.Sprintf("%s: %s", b.where, err)
}

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

// dialFailures says why each address the driver tried failed: "connection
// refused" for one address, "ADDR: why; ADDR: why" for several. The driver
// joins one error per attempt, and may try each address twice, with TLS
// and without, for the same reason.
func dialFailures(err error) string {
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		return rootCause(err).Error()
	}
	var reasons []string
	addrs := map[string]bool{}
	for _, attempt := range joined.Unwrap() {
		addr := ""
		var opErr *net.OpError
		if errors.As(attempt, &opErr) && opErr.Addr != nil {
			addr = opErr.Addr.String()
		}
		addrs[addr] = true
		if reason := addr + ": " + rootCause(attempt).Error(); !slices.Contains(reasons, reason) {
			reasons = append(reasons, reason)
		}
	}
	if len(addrs) == 1 {
		// The message names the one address already.
		for i := range reasons {
			_, reasons[i], _ = strings.Cut(reasons[i], ": ")
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
