package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/ego-contrib/offsetstore/egopb"
)

// lagSQL reads, for each offset (its shard in $1, its value in $2), how
// many events of its shard the events table holds after the value, and
// the newest and the oldest of them.
//
// The table is eGo's PostgreSQL events store as ego-contrib makes it
// (github.com/tochemey/ego-contrib, eventstore/postgres/resources/
// eventstore_postgres.sql, commit c467157; testdata/events_store.sql is a
// copy): one row per event, shard_number the event's shard, timestamp its
// time in Unix nanoseconds, indexed on each of the two alone. eGo's
// projection runner (projection_runner.go) reads a shard's events with
// shard_number = shard AND timestamp > offset, oldest first, and commits
// the timestamp of the last one it handled as the offset's value: the
// events after the value are the ones it has yet to handle.
//
// $3, the lowest value of all, bounds the scan, so that the index on
// timestamp limits it to the events newer than the furthest-behind offset:
// a few for projections near their head, every event only when one
// starts from the beginning; a hash join then matches the events to the
// offsets of their shard. Reading each offset's shard through the index on
// shard_number instead reads every event of the shard, however few are
// behind: see BenchmarkLag.
const lagSQL = `SELECT count(e.timestamp), coalesce(max(e.timestamp), 0), coalesce(min(e.timestamp), 0)
FROM unnest($1::bigint[], $2::bigint[]) WITH ORDINALITY AS o(shard, value, i)
LEFT JOIN %s AS e ON e.shard_number = o.shard AND e.timestamp > o.value AND e.timestamp > $3
GROUP BY o.i
ORDER BY o.i`

// eventsOptions are the flags that name eGo's events table, from which
// projections and offsets read how far behind the events each offset is.
type eventsOptions struct {
	table, schema, url string
}

func addEventsFlags(cmd *cobra.Command, o *eventsOptions) {
	fs := cmd.Flags()
	fs.StringVar(&o.table, "events-table", "", "read EVENTS BEHIND and LAG from eGo's events `TABLE` in PostgreSQL (events_store, as ego-contrib's eventstore/postgres names it)")
	fs.StringVar(&o.schema, "events-schema", "", "`SCHEMA` of --events-table (default: the first schema of the search_path)")
	fs.StringVar(&o.url, "events-url", "", "PostgreSQL `URL` of the database of --events-table (default: the offsets' database; required when the offsets are in NATS)")
}

// An eventsTable is eGo's events table, where the flags of o say, for the
// offsets of b; nil if o names none.
type eventsTable struct {
	config *pgx.ConnConfig
	// where names the database, holder the table, as backend's do.
	where, holder string
	query         string
	// timeout is --timeout, for messages.
	timeout time.Duration
}

// eventsTable checks the flags of o against b, the offsets' backend, and
// returns the table they name, or nil if none: every mistake is found
// before anything is sent.
func (o eventsOptions) eventsTable(b *backend, timeout time.Duration) (*eventsTable, error) {
	if o.table == "" {
		if o.url != "" || o.schema != "" {
			return nil, usagef("--events-url and --events-schema say where --events-table is: give --events-table too")
		}
		return nil, nil
	}
	url, flag := o.url, "--events-url"
	// Checked here, not left to pgx, whose answer to a URL of another
	// scheme speaks of key=value strings: the offsets' own NATS URL is
	// the mistake to expect.
	if scheme, _, found := strings.Cut(url, "://"); found && !isPostgresScheme(scheme) {
		return nil, usagef("--events-url scheme %q: want postgres://, postgresql:// or a key=value string: eGo's events table is in PostgreSQL", scheme)
	}
	if url == "" {
		if b.postgresURL == "" {
			return nil, usagef("--events-table: the offsets are in NATS; give --events-url, the PostgreSQL database of eGo's events")
		}
		url, flag = b.postgresURL, "--url"
	}
	// Parsed as the offsets' store parses --url, so that the pool's
	// settings in it are not sent to the server as its own.
	pool, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, usagef("cannot use %s: %s", flag, parseReason(err))
	}
	config := pool.ConnConfig
	id := pgx.Identifier{o.table}
	if o.schema != "" {
		id = pgx.Identifier{o.schema, o.table}
	}
	return &eventsTable{
		config:  config,
		where:   describe(&config.Config),
		holder:  "table " + id.Sanitize(),
		query:   fmt.Sprintf(lagSQL, id.Sanitize()),
		timeout: timeout,
	}, nil
}

