package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/pgtest"
	"github.com/ego-contrib/offsetstore/postgres"
)

// failoverURL is the URL a store uses to reach whichever of hosts is the
// primary: pgx tries them in order, and keeps the first that takes writes.
func failoverURL(hosts ...*pgtest.Cluster) string {
	url := "postgres://postgres@"
	for i, c := range hosts {
		if i > 0 {
			url += ","
		}
		url += fmt.Sprintf("127.0.0.1:%d", c.Port)
	}
	return url + "/postgres?sslmode=disable&target_session_attrs=read-write&connect_timeout=2"
}

// TestFailover starts a primary and a synchronous standby, has 16
// goroutines write through one store whose URL names both, kills the
// primary with SIGKILL and promotes the standby: the same store must write
// again within 5 seconds of the promotion, and every write that returned
// nil must be on the new primary (its value, or a later one).
func TestFailover(t *testing.T) {
	t.Parallel()
	primary := pgtest.StartCluster(t, "synchronous_standby_names=*")
	standby := primary.StartStandby(t)
	ctx := t.Context()
	waitForSyncStandby(t, primary)

	store := postgres.NewOffsetStore(failoverURL(primary, standby), postgres.WithCreateTable())
	if err := store.Connect(ctx); err != nil {
		t.Fatalf("Connect(ctx) = %v; want <nil>", err)
	}
	t.Cleanup(func() {
		if err := store.Disconnect(context.Background()); err != nil {
			t.Errorf("Disconnect(ctx) = %v; want <nil>", err)
		}
	})

	const writers = 16
	var (
		acked      [writers]atomic.Int64 // the last value written with a nil error
		lastOK     [writers]atomic.Int64 // when, in Unix nanoseconds
		stop       = make(chan struct{})
		wg         sync.WaitGroup
		failedOnce atomic.Int64
		// promoting is when the standby was told to become the primary,
		// and firstAfter each writer's first write to return nil after
		// that, in Unix nanoseconds.
		promoting  atomic.Int64
		firstAfter [writers]atomic.Int64
	)
	for w := range writers {
		wg.Go(func() {
			o := &egopb.Offset{ProjectionName: "failover", ShardNumber: uint64(w)}
			for {
				select {
				case <-stop:
					return
				default:
				}
				o.Value++
				o.Timestamp = o.Value
				wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				err := store.WriteOffset(wctx, o)
				cancel()
				if err == nil {
					now := time.Now().UnixNano()
					acked[w].Store(o.Value)
					lastOK[w].Store(now)
					if p := promoting.Load(); p != 0 && now > p {
						firstAfter[w].CompareAndSwap(0, now)
					}
					continue
				}
				failedOnce.Add(1)
				// While there is no primary, connecting fails at once:
				// do not spin.
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
	defer func() {
		close(stop)
		wg.Wait()
	}()

	waitFor(t, 10*time.Second, "every writer to write once", func() bool {
		for w := range writers {
			if acked[w].Load() == 0 {
				return false
			}
		}
		return true
	})
	time.Sleep(200 * time.Millisecond)
	primary.Kill()
	killed := time.Now()
	// Let the writers meet the dead primary before there is a new one.
	time.Sleep(300 * time.Millisecond)
	promotingAt := time.Now()
	promoting.Store(promotingAt.UnixNano())
	standby.Promote()
	promotedAt := time.Now()
	waitFor(t, 5*time.Second, "every writer to write again after the standby's promotion", func() bool {
		for w := range writers {
			if lastOK[w].Load() < promotedAt.UnixNano() {
				return false
			}
		}
		return true
	})
	var first, last int64
	for w := range writers {
		at := firstAfter[w].Load()
		if first == 0 || at < first {
			first = at
		}
		last = max(last, at)
	}
	since := func(at int64, from time.Time) time.Duration {
		return time.Unix(0, at).Sub(from).Round(100 * time.Microsecond)
	}
	t.Logf("primary killed; standby told to promote %v later, promoted %v after that (pg_ctl promote -w returned); first write acknowledged %v after the promote command (%v after it returned), every writer's within %v (%v); %d writes failed in all",
		promotingAt.Sub(killed).Round(time.Millisecond), promotedAt.Sub(promotingAt).Round(time.Millisecond),
		since(first, promotingAt), since(first, promotedAt), since(last, promotingAt), since(last, promotedAt), failedOnce.Load())
	close(stop)
	wg.Wait()
	stop = make(chan struct{})

	conn, err := pgx.Connect(ctx, standby.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for w := range writers {
		var value int64
		err := conn.QueryRow(ctx, `SELECT current_offset FROM offsets_store WHERE projection_name = 'failover' AND shard_number = $1`, w).Scan(&value)
		if err != nil || value < acked[w].Load() {
			t.Errorf("new primary: shard %d = %d, %v; want at least %d, the last value whose WriteOffset returned nil", w, value, err, acked[w].Load())
		}
	}
}

// TestFailover_ReadOnlyServer makes the server the store is connected to
// refuse writes, as an old primary restarted as a standby does, with
// SQLSTATE 25006 on the store's open connections: the store must drop
// them and write on the server that takes writes, the second of its URL.
// Each kind of call that writes has a store of its own, whose pool holds
// 8 connections to the first server, more than a call's 5 attempts.
func TestFailover_ReadOnlyServer(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	first, second := pgtest.StartCluster(t), pgtest.StartCluster(t)
	calls := []struct {
		name string
		run  func(*postgres.OffsetStore) error
	}{
		{"WriteOffset", func(store *postgres.OffsetStore) error {
			var wg sync.WaitGroup
			errs := make([]error, 8)
			for shard := range uint64(8) {
				wg.Go(func() { errs[shard] = store.WriteOffset(ctx, offset("w", shard, 2, 2)) })
			}
			wg.Wait()
			return errors.Join(errs...)
		}},
		{"WriteOffsets", func(store *postgres.OffsetStore) error {
			return store.WriteOffsets(ctx, []*egopb.Offset{offset("ws", 0, 2, 2), offset("ws", 1, 2, 2)})
		}},
		{"ResetOffset", func(store *postgres.OffsetStore) error { return store.ResetOffset(ctx, "w", 2) }},
		{"DeleteShards", func(store *postgres.OffsetStore) error {
			_, err := store.DeleteShards(ctx, "w", []uint64{0})
			return err
		}},
	}
	stores := make([]*postgres.OffsetStore, len(calls))
	for i, c := range calls {
		url := failoverURL(first, second) + "&pool_min_conns=8&pool_max_conns=8&application_name=" + c.name
		stores[i] = postgres.NewOffsetStore(url, postgres.WithCreateTable())
		if err := stores[i].Connect(ctx); err != nil {
			t.Fatalf("Connect(ctx) = %v; want <nil>", err)
		}
		t.Cleanup(func() {
			if err := stores[i].Disconnect(context.Background()); err != nil {
				t.Errorf("Disconnect(ctx) = %v; want <nil>", err)
			}
		})
	}
	// The second server holds the table too, as a promoted standby would.
	other := postgres.NewOffsetStore(second.URL(), postgres.WithCreateTable())
	if err := other.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if err := other.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(calls))
	for i, c := range calls {
		names[i] = c.name
	}
	admin, err := pgx.Connect(ctx, first.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	waitFor(t, 10*time.Second, "8 connections of each store to the first server", func() bool {
		var fewest int
		err := admin.QueryRow(ctx, `SELECT coalesce(min(n), 0) FROM (SELECT count(*) AS n FROM pg_stat_activity
WHERE application_name = ANY($1) GROUP BY application_name HAVING count(*) > 0) AS c`, names).Scan(&fewest)
		if err != nil {
			t.Fatal(err)
		}
		var seen int
		if err := admin.QueryRow(ctx, `SELECT count(DISTINCT application_name) FROM pg_stat_activity WHERE application_name = ANY($1)`,
			names).Scan(&seen); err != nil {
			t.Fatal(err)
		}
		return seen == len(calls) && fewest >= 8
	})

	for _, stmt := range []string{`ALTER SYSTEM SET default_transaction_read_only = on`, `SELECT pg_reload_conf()`} {
		if _, err := admin.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	// The reload reaches every session, the stores' too, before its next
	// statement; a new session shows it has happened.
	waitFor(t, 10*time.Second, "the first server to refuse writes", func() bool {
		conn, err := pgx.Connect(ctx, first.URL())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		_, err = conn.Exec(ctx, `CREATE TEMPORARY TABLE t (i int)`)
		var pgErr *pgconn.PgError
		return errors.As(err, &pgErr) && pgErr.Code == "25006"
	})
	time.Sleep(100 * time.Millisecond)

	for i, c := range calls {
		if err := c.run(stores[i]); err != nil {
			t.Errorf("%s with the first server read-only = %v; want <nil>: the store must drop the connections and write on the second", c.name, err)
		}
	}
	conn, err := pgx.Connect(ctx, second.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM offsets_store WHERE current_offset = 2`).Scan(&n); err != nil || n != 9 {
		t.Errorf("second server: %d rows of value 2, %v; want 9: 8 of WriteOffset (one deleted), 2 of WriteOffsets", n, err)
	}
}

// waitForSyncStandby waits until a standby of primary streams its WAL
// synchronously.
func waitForSyncStandby(t *testing.T, primary *pgtest.Cluster) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), primary.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	waitFor(t, 30*time.Second, "a synchronous standby", func() bool {
		var n int
		err := conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync' AND state = 'streaming'`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n > 0
	})
}

// waitFor polls cond until it holds, or ends the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
