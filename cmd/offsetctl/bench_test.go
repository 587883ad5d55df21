package main

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/pgtest"
)

// benchEventCount is how many events BenchmarkLag's events table holds:
// a day of 271 shards' events, about 12 a second.
const benchEventCount = 1_000_000

// benchSchema is the schema of BenchmarkLag's events, seeded once per
// process however many times -count runs the benchmark; TestMain drops
// it.
var benchSchema struct {
	once sync.Once
	name string
	err  error
}

// seedBenchEvents fills eGo's events table in a schema of its own with
// benchEventCount events of eGo's shape: 10,000 entities hashed onto 271
// shards, one event every 86.4 ms of a day that ends at now, and returns
// the schema.
func seedBenchEvents(b *testing.B) string {
	b.Helper()
	url := pgtest.URL(b)
	benchSchema.once.Do(func() {
		benchSchema.name = "offsetctl_bench_events"
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			benchSchema.err = err
			return
		}
		defer conn.Close(ctx)
		id := pgx.Identifier{benchSchema.name}.Sanitize()
		for _, stmt := range []string{
			"DROP SCHEMA IF EXISTS " + id + " CASCADE", "CREATE SCHEMA " + id, "SET search_path TO " + id, eventsStoreSQL,
			fmt.Sprintf(`INSERT INTO events_store (persistence_id, sequence_number, event_payload, event_manifest, timestamp, shard_number)
SELECT 'entity-' || (i %% 10000), i / 10000 + 1, '\x0a00'::bytea, 'test.Event', %d - (%d - i)::bigint * 86400000, (hashint4(i %% 10000) & 2147483647) %% 271
FROM generate_series(1, %d) AS i`, now.UnixNano(), benchEventCount, benchEventCount),
			"ANALYZE events_store",
		} {
			if _, err := conn.Exec(ctx, stmt); err != nil {
				benchSchema.err = fmt.Errorf("%.60s: %w", stmt, err)
				return
			}
		}
	})
	if benchSchema.err != nil {
		b.Fatal(benchSchema.err)
	}
	return benchSchema.name
}

// dropBenchSchema drops BenchmarkLag's schema, if it made one.
func dropBenchSchema() {
	if benchSchema.name == "" {
		return
	}
	ctx := context.Background()
	if conn, err := pgx.Connect(ctx, os.Getenv(pgtest.URLVariable)); err == nil {
		_, _ = conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{benchSchema.name}.Sanitize()+" CASCADE")
		conn.Close(ctx)
	}
}

// A lagWay is a way of reading lag BenchmarkLag compares: eventsTable.lags
// with its statements replaced, or, with read, a way of its own.
type lagWay struct {
	name string
	// lag, shards and fromStart replace lagSQL, shardsSQL and
	// fromStartSQL, if not empty.
	lag, shards, fromStart string
	read                   func(ctx context.Context, t *eventsTable, offsets []*egopb.Offset) ([]lagRow, error)
	// partial says the way leaves out shards with no offset, as
	// offsetctl did before it read them: its lags are not compared.
	partial bool
}

// benchLagWays are the ways BenchmarkLag compares: eventsTable.lags,
// first, then the ones its statements were chosen over.
var benchLagWays = []lagWay{
	// lagSQL, whose scan is bounded by the lowest value, so that the
	// index on timestamp serves projections near their head; shardsSQL;
	// fromStartSQL.
	{name: "bounded-join"},
	// The same join without the bound: every event is read.
	{name: "join", lag: `SELECT count(e.timestamp), coalesce(max(e.timestamp), 0), coalesce(min(e.timestamp), 0)
FROM unnest($1::bigint[], $2::bigint[]) WITH ORDINALITY AS o(shard, value, i)
LEFT JOIN %s AS e ON e.shard_number = o.shard AND e.timestamp > o.value AND $3::bigint IS NOT NULL
GROUP BY o.i
ORDER BY o.i`},
	// One read per offset, as eGo's runner reads a shard (shard_number =
	// shard AND timestamp > value): the index on shard_number, then
	// every event of the shard.
	{name: "per-offset", lag: `SELECT b.n, b.newest, b.oldest
FROM unnest($1::bigint[], $2::bigint[]) WITH ORDINALITY AS o(shard, value, i)
CROSS JOIN LATERAL (SELECT count(*) AS n, coalesce(max(e.timestamp), 0) AS newest, coalesce(min(e.timestamp), 0) AS oldest
	FROM %s AS e WHERE e.shard_number = o.shard AND e.timestamp > o.value AND $3::bigint IS NOT NULL) AS b
ORDER BY o.i`},
	// The shards as ego-contrib's ShardNumbers reads them.
	{name: "distinct-shards", shards: `SELECT DISTINCT shard_number FROM %s ORDER BY shard_number`},
	// The shards with no offset put among the offsets at 0, in lagSQL:
	// its bound drops to 0.
	{name: "zeros-in-join", read: zerosInJoin},
	// The offsets alone, as offsetctl read them before it read the
	// shards with none: what reading those costs.
	{name: "offsets-only", read: offsetsOnly, partial: true},
}

