package main

import (
	"cmp"
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

// shardsSQL reads the shards the events table has events of, as eGo's
// runner learns them (ego-contrib's ShardNumbers reads SELECT DISTINCT
// shard_number), smallest first: the runner works every one of them, and
// starts a shard a projection has no offset for from 0.
//
// PostgreSQL reads every event for DISTINCT; this walks the index on
// shard_number instead, one probe per shard, each for the smallest shard
// above the last: see BenchmarkLag.
const shardsSQL = `WITH RECURSIVE s(shard) AS (
	(SELECT e.shard_number FROM %[1]s AS e ORDER BY e.shard_number LIMIT 1)
	UNION ALL
	SELECT (SELECT e.shard_number FROM %[1]s AS e WHERE e.shard_number > s.shard ORDER BY e.shard_number LIMIT 1)
	FROM s WHERE s.shard IS NOT NULL
)
SELECT shard FROM s WHERE shard IS NOT NULL`

// fromStartSQL reads, for each shard in $1, how many events of the shard
// the events table holds after 0, and the newest and the oldest of them:
// the lag of a shard a projection has no offset for, whose events eGo's
// runner reads from 0.
//
// Each shard's events are read through the index on shard_number: only
// the shards no offset is on, every event of which is behind, rather than
// every event after 0, as lagSQL would with these shards at 0 among the
// offsets: see BenchmarkLag.
const fromStartSQL = `SELECT b.n, b.newest, b.oldest
FROM unnest($1::bigint[]) WITH ORDINALITY AS m(shard, i)
CROSS JOIN LATERAL (SELECT count(*) AS n, coalesce(max(e.timestamp), 0) AS newest, coalesce(min(e.timestamp), 0) AS oldest
	FROM %s AS e WHERE e.shard_number = m.shard AND e.timestamp > 0) AS b
ORDER BY m.i`

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
	// lagQuery, shardsQuery and fromStartQuery are lagSQL, shardsSQL and
	// fromStartSQL on the table.
	lagQuery, shardsQuery, fromStartQuery string
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
	return newEventsTable(config, id, timeout), nil
}

// newEventsTable returns the events table id in the database of config.
func newEventsTable(config *pgx.ConnConfig, id pgx.Identifier, timeout time.Duration) *eventsTable {
	table := id.Sanitize()
	return &eventsTable{
		config:         config,
		where:          describe(&config.Config),
		holder:         "table " + table,
		lagQuery:       fmt.Sprintf(lagSQL, table),
		shardsQuery:    fmt.Sprintf(shardsSQL, table),
		fromStartQuery: fmt.Sprintf(fromStartSQL, table),
		timeout:        timeout,
	}
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

// A lagRow is a shard of a projection and how far it is behind the
// events of its shard: offset is the projection's offset on the shard, or
// nil if it has none but the events table has events of the shard, which
// eGo's runner reads from 0.
type lagRow struct {
	name   string
	shard  uint64
	offset *egopb.Offset
	lag    shardLag
}

// lags returns a row for each of offsets, sorted by projection name,
// and for each shard of the events table that a projection of offsets has
// no offset for, each projection's rows sorted by shard. It reads them on
// a connection of its own, which it closes.
func (t *eventsTable) lags(ctx context.Context, offsets []*egopb.Offset) ([]lagRow, error) {
	if len(offsets) == 0 {
		return nil, nil
	}
	conn, err := pgx.ConnectConfig(ctx, t.config)
	if err != nil {
		return nil, t.explain(ctx, err)
	}
	defer conn.Close(context.Background())
	shards, err := t.shards(ctx, conn)
	if err != nil {
		return nil, err
	}
	rows := rowsOf(offsets, shards)
	var withOffset []*egopb.Offset
	var noOffset []uint64
	for _, r := range rows {
		if r.offset != nil {
			withOffset = append(withOffset, r.offset)
		} else if !slices.Contains(noOffset, r.shard) {
			noOffset = append(noOffset, r.shard)
		}
	}
	lags, err := t.offsetLags(ctx, conn, withOffset)
	if err != nil {
		return nil, err
	}
	fromStart, err := t.fromStartLags(ctx, conn, noOffset)
	if err != nil {
		return nil, err
	}
	for i := range rows {
		if rows[i].offset != nil {
			rows[i].lag, lags = lags[0], lags[1:]
		} else {
			rows[i].lag = fromStart[rows[i].shard]
		}
	}
	return rows, nil
}

// rowsOf returns a row, with no lag yet, for each of offsets,
// sorted by projection name, and for each of shards that a projection of
// offsets has no offset for; each projection's rows sorted by shard.
func rowsOf(offsets []*egopb.Offset, shards []uint64) []lagRow {
	var rows []lagRow
	// offsets is sorted by name: each projection's shards are a run.
	for start := 0; start < len(offsets); {
		name := offsets[start].ProjectionName
		end := start + 1
		for end < len(offsets) && offsets[end].ProjectionName == name {
			end++
		}
		first := len(rows)
		has := map[uint64]bool{}
		for _, o := range offsets[start:end] {
			rows = append(rows, lagRow{name: name, shard: o.ShardNumber, offset: o})
			has[o.ShardNumber] = true
		}
		for _, s := range shards {
			if !has[s] {
				rows = append(rows, lagRow{name: name, shard: s})
			}
		}
		slices.SortStableFunc(rows[first:], func(a, b lagRow) int { return cmp.Compare(a.shard, b.shard) })
		start = end
	}
	return rows
}

// shards returns the shards the events table has events of.
func (t *eventsTable) shards(ctx context.Context, conn *pgx.Conn) ([]uint64, error) {
	rows, err := conn.Query(ctx, t.shardsQuery)
	if err != nil {
		return nil, t.explain(ctx, err)
	}
	shards, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (uint64, error) {
		var shard int64
		err := row.Scan(&shard)
		// As offsets' shards are read from 2^63 up: eGo's are small.
		return uint64(shard), err
	})
	if err != nil {
		return nil, t.explain(ctx, err)
	}
	return shards, nil
}

// offsetLags returns the lag of each of offsets, in their order, read in
// one statement on conn.
func (t *eventsTable) offsetLags(ctx context.Context, conn *pgx.Conn, offsets []*egopb.Offset) ([]shardLag, error) {
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
	rows, err := conn.Query(ctx, t.lagQuery, shards, values, slices.Min(values))
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

// fromStartLags returns, by shard, the lag from 0 of each of shards, read
// in one statement on conn.
func (t *eventsTable) fromStartLags(ctx context.Context, conn *pgx.Conn, shards []uint64) (map[uint64]shardLag, error) {
	if len(shards) == 0 {
		return nil, nil
	}
	numbers := make([]int64, len(shards))
	for i, s := range shards {
		numbers[i] = int64(s)
	}
	rows, err := conn.Query(ctx, t.fromStartQuery, numbers)
	if err != nil {
		return nil, t.explain(ctx, err)
	}
	lags := make(map[uint64]shardLag, len(shards))
	var behind, newest, oldest int64
	_, err = pgx.ForEachRow(rows, []any{&behind, &newest, &oldest}, func() error {
		lags[shards[len(lags)]] = lagOf(0, behind, newest, oldest)
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
