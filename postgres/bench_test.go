package postgres_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/pgtest"
	"github.com/ego-contrib/offsetstore/postgres"
)

// Every benchmark runs over the baseline and the store, one after the
// other, on the same server, so that
//
//	benchstat -col /impl bench.txt
//
// prints each figure of the store beside the baseline's, as a ratio. The
// baseline is what eGo's own store does, without building its SQL on every
// call: one prepared upsert per WriteOffset and one prepared select per
// GetCurrentOffset, through a pool of the store's size.

// storeFirst runs the store before the baseline. Whichever runs second
// writes to a server that has more WAL behind it and a checkpoint closer,
// and measured about 15% slower for it: alternating the order between
// runs, as the README's command does, keeps that from favouring either.
var storeFirst = flag.Bool("store-first", false, "run the store before the baseline in each benchmark")

// poolerFirst and pinnedFirst run BenchmarkPooler's route through
// PgBouncer before the direct one, and BenchmarkPinnedIsolation's pinned
// writes before the plain ones, for the reason of storeFirst.
var (
	poolerFirst = flag.Bool("pooler-first", false, "in BenchmarkPooler, run the route through PgBouncer before the direct one")
	pinnedFirst = flag.Bool("pinned-first", false, "in BenchmarkPinnedIsolation, run the pinned writes before the plain ones")
)

// benchStore is what the benchmarks drive.
type benchStore interface {
	WriteOffset(ctx context.Context, offset *egopb.Offset) error
	GetCurrentOffset(ctx context.Context, id *egopb.ProjectionId) (*egopb.Offset, error)
}

// baselineStore sends one statement per call.
type baselineStore struct {
	pool          *pgxpool.Pool
	upsert, query string
}

func newBaselineStore(pool *pgxpool.Pool, schema string) *baselineStore {
	t := table(schema)
	return &baselineStore{
		pool: pool,
		upsert: `INSERT INTO ` + t + ` (projection_name, shard_number, current_offset, timestamp)
VALUES ($1, $2, $3, $4)
ON CONFLICT (projection_name, shard_number)
DO UPDATE SET current_offset = EXCLUDED.current_offset, timestamp = EXCLUDED.timestamp`,
		query: `SELECT current_offset, timestamp FROM ` + t + ` WHERE projection_name = $1 AND shard_number = $2`,
	}
}

func (s *baselineStore) WriteOffset(ctx context.Context, o *egopb.Offset) error {
	_, err := s.pool.Exec(ctx, s.upsert, o.ProjectionName, int64(o.ShardNumber), o.Value, o.Timestamp)
	return err
}

func (s *baselineStore) GetCurrentOffset(ctx context.Context, id *egopb.ProjectionId) (*egopb.Offset, error) {
	o := &egopb.Offset{ProjectionName: id.ProjectionName, ShardNumber: id.ShardNumber}
	err := s.pool.QueryRow(ctx, s.query, id.ProjectionName, int64(id.ShardNumber)).Scan(&o.Value, &o.Timestamp)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return o, err
}

// benchImpls makes, on a schema of b's own, the baseline and the store,
// connected, each with a pool of the size pgxpool picks for the server's
// URL.
func benchImpls(b *testing.B) []struct {
	name  string
	store benchStore
} {
	b.Helper()
	store, schema := connectedStore(b)
	pool := newPool(b, pgtest.URL(b))
	impls := []struct {
		name  string
		store benchStore
	}{
		{"baseline", newBaselineStore(pool, schema)},
		{"store", store},
	}
	if *storeFirst {
		slices.Reverse(impls)
	}
	return impls
}

// egoKeys returns n keys shaped as eGo makes them: a few projections, and
// shards that are hash partitions, sparse among 271 and in no order.
func egoKeys(n int) []*egopb.Offset {
	const partitions = 271
	rng := rand.New(rand.NewPCG(1, 2))
	names := []string{"accounts-projection", "orders-projection", "audit-projection"}
	perm := rng.Perm(partitions)
	keys := make([]*egopb.Offset, n)
	for i := range keys {
		keys[i] = &egopb.Offset{
			ProjectionName: names[i%len(names)],
			ShardNumber:    uint64(perm[i%partitions]),
			Timestamp:      time.Now().UnixMilli(),
		}
	}
	return keys
}

// BenchmarkWriteOffset writes from one goroutine, and from 64 at once, each
// writer to a key of its own. It reports writes/s: how many calls returned
// nil, each after its row committed.
func BenchmarkWriteOffset(b *testing.B) {
	ctx := context.Background()
	impls := benchImpls(b)
	for _, writers := range []int{1, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			for _, impl := range impls {
				b.Run("impl="+impl.name, func(b *testing.B) {
					keys := egoKeys(writers)
					for _, k := range keys {
						if err := impl.store.WriteOffset(ctx, k); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportAllocs()
					writeFrom(ctx, b, impl.store, keys, writers)
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
					if store, ok := impl.store.(*postgres.OffsetStore); ok {
						batches, writes := postgres.BatchCounts(store)
						b.ReportMetric(float64(writes)/float64(batches), "writes/batch")
					}
				})
			}
		})
	}
}

