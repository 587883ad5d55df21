package main

import (
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

// The ways to read lag BenchmarkLag compares, each over eventsTable.lags:
// lagSQL, and the two it was chosen over.
var benchLagQueries = []struct{ name, sql string }{
	// lagSQL: the scan bounded by the lowest value, so that the index on
	// timestamp serves projections near their head.
	{"bounded-join", lagSQL},
	// The same join without the bound: every event is read.
	{"join", `SELECT count(e.timestamp), coalesce(max(e.timestamp), 0), coalesce(min(e.timestamp), 0)
FROM unnest($1::bigint[], $2::bigint[]) WITH ORDINALITY AS o(shard, value, i)
LEFT JOIN %s AS e ON e.shard_number = o.shard AND e.timestamp > o.value AND $3::bigint IS NOT NULL
GROUP BY o.i
ORDER BY o.i`},
	// One read per offset, as eGo's runner reads a shard (shard_number =
	// shard AND timestamp > value): the index on shard_number, then
	// every event of the shard.
	{"per-offset", `SELECT b.n, b.newest, b.oldest
FROM unnest($1::bigint[], $2::bigint[]) WITH ORDINALITY AS o(shard, value, i)
CROSS JOIN LATERAL (SELECT count(*) AS n, coalesce(max(e.timestamp), 0) AS newest, coalesce(min(e.timestamp), 0) AS oldest
	FROM %s AS e WHERE e.shard_number = o.shard AND e.timestamp > o.value AND $3::bigint IS NOT NULL) AS b
ORDER BY o.i`},
}

// BenchmarkLag reads the lag of every offset of a node's projections
// from an events table of a million events, as projections
// --events-table does: three projections on all 271 shards, caught up,
// a second and a minute behind their shards' newest events; then the same
// with a fourth projection at 0, starting from the beginning, whose every
// event is behind. Each way of reading runs beside the others.
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
	fromStart := append([]*egopb.Offset(nil), nearHead...)
	for shard := range uint64(271) {
		fromStart = append(fromStart, &egopb.Offset{ProjectionName: "p3", ShardNumber: shard, Value: 0})
	}
	table := pgx.Identifier{schema, "events_store"}.Sanitize()
	for _, shape := range []struct {
		name    string
		offsets []*egopb.Offset
	}{{"near-head", nearHead}, {"one-from-start", fromStart}} {
		var want []shardLag
		for _, q := range benchLagQueries {
			events := &eventsTable{config: pool.ConnConfig, where: "bench", holder: "table " + table, query: fmt.Sprintf(q.sql, table)}
			// Every way reads the same lags, or the figures compare
			// nothing.
			got, err := events.lags(ctx, shape.offsets)
			if err != nil {
				b.Fatal(err)
			}
			if want == nil {
				want = got
			} else if !slices.Equal(got, want) {
				b.Fatalf("%s: query %s reads other lags than %s", shape.name, q.name, benchLagQueries[0].name)
			}
			b.Run(fmt.Sprintf("offsets=%s/query=%s", shape.name, q.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := events.lags(ctx, shape.offsets); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
