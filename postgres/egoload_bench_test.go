package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/pgtest"
	"github.com/ego-contrib/offsetstore/postgres"
)

// The load eGo puts on an offset store: each projection runs as a cluster
// singleton with five workers (numWorkers in eGo's projection_runner.go);
// a worker handles a batch of one shard's events, then writes that shard's
// offset, and caches what it wrote, so that it reads only when the
// projection starts. A node running P projections has 5·P writers, each on
// shards of its own: the hash partitions, out of the actor system's 271,
// that its projection's events fall in, sparse and in no order.

// egoWorkers is eGo's number of workers per projection.
const egoWorkers = 5

// shardsPerWriter is how many shards each writer cycles through: 64 writers
// of one projection take 256 of the 271 partitions.
const shardsPerWriter = 4

// A load is a shape of eGo's writes or reads.
type load struct {
	name        string
	projections int
	writers     int // per projection
	// reads, if set, makes the load a projection start: every shard of
	// every projection read once, by its projection's writers.
	reads int // shards per projection
}

var egoLoads = []load{
	{name: "lone", projections: 1, writers: 1},
	{name: "1x5", projections: 1, writers: egoWorkers},
	{name: "4x5", projections: 4, writers: egoWorkers},
	{name: "16x5", projections: 16, writers: egoWorkers},
	{name: "64x5", projections: 64, writers: egoWorkers},
	{name: "1x64", projections: 1, writers: 64},
	{name: "startup-64x128", projections: 64, writers: egoWorkers, reads: 128},
}

// egoWriterKeys returns the shards of each writer of each projection of
// l, in schema: writers[i] are the offsets writer i cycles through. Each
// projection's shards are partitions of its own, drawn from 271 in no
// order; its writers split them. The same seed gives the same keys.
func egoWriterKeys(schema string, l load, seed uint64) [][]*egopb.Offset {
	const partitions = 271
	rng := rand.New(rand.NewPCG(seed, 23))
	per := shardsPerWriter
	if l.reads > 0 {
		per = (l.reads + l.writers - 1) / l.writers
	}
	var writers [][]*egopb.Offset
	for p := range l.projections {
		name := fmt.Sprintf("%s-%s-p%d", schema, l.name, p)
		perm := rng.Perm(partitions)
		next := 0
		shards := l.reads
		if shards == 0 {
			shards = l.writers * per
		}
		for range l.writers {
			var keys []*egopb.Offset
			for range per {
				if next == shards {
					break
				}
				keys = append(keys, &egopb.Offset{ProjectionName: name, ShardNumber: uint64(perm[next])})
				next++
			}
			writers = append(writers, keys)
		}
	}
	return writers
}

// BenchmarkEgoLoad runs eGo's load (see [load]) over the store and the
// plain upserts of baselineStore, alternated (see storeFirst), with pools
// of pgxpool's default size and of 16 connections, the same for both:
//
//	benchstat -col /impl bench.txt
//
// prints the store's figures beside the baseline's. Besides throughput
// (writes/s, or reads/s at startup) it reports:
//   - writes/txn: writes per committed transaction (1 for the baseline);
//   - client-µs/write: CPU time of this process (getrusage, user and
//     system) per write;
//   - server-µs/write: CPU time of the PostgreSQL server per write, every
//     process of it (backends of both pools, WAL writer, checkpointer,
//     autovacuum), read from /proc when the server runs on this machine;
//   - p99-ms and max-ms: each call's latency, from call to return.
func BenchmarkEgoLoad(b *testing.B) {
	ctx := context.Background()
	server := serverProcess(b)
	for _, size := range []string{"default", "16"} {
		url := pgtest.URL(b)
		if size != "default" {
			url = withRuntimeParam(b, url, "pool_max_conns", size)
		}
		store, schema := connectedStoreAt(b, url)
		impls := []struct {
			name  string
			store benchStore
		}{
			{"baseline", newBaselineStore(newPool(b, url), schema)},
			{"store", store},
		}
		if *storeFirst {
			slices.Reverse(impls)
		}
		for _, l := range egoLoads {
			writers := egoWriterKeys(schema, l, 1)
			var all []*egopb.Offset
			for _, keys := range writers {
				all = append(all, keys...)
			}
			if err := store.WriteOffsets(ctx, all); err != nil {
				b.Fatal(err)
			}
			for _, impl := range impls {
				b.Run(fmt.Sprintf("pool=%s/load=%s/impl=%s", size, l.name, impl.name), func(b *testing.B) {
					b.ReportAllocs()
					var c costs
					c.start(server, store)
					if l.reads > 0 {
						lat := readAll(ctx, b, impl.store, writers)
						c.report(b, "read", lat, impl.name == "store")
						return
					}
					lat := writeLoad(ctx, b, impl.store, writers, b.N)
					c.report(b, "write", lat, impl.name == "store")
				})
			}
		}
	}
}

