package postgres_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/pgtest"
	"github.com/ego-contrib/offsetstore/postgres"
)

// manyProjectionsVariable, set to a number of projections, makes
// TestOffsetStore_WriteOffsets_ManyProjections write that many, five
// shards each, rather than issue 15's 20,000 (100,000 offsets).
const manyProjectionsVariable = "OFFSETSTORE_MANY_PROJECTIONS"

// TestOffsetStore_WriteOffsets_ManyProjections writes, in one call, more
// projections than the server's lock table holds locks (64 for each of its
// 100 connections, by default): one advisory lock per projection in one
// transaction fails with SQLSTATE 53200, out of shared memory. By default
// it writes issue 15's 20,000 projections of 5 shards (100,000 offsets),
// far beyond the 6,400 locks; OFFSETSTORE_MANY_PROJECTIONS sets another
// number of projections.
func TestOffsetStore_WriteOffsets_ManyProjections(t *testing.T) {
	projections := 20000
	if v := os.Getenv(manyProjectionsVariable); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q; want a number of projections", manyProjectionsVariable, v)
		}
		projections = n
	}
	const shards = 5
	ctx := t.Context()
	store, schema := connectedStore(t)
	var locks int
	if err := newPool(t, pgtest.URL(t)).QueryRow(ctx, `SELECT current_setting('max_locks_per_transaction')::int * (current_setting('max_connections')::int + current_setting('max_prepared_transactions')::int)`).Scan(&locks); err != nil {
		t.Fatal(err)
	}
	if projections <= locks {
		t.Logf("the server's lock table holds %d locks, more than the %d projections written: the test may not reach its limit", locks, projections)
	}
	offsets := make([]*egopb.Offset, 0, projections*shards)
	for p := range projections {
		for shard := range uint64(shards) {
			offsets = append(offsets, offset(fmt.Sprintf("%s-%d", schema, p), shard, int64(p), int64(shard)))
		}
	}
	start := time.Now()
	if err := store.WriteOffsets(ctx, offsets); err != nil {
		t.Fatalf("WriteOffsets(ctx, %d offsets of %d projections) = %v; want <nil>", len(offsets), projections, err)
	}
	t.Logf("WriteOffsets of %d offsets of %d projections took %v", len(offsets), projections, time.Since(start))
	last := offset(offsets[len(offsets)-1].ProjectionName, offsets[len(offsets)-1].ShardNumber, offsets[len(offsets)-1].Value, offsets[len(offsets)-1].Timestamp)
	wantOffset(t, store, last.ProjectionName, last.ShardNumber, last)
	summaries, err := store.Projections(ctx)
	if err != nil || len(summaries) != projections {
		t.Fatalf("Projections(ctx) = %d projections, %v; want %d", len(summaries), err, projections)
	}
	for _, s := range summaries {
		if s.Shards != shards {
			t.Fatalf("Projections(ctx): %+v; want %d shards", s, shards)
		}
	}
	// All or nothing: a row the server refuses, among many, fails them
	// all.
	if _, err := newPool(t, pgtest.URL(t)).Exec(ctx, `ALTER TABLE `+table(schema)+` ADD CONSTRAINT refuse CHECK (current_offset <> -7)`); err != nil {
		t.Fatal(err)
	}
	for _, o := range offsets {
		o.Value += 1000
	}
	offsets[len(offsets)/2].Value = -7
	offsets = append(offsets, offset(schema+"-new", 0, 1, 1))
	if err := store.WriteOffsets(ctx, offsets); err == nil {
		t.Fatalf("WriteOffsets(ctx, offsets with one the table refuses) = <nil>; want an error")
	}
	wantOffset(t, store, schema+"-new", 0, nil)
	wantOffset(t, store, last.ProjectionName, last.ShardNumber, last)
}

// TestOffsetStore_WriteOffsets_ExcludesResets checks that WriteOffsets,
// of few projections or of more than a transaction may take locks for,
// still excludes resets of the projections it writes: while it waits for a
// row another session holds, a reset of a projection it writes, to which
// it adds a shard, waits for it, and then reaches that shard. The store
// is given a lock timeout longer than the test, so that WriteOffsets keeps
// waiting for the row rather than rolling back to try again later.
func TestOffsetStore_WriteOffsets_ExcludesResets(t *testing.T) {
	for _, projections := range []int{2, 200} {
		t.Run(fmt.Sprintf("projections=%d", projections), func(t *testing.T) {
			ctx := t.Context()
			store, schema := connectedStore(t, postgres.WithLockTimeout(time.Hour))
			pool := newPool(t, pgtest.URL(t))
			blocked, p := schema+"-blocked", schema+"-p"
			mustWrite(t, store, offset(blocked, 0, 1, 1))
			mustWrite(t, store, offset(p, 0, 1, 1))
			blocker, err := pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer blocker.Rollback(context.Background())
			if _, err := blocker.Exec(ctx, `SELECT 1 FROM `+table(schema)+` WHERE projection_name = $1 FOR UPDATE`, blocked); err != nil {
				t.Fatal(err)
			}
			offsets := []*egopb.Offset{offset(blocked, 0, 2, 2), offset(p, 7, 2, 2)}
			for i := range projections - 2 {
				offsets = append(offsets, offset(fmt.Sprintf("%s-%d", schema, i), 0, 2, 2))
			}
			written := make(chan error, 1)
			go func() { written <- store.WriteOffsets(ctx, offsets) }()
			waitForLockWaiters(t, pool, 1)
			reset := make(chan error, 1)
			go func() { reset <- store.ResetOffset(ctx, p, 0) }()
			select {
			case err := <-reset:
				t.Fatalf("ResetOffset(ctx, p, 0) = %v while WriteOffsets of %d projections, p's among them, waited; want it to wait for that write", err, projections)
			case <-time.After(300 * time.Millisecond):
			}
			if err := blocker.Rollback(ctx); err != nil {
				t.Fatal(err)
			}
			if err := <-written; err != nil {
				t.Fatalf("WriteOffsets(ctx, %d projections) = %v; want <nil>", projections, err)
			}
			if err := <-reset; err != nil {
				t.Fatalf("ResetOffset(ctx, p, 0) = %v; want <nil>", err)
			}
			wantValue(t, store, p, 7, 0)
			wantValue(t, store, p, 0, 0)
		})
	}
}
