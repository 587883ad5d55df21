package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/lincheck"
	"github.com/ego-contrib/offsetstore/internal/pgtest"
	"github.com/ego-contrib/offsetstore/postgres"
)

// TestOffsetStore_Linearizable checks that concurrent WriteOffset,
// GetCurrentOffset and ResetOffset calls behave as if each took effect at
// one instant between its call and its return, as the memory store's do:
// writes sent together in one batch included, a reset seen by every shard
// at once or by none, and a read returning the Value and Timestamp of one
// write. Each of 15 histories, on a projection of its own, has 8 clients
// making 40 calls each: enough writing at once that group commit sends
// many writes together, which the test checks.
func TestOffsetStore_Linearizable(t *testing.T) {
	linearizable(t, pgtest.URL(t))
}

// linearizable is TestOffsetStore_Linearizable on the server of url.
func linearizable(t *testing.T, url string) {
	const rounds = 15
	run := lincheck.Run{Clients: 8, OpsPerClient: 40}
	store, _ := connectedStoreAt(t, url, postgres.WithClock(lincheck.Clock))
	ops := 0
	for round := range rounds {
		history := run.History(t, store, fmt.Sprintf("lin-%d", round), uint64(round))
		ops += len(history)
		lincheck.Verify(t, fmt.Sprintf("round %d", round), history)
	}
	batches, writes := postgres.BatchCounts(store)
	t.Logf("operations checked for linearizability: %d in %d histories; %d writes went out in %d batches", ops, rounds, writes, batches)
	if writes <= batches {
		t.Errorf("%d writes went out in %d batches; want fewer batches than writes, or the check did not cover group commit", writes, batches)
	}
}

// TestOffsetStore_ResetReachesShardAddedMeanwhile checks the case the
// linearizability check meets only by chance: a shard added while a reset
// runs. Another transaction holds a lock on shard 0, so that the reset
// waits in the middle; meanwhile a writer adds shard 2. If that write
// returns before the reset does, and a reader then still sees shard 0 as it
// was, the write came before the reset, which must therefore reach shard 2
// too. A reset that is one UPDATE reads the rows committed when it started,
// misses shard 2, and fails this test. Each statement that writes is
// tried: the lone upsert, the one of many rows (here of two projections),
// and their monotonic forms.
func TestOffsetStore_ResetReachesShardAddedMeanwhile(t *testing.T) {
	for _, tc := range []struct {
		name      string
		monotonic bool
		write     func(ctx context.Context, store *postgres.OffsetStore, pool *pgxpool.Pool, o *egopb.Offset) error
	}{
		{"WriteOffset", false, func(ctx context.Context, store *postgres.OffsetStore, _ *pgxpool.Pool, o *egopb.Offset) error {
			return store.WriteOffset(ctx, o)
		}},
		{"WriteOffsets", false, func(ctx context.Context, store *postgres.OffsetStore, _ *pgxpool.Pool, o *egopb.Offset) error {
			return store.WriteOffsets(ctx, []*egopb.Offset{o, {ProjectionName: "other", ShardNumber: 1, Value: 1}})
		}},
		{"WriteOffset/Monotonic", true, func(ctx context.Context, store *postgres.OffsetStore, _ *pgxpool.Pool, o *egopb.Offset) error {
			return store.WriteOffset(ctx, o)
		}},
		{"WriteOffsetTx/Monotonic", true, func(ctx context.Context, store *postgres.OffsetStore, pool *pgxpool.Pool, o *egopb.Offset) error {
			return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return store.WriteOffsetTx(ctx, tx, o) })
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opts []postgres.Option
			if tc.monotonic {
				opts = append(opts, postgres.WithMonotonicWrites())
			}
			resetReachesShardAddedMeanwhile(t, tc.write, opts...)
		})
	}
}

func resetReachesShardAddedMeanwhile(t *testing.T, write func(context.Context, *postgres.OffsetStore, *pgxpool.Pool, *egopb.Offset) error, opts ...postgres.Option) {
	ctx := t.Context()
	store, schema := connectedStore(t, opts...)
	for shard := range uint64(2) {
		mustWrite(t, store, &egopb.Offset{ProjectionName: "p", ShardNumber: shard, Value: 1, Timestamp: 1})
	}
	pool := newPool(t, pgtest.URL(t))
	blocker, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Rollback(context.Background())
	if _, err := blocker.Exec(ctx, `SELECT 1 FROM `+table(schema)+` WHERE projection_name = 'p' AND shard_number = 0 FOR UPDATE`); err != nil {
		t.Fatal(err)
	}

	resetDone := make(chan error, 1)
	go func() { resetDone <- store.ResetOffset(ctx, "p", 7) }()
	waitForLockWaiters(t, pool, 1)

	writeDone := make(chan error, 1)
	added := &egopb.Offset{ProjectionName: "p", ShardNumber: 2, Value: 5, Timestamp: 5}
	go func() { writeDone <- write(ctx, store, pool, added) }()
	// Give the write time to commit, if it can while the reset waits.
	var writeReturned bool
	select {
	case err := <-writeDone:
		if err != nil {
			t.Fatalf("write of %v = %v; want <nil>", added, err)
		}
		writeReturned = true
	case <-time.After(500 * time.Millisecond):
	}
	before, err := store.GetCurrentOffset(ctx, &egopb.ProjectionId{ProjectionName: "p", ShardNumber: 0})
	if err != nil {
		t.Fatal(err)
	}
	if err := blocker.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-resetDone; err != nil {
		t.Fatalf("ResetOffset(ctx, p, 7) = %v; want <nil>", err)
	}
	if !writeReturned {
		if err := <-writeDone; err != nil {
			t.Fatalf("write of %v = %v; want <nil>", added, err)
		}
	}
	got, err := store.GetCurrentOffset(ctx, &egopb.ProjectionId{ProjectionName: "p", ShardNumber: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("write returned while the reset waited: %v; shard 0 read then: %v; shard 2 now: %v", writeReturned, before, got)
	if writeReturned && before.Value == 1 && got.Value != 7 {
		t.Errorf("shard 2 = %v after a reset to 7 that began before the write of %v returned, and that a read after the write had not yet seen; want value 7: a reset must reach every shard, including one added while it ran", got, added)
	}
}

// waitForLockWaiters waits until n sessions of the server wait for a lock.
func waitForLockWaiters(t *testing.T, pool *pgxpool.Pool, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		err := pool.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions wait for a lock after 10s; want %d", waiting, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