// writeLoad makes n writes, from one goroutine per element of writers,
// each cycling through its keys in order, raising each key's value, until
// n writes are done, and returns the latency of each.
func writeLoad(ctx context.Context, b *testing.B, store benchStore, writers [][]*egopb.Offset, n int) []time.Duration {
	var next atomic.Int64
	lats := make([][]time.Duration, len(writers))
	var wg sync.WaitGroup
	b.ResetTimer()
	for i, keys := range writers {
		wg.Go(func() {
			for j := 0; next.Add(1) <= int64(n); j++ {
				k := keys[j%len(keys)]
				k.Value++
				o := &egopb.Offset{ProjectionName: k.ProjectionName, ShardNumber: k.ShardNumber, Value: k.Value, Timestamp: time.Now().UnixMilli()}
				start := time.Now()
				if err := store.WriteOffset(ctx, o); err != nil {
					b.Error(err)
					return
				}
				lats[i] = append(lats[i], time.Since(start))
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	return slices.Concat(lats...)
}

// readAll reads every key of writers b.N times over, each writer's keys
// from a goroutine of its own, as projections starting at once do, and
// returns each read's latency. An op is one read.
func readAll(ctx context.Context, b *testing.B, store benchStore, writers [][]*egopb.Offset) []time.Duration {
	total := 0
	for _, keys := range writers {
		total += len(keys)
	}
	var next atomic.Int64
	lats := make([][]time.Duration, len(writers))
	var wg sync.WaitGroup
	b.ResetTimer()
	for i, keys := range writers {
		wg.Go(func() {
			for j := 0; next.Add(1) <= int64(b.N); j++ {
				k := keys[j%len(keys)]
				start := time.Now()
				o, err := store.GetCurrentOffset(ctx, &egopb.ProjectionId{ProjectionName: k.ProjectionName, ShardNumber: k.ShardNumber})
				if err != nil || o == nil {
					b.Errorf("GetCurrentOffset(ctx, {%s %d}) = %v, %v; want an offset", k.ProjectionName, k.ShardNumber, o, err)
					return
				}
				lats[i] = append(lats[i], time.Since(start))
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	return slices.Concat(lats...)
}

// costs measures, over a benchmark, the CPU time of this process and of
// the server, and the transactions of the store.
type costs struct {
	server        *serverProc
	store         *postgres.OffsetStore
	client, srv   time.Duration
	batches, rows int64
	serverOK      bool
}

func (c *costs) start(server *serverProc, store *postgres.OffsetStore) {
	c.server, c.store = server, store
	c.client = processCPU()
	c.srv, c.serverOK = server.cpu()
	c.batches, c.rows = postgres.BatchCounts(store)
}

// report reports throughput, costs and latencies of b.N calls of what
// ("write" or "read"), whose latencies lat are; store says whether the
// store, rather than the baseline, made them.
func (c *costs) report(b *testing.B, what string, lat []time.Duration, store bool) {
	n := float64(b.N)
	b.ReportMetric(n/b.Elapsed().Seconds(), what+"s/s")
	b.ReportMetric(float64((processCPU()-c.client).Microseconds())/n, "client-µs/"+what)
	if srv, ok := c.server.cpu(); ok && c.serverOK {
		b.ReportMetric(float64((srv-c.srv).Microseconds())/n, "server-µs/"+what)
	}
	if what == "write" {
		perTxn := 1.0
		if store {
			batches, rows := postgres.BatchCounts(c.store)
			if batches > c.batches {
				perTxn = float64(rows-c.rows) / float64(batches-c.batches)
			}
		}
		b.ReportMetric(perTxn, "writes/txn")
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	}
}

// processCPU returns the CPU time this process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// A serverProc is the PostgreSQL server's postmaster, when it runs on this
// machine and /proc shows it; nil otherwise.
type serverProc struct{ pid int }

// serverProcess finds the postmaster of the test server: the parent of
// the backend that answers a query, if that is a process named postgres
// here.
func serverProcess(b *testing.B) *serverProc {
	b.Helper()
	pool := newPool(b, pgtest.URL(b))
	var backend int
	if err := pool.QueryRow(context.Background(), `SELECT pg_backend_pid()`).Scan(&backend); err != nil {
		b.Fatal(err)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", backend))
	if err != nil {
		b.Logf("the server's CPU is not measured: its backend %d is not in /proc: %v", backend, err)
		return nil
	}
	if !strings.HasPrefix(string(status), "Name:\tpostgres\n") {
		b.Logf("the server's CPU is not measured: process %d here is not a postgres backend", backend)
		return nil
	}
	for _, line := range strings.Split(string(status), "\n") {
		if ppid, ok := strings.CutPrefix(line, "PPid:\t"); ok {
			pid, err := strconv.Atoi(ppid)
			if err == nil {
				return &serverProc{pid: pid}
			}
		}
	}
	return nil
}

// cpu returns the CPU time the server has used: the postmaster's own and
// that of its children, those it has reaped (cutime, cstime) and those
// still running (utime, stime of each). It counts in clock ticks of 10 ms.
func (s *serverProc) cpu() (time.Duration, bool) {
	if s == nil {
		return 0, false
	}
	const tick = 10 * time.Millisecond // USER_HZ is 100 on Linux
	total, ok := procTicks(s.pid, true)
	if !ok {
		return 0, false
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, false
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == s.pid {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		f := statFields(stat)
		if len(f) > 1 && f[1] == strconv.Itoa(s.pid) {
			if t, ok := procTicks(pid, false); ok {
				total += t
			}
		}
	}
	return time.Duration(total) * tick, true
}

// statFields returns the fields of a /proc/PID/stat after the command name:
// state, ppid, and so on (proc(5) numbers them from 3).
func statFields(stat []byte) []string {
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(s[i+1:])
}

// procTicks returns process pid's user and system time, and its reaped
// children's if children is set, in clock ticks.
func procTicks(pid int, children bool) (int64, bool) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	f := statFields(stat)
	// utime, stime, cutime, cstime are fields 14 to 17; f[0] is field 3.
	if len(f) < 15 {
		return 0, false
	}
	last := 12
	if children {
		last = 14
	}
	var total int64
	for _, v := range f[11 : last+1] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, false
		}
		total += n
	}
	return total, true
}

// BenchmarkSharedBatches runs eGo's writes over the store with the bound
// on shared batches in flight that it has (batches=1, maxSharedBatches),
// with 2, and with none but the pool's (batches=pool, the pool's size but
// one), alternated as BenchmarkEgoLoad's impls are, so that
//
//	benchstat -col /batches bench.txt
//
// says what the bound earns.
func BenchmarkSharedBatches(b *testing.B) {
	ctx := context.Background()
	server := serverProcess(b)
	for _, size := range []string{"default", "16"} {
		url := pgtest.URL(b)
		conns := 4
		if size != "default" {
			url = withRuntimeParam(b, url, "pool_max_conns", size)
			conns, _ = strconv.Atoi(size)
		}
		bounded, schema := connectedStoreAt(b, url)
		two, _ := connectedStoreAt(b, url, postgres.WithSchema(schema), postgres.WithSharedBatches(2))
		unbounded, _ := connectedStoreAt(b, url, postgres.WithSchema(schema), postgres.WithSharedBatches(conns-1))
		variants := []variant{{"1", bounded}, {"2", two}, {"pool", unbounded}}
		compareWrites(ctx, b, server, "pool="+size, "batches", variants, schema, 3, func(l load) bool { return l.name != "lone" })
	}
}

// A variant is the store built one way, named for its benchmark column.
type variant struct {
	name  string
	store *postgres.OffsetStore
}

// compareWrites runs eGo's write loads for which include is true over
// each of variants, which share schema, one benchmark each, named
// prefix/load=<load>/<column>=<variant's name>, alternated as
// BenchmarkEgoLoad's impls are; seed chooses the writers' keys.
func compareWrites(ctx context.Context, b *testing.B, server *serverProc, prefix, column string, variants []variant, schema string, seed uint64, include func(load) bool) {
	if *storeFirst {
		variants = slices.Clone(variants)
		slices.Reverse(variants)
	}
	for _, l := range egoLoads {
		if l.reads > 0 || !include(l) {
			continue
		}
		writers := egoWriterKeys(schema, l, seed)
		if err := variants[0].store.WriteOffsets(ctx, slices.Concat(writers...)); err != nil {
			b.Fatal(err)
		}
		for _, v := range variants {
			b.Run(fmt.Sprintf("%s/load=%s/%s=%s", prefix, l.name, column, v.name), func(b *testing.B) {
				var c costs
				c.start(server, v.store)
				lat := writeLoad(ctx, b, v.store, writers, b.N)
				c.report(b, "write", lat, true)
			})
		}
	}
}

// BenchmarkAnswerYield runs eGo's writes over the store as it is
// (yield=on: a shared batch, once answered, yields the processor before
// the next forms, so that its callers may queue for it) and without that
// yield (yield=off), alternated as BenchmarkEgoLoad's impls are, so that
//
//	benchstat -col /yield bench.txt
//
// says what the yield earns.
func BenchmarkAnswerYield(b *testing.B) {
	ctx := context.Background()
	server := serverProcess(b)
	for _, size := range []string{"default", "16"} {
		url := pgtest.URL(b)
		if size != "default" {
			url = withRuntimeParam(b, url, "pool_max_conns", size)
		}
		on, schema := connectedStoreAt(b, url)
		off, _ := connectedStoreAt(b, url, postgres.WithSchema(schema), postgres.WithoutAnswerYield())
		variants := []variant{{"on", on}, {"off", off}}
		compareWrites(ctx, b, server, "pool="+size, "yield", variants, schema, 5, func(load) bool { return true })
	}
}

// BenchmarkStuckProjections runs eGo's writes of 16 projections, five
// writers each, over the store, and reports the throughput and latencies
// of fourteen of them, whose writes nothing holds, in four cases:
//   - stuck=none: nothing else happens;
//   - stuck=lock: another session holds the advisory locks of the other
//     two projections (see [postgres.LockClass], exported for tests), outside a transaction,
//     so that their writers wait all along;
//   - stuck=rows: another session holds every row of the other two FOR
//     UPDATE in an open transaction, as a long transaction may;
//   - stuck=none,xid: no projection is stuck, but another session holds
//     a transaction open with a transaction ID, as the one of stuck=rows
//     does. While it is open the server can remove no row version that a
//     write replaces: every update leaves one more behind, which the next
//     updates of the row step over, so that every writer slows down, the
//     longer the more.
//
// benchstat -col /stuck bench.txt says what two stuck projections cost the
// others, and, from stuck=none,xid, how much of that is the open
// transaction's, whoever writes. over-1s counts the fourteen's writes that
// took over a second. Give it a -benchtime of several seconds, so that it
// spans the attempts of the stuck projections' lanes.
func BenchmarkStuckProjections(b *testing.B) {
	ctx := context.Background()
	server := serverProcess(b)
	for _, size := range []string{"default", "16"} {
		url := pgtest.URL(b)
		if size != "default" {
			url = withRuntimeParam(b, url, "pool_max_conns", size)
		}
		store, schema := connectedStoreAt(b, url)
		l := load{name: "16x5", projections: 16, writers: egoWorkers}
		writers := egoWriterKeys(schema, l, 4)
		if err := store.WriteOffsets(ctx, slices.Concat(writers...)); err != nil {
			b.Fatal(err)
		}
		// The first two projections' writers are the ones stuck.
		stuckWriters, others := writers[:2*egoWorkers], writers[2*egoWorkers:]
		stuckNames := []string{writers[0][0].ProjectionName, writers[egoWorkers][0].ProjectionName}
		locker := newPool(b, pgtest.URL(b))
		cases := []string{"none", "lock", "rows", "none,xid"}
		if *storeFirst {
			slices.Reverse(cases)
		}
		for _, stuck := range cases {
			b.Run(fmt.Sprintf("pool=%s/stuck=%s", size, stuck), func(b *testing.B) {
				conn, err := locker.Acquire(ctx)
				if err != nil {
					b.Fatal(err)
				}
				defer conn.Release()
				switch stuck {
				case "lock":
					_, err = conn.Exec(ctx, `SELECT pg_advisory_lock(hashtextextended(n, 1868981875)) FROM unnest($1::text[]) AS n`, stuckNames)
					defer conn.Exec(ctx, `SELECT pg_advisory_unlock_all()`)
				case "rows", "none,xid":
					if _, err = conn.Exec(ctx, `BEGIN`); err == nil {
						defer conn.Exec(ctx, `ROLLBACK`)
						_, err = conn.Exec(ctx, `SELECT txid_current()`)
					}
					if err == nil && stuck == "rows" {
						_, err = conn.Exec(ctx, `SELECT 1 FROM `+table(schema)+` WHERE projection_name = ANY($1) FOR UPDATE`, stuckNames)
					}
				}
				if err != nil {
					b.Fatal(err)
				}
				// The two projections' writers write all along, stuck or not.
				stop, cancel := context.WithCancel(ctx)
				var wg sync.WaitGroup
				for _, keys := range stuckWriters {
					wg.Go(func() {
						for j := 0; stop.Err() == nil; j++ {
							k := keys[j%len(keys)]
							k.Value++
							_ = store.WriteOffset(stop, &egopb.Offset{ProjectionName: k.ProjectionName, ShardNumber: k.ShardNumber, Value: k.Value, Timestamp: time.Now().UnixMilli()})
						}
					})
				}
				time.Sleep(100 * time.Millisecond) // they reach the store, and their lanes
				var c costs
				c.start(server, store)
				lat := writeLoad(ctx, b, store, others, b.N)
				c.report(b, "write", lat, true)
				over := 0
				for _, d := range lat {
					if d > time.Second {
						over++
					}
				}
				b.ReportMetric(float64(over), "over-1s")
				// Free the stuck writers before they are stopped, so that
				// their last writes commit.
				switch stuck {
				case "lock":
					_, err = conn.Exec(ctx, `SELECT pg_advisory_unlock_all()`)
				case "rows", "none,xid":
					_, err = conn.Exec(ctx, `ROLLBACK`)
				}
				if err != nil {
					b.Fatal(err)
				}
				cancel()
				wg.Wait()
			})
		}
	}
}