// zerosInJoin reads lag as eventsTable.lags does, but the lag of the
// shards with no offset in lagSQL, as offsets at 0.
func zerosInJoin(ctx context.Context, t *eventsTable, offsets []*egopb.Offset) ([]lagRow, error) {
	conn, err := pgx.ConnectConfig(ctx, t.config)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	shards, err := t.shards(ctx, conn)
	if err != nil {
		return nil, err
	}
	rows := rowsOf(offsets, shards)
	all := make([]*egopb.Offset, len(rows))
	for i, r := range rows {
		all[i] = cmp.Or(r.offset, &egopb.Offset{ProjectionName: r.name, ShardNumber: r.shard})
	}
	lags, err := t.offsetLags(ctx, conn, all)
	if err != nil {
		return nil, err
	}
	for i := range rows {
		rows[i].lag = lags[i]
	}
	return rows, nil
}

// offsetsOnly reads the lag of offsets alone, in lagSQL.
func offsetsOnly(ctx context.Context, t *eventsTable, offsets []*egopb.Offset) ([]lagRow, error) {
	conn, err := pgx.ConnectConfig(ctx, t.config)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	lags, err := t.offsetLags(ctx, conn, offsets)
	if err != nil {
		return nil, err
	}
	rows := make([]lagRow, len(offsets))
	for i, o := range offsets {
		rows[i] = lagRow{name: o.ProjectionName, shard: o.ShardNumber, offset: o, lag: lags[i]}
	}
	return rows, nil
}

// BenchmarkLag reads the lag of every offset of a node's projections
// from an events table of a million events, as projections
// --events-table does: three projections on all 271 shards, caught up,
// a second and a minute behind their shards' newest events; then the same
// with a fourth projection at 0, starting from the beginning, whose every
// event is behind; then the same with a fourth projection caught up but
// with no offset on 3 of the shards, whose every event is behind. Each way
// of reading runs beside the others.
//
//	scripts/with-postgres.sh go test -run '^$' -bench Lag -count 6 ./cmd/offsetctl
func BenchmarkLag(b *testing.B) {
	schema := seedBenchEvents(b)
	ctx := context.Background()
	pool, err := pgxpool.ParseConfig(pgtest.URL(b))
	if err != nil {
		b.Fatal(err)
	}
	conn, err := pgx.ConnectConfig(ctx, pool.ConnConfig)
	if err != nil {
		b.Fatal(err)
	}
	newest := map[uint64]int64{}
	rows, _ := conn.Query(ctx, "SELECT shard_number, max(timestamp) FROM "+pgx.Identifier{schema, "events_store"}.Sanitize()+" GROUP BY shard_number")
	var shard, ts int64
	if _, err := pgx.ForEachRow(rows, []any{&shard, &ts}, func() error { newest[uint64(shard)] = ts; return nil }); err != nil {
		b.Fatal(err)
	}
	conn.Close(ctx)
	var nearHead []*egopb.Offset
	for i, behind := range []int64{0, 1e9, 60e9} {
		for shard := range uint64(271) {
			nearHead = append(nearHead, &egopb.Offset{ProjectionName: fmt.Sprint("p", i), ShardNumber: shard, Value: newest[shard] - behind})
		}
	}
	fromStart := slices.Clone(nearHead)
	withoutSome := slices.Clone(nearHead)
	for shard := range uint64(271) {
		fromStart = append(fromStart, &egopb.Offset{ProjectionName: "p3", ShardNumber: shard, Value: 0})
		if shard%90 != 7 {
			withoutSome = append(withoutSome, &egopb.Offset{ProjectionName: "p3", ShardNumber: shard, Value: newest[shard]})
		}
	}
	id := pgx.Identifier{schema, "events_store"}
	for _, shape := range []struct {
		name    string
		offsets []*egopb.Offset
	}{{"near-head", nearHead}, {"one-from-start", fromStart}, {"three-shards-without", withoutSome}} {
		var want []lagRow
		for _, way := range benchLagWays {
			events := newEventsTable(pool.ConnConfig, id, 0)
			for query, sql := range map[*string]string{&events.lagQuery: way.lag, &events.shardsQuery: way.shards, &events.fromStartQuery: way.fromStart} {
				if sql != "" {
					*query = fmt.Sprintf(sql, id.Sanitize())
				}
			}
			read := way.read
			if read == nil {
				read = func(ctx context.Context, t *eventsTable, offsets []*egopb.Offset) ([]lagRow, error) {
					return t.lags(ctx, offsets)
				}
			}
			// Every way reads the same lags, or the figures compare
			// nothing.
			got, err := read(ctx, events, shape.offsets)
			if err != nil {
				b.Fatal(err)
			}
			if want == nil {
				want = got
			} else if !way.partial && !slices.Equal(got, want) {
				b.Fatalf("%s: %s reads other lags than %s", shape.name, way.name, benchLagWays[0].name)
			}
			b.Run(fmt.Sprintf("offsets=%s/query=%s", shape.name, way.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := read(ctx, events, shape.offsets); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