// A shardLag is how far an offset is behind the events of its shard.
type shardLag struct {
	// behind counts the events of the shard after the offset's value:
	// those the projection has yet to handle.
	behind int64
	// lag is the time of the newest of them less the time of the offset's
	// value, or, if the value is no time (0, when a projection starts from
	// the beginning), less the time of the oldest of them; 0 if none is
	// behind.
	lag time.Duration
}

// lagOf is the lag of an offset of value, with behind events after it,
// the newest and the oldest at those times.
func lagOf(value, behind, newest, oldest int64) shardLag {
	if behind == 0 {
		return shardLag{}
	}
	from := oldest
	if _, ok := valueTime(value); ok {
		from = value
	}
	return shardLag{behind, time.Duration(saturatingSub(newest, from))}
}

// saturatingSub returns a - b, or the int64 nearest to it.
func saturatingSub(a, b int64) int64 {
	d := a - b
	switch {
	case b < 0 && d < a:
		return math.MaxInt64
	case b > 0 && d > a:
		return math.MinInt64
	}
	return d
}

// worst returns the index of the furthest-behind of lags: the longest
// lag, then the most events behind, then the first.
func worst(lags []shardLag) int {
	w := 0
	for i, l := range lags {
		if l.lag > lags[w].lag || (l.lag == lags[w].lag && l.behind > lags[w].behind) {
			w = i
		}
	}
	return w
}

// lags returns the lag of each of offsets, in their order, read in one
// statement on a connection of its own, which it closes.
func (t *eventsTable) lags(ctx context.Context, offsets []*egopb.Offset) ([]shardLag, error) {
	if len(offsets) == 0 {
		return nil, nil
	}
	shards := make([]int64, len(offsets))
	values := make([]int64, len(offsets))
	for i, o := range offsets {
		// A shard from 2^63 up reads as negative, as in the offsets
		// table, and matches no event: eGo's shards are few and small.
		shards[i], values[i] = int64(o.ShardNumber), o.Value
	}
	conn, err := pgx.ConnectConfig(ctx, t.config)
	if err != nil {
		return nil, t.explain(ctx, err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, t.query, shards, values, slices.Min(values))
	if err != nil {
		return nil, t.explain(ctx, err)
	}
	lags := make([]shardLag, 0, len(offsets))
	var behind, newest, oldest int64
	_, err = pgx.ForEachRow(rows, []any{&behind, &newest, &oldest}, func() error {
		lags = append(lags, lagOf(values[len(lags)], behind, newest, oldest))
		return nil
	})
	if err != nil {
		return nil, t.explain(ctx, err)
	}
	return lags, nil
}

// explain says what err, from the events table's database, means.
func (t *eventsTable) explain(ctx context.Context, err error) error {
	var pgErr *pgconn.PgError
	var msg string
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		msg = fmt.Sprintf("no answer from %s, of the events, within %v (--timeout)", t.where, t.timeout)
	case errors.Is(ctx.Err(), context.Canceled):
		msg = "interrupted while reading the events in " + t.where
	case missingTable(err):
		msg = fmt.Sprintf("events %s does not exist in %s: check --events-schema and --events-table, eGo's events store table (events_store)", t.holder, t.where)
	case errors.As(err, &pgErr) && pgErr.Code == codeUndefinedColumn:
		msg = fmt.Sprintf("%s in %s is not eGo's events table: server says: %s: check --events-schema and --events-table", t.holder, t.where, pgErr.Message)
	default:
		msg = describePostgres(err, &backend{where: t.where, holder: "events " + t.holder}) + " (the events' database)"
	}
	return &offsetctlError{msg: msg, err: err}
}

// lagCells are the cells of a table for l: EVENTS BEHIND and LAG.
func lagCells(l shardLag) []string {
	return []string{fmt.Sprint(l.behind), formatDuration(l.lag)}
}

// jsonLag is l as JSON prints it, with the worst shard of a projection
// if shard is not nil.
func jsonLag(l shardLag, shard *uint64) *lagJSON {
	return &lagJSON{WorstShard: shard, EventsBehind: l.behind, Lag: formatDuration(l.lag), LagNanos: int64(l.lag)}
}