// BenchmarkGetCurrentOffset reads keys that exist, from one goroutine.
func BenchmarkGetCurrentOffset(b *testing.B) {
	ctx := context.Background()
	for _, impl := range benchImpls(b) {
		b.Run("impl="+impl.name, func(b *testing.B) {
			keys := egoKeys(64)
			ids := make([]*egopb.ProjectionId, len(keys))
			for i, k := range keys {
				if err := impl.store.WriteOffset(ctx, k); err != nil {
					b.Fatal(err)
				}
				ids[i] = &egopb.ProjectionId{ProjectionName: k.ProjectionName, ShardNumber: k.ShardNumber}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				o, err := impl.store.GetCurrentOffset(ctx, ids[i%len(ids)])
				if err != nil || o == nil {
					b.Fatalf("GetCurrentOffset = %v, %v; want an offset", o, err)
				}
				i++
			}
		})
	}
}

var _ benchStore = (*postgres.OffsetStore)(nil)

func gomaxprocs() int { return runtime.GOMAXPROCS(0) }

// writeFrom runs b.N writes of keys' offsets, raising each key's value,
// from one goroutine when writers is 1, else from writers goroutines,
// each on a key of its own (keys[i % len(keys)]).
func writeFrom(ctx context.Context, b *testing.B, store benchStore, keys []*egopb.Offset, writers int) {
	if writers == 1 {
		o := keys[0]
		for b.Loop() {
			o.Value++
			if err := store.WriteOffset(ctx, o); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	var next atomic.Int64
	// RunParallel starts parallelism * GOMAXPROCS goroutines.
	b.SetParallelism((writers + gomaxprocs() - 1) / gomaxprocs())
	b.RunParallel(func(pb *testing.PB) {
		k := keys[int(next.Add(1)-1)%len(keys)]
		o := &egopb.Offset{ProjectionName: k.ProjectionName, ShardNumber: k.ShardNumber}
		for pb.Next() {
			o.Value++
			if err := store.WriteOffset(ctx, o); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkPooler runs the store's WriteOffset, from 1 and 64 writers, and
// GetCurrentOffset, in each of pgx's query exec modes, on a direct
// connection and through PgBouncer in transaction pooling mode (see
// pooler_test.go), so that
//
//	benchstat -col /route bench.txt
//
// prints what the pooler costs in each mode. pgx's default mode,
// cache_statement, fails behind the pooler and runs direct only.
func BenchmarkPooler(b *testing.B) {
	ctx := context.Background()
	direct := pgtest.URL(b) + "&default_query_exec_mode="
	pooled := poolerURL(b, "")
	for _, mode := range []string{"cache_statement", "cache_describe", "describe_exec", "exec", "simple_protocol"} {
		routes := []string{"direct", "pgbouncer"}
		if *poolerFirst {
			slices.Reverse(routes)
		}
		for _, route := range routes {
			if route == "pgbouncer" && mode == "cache_statement" {
				continue
			}
			url := direct + mode
			if route == "pgbouncer" {
				url = pooled + mode
			}
			store, _ := connectedStoreAt(b, url)
			keys := egoKeys(64)
			for _, k := range keys {
				if err := store.WriteOffset(ctx, k); err != nil {
					b.Fatal(err)
				}
			}
			for _, writers := range []int{1, 64} {
				b.Run(fmt.Sprintf("op=WriteOffset/writers=%d/mode=%s/route=%s", writers, mode, route), func(b *testing.B) {
					b.ReportAllocs()
					writeFrom(ctx, b, store, keys, writers)
				})
			}
			b.Run(fmt.Sprintf("op=GetCurrentOffset/mode=%s/route=%s", mode, route), func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					k := keys[i%len(keys)]
					o, err := store.GetCurrentOffset(ctx, &egopb.ProjectionId{ProjectionName: k.ProjectionName, ShardNumber: k.ShardNumber})
					if err != nil || o == nil {
						b.Fatalf("GetCurrentOffset = %v, %v; want an offset", o, err)
					}
					i++
				}
			})
		}
	}
}

// BenchmarkPinnedIsolation runs WriteOffset, from 1 and 64 writers, on
// sessions whose default isolation is READ COMMITTED, where writes are
// single statements, and SERIALIZABLE, where the store sends each write
// inside a READ COMMITTED transaction of its own, BEGIN and COMMIT in the
// same round trip: benchstat -col /default prints what pinning costs.
func BenchmarkPinnedIsolation(b *testing.B) {
	ctx := context.Background()
	defaults := []string{"read-committed", "serializable"}
	if *pinnedFirst {
		slices.Reverse(defaults)
	}
	for _, def := range defaults {
		url := pgtest.URL(b)
		if def == "serializable" {
			url += "&options=-c%20default_transaction_isolation%3Dserializable"
		}
		store, _ := connectedStoreAt(b, url)
		keys := egoKeys(64)
		for _, writers := range []int{1, 64} {
			b.Run(fmt.Sprintf("writers=%d/default=%s", writers, def), func(b *testing.B) {
				b.ReportAllocs()
				writeFrom(ctx, b, store, keys, writers)
			})
		}
	}
}
