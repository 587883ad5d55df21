package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/pgtest"
	"github.com/ego-contrib/offsetstore/postgres"
)

// promptly is how long a call of one projection may take while another
// projection is stuck: issue 15 asks for 1 second.
const promptly = time.Second

// wantPrompt fails the test unless f, the call that call names, returns
// nil within promptly, while, as why says, another projection is stuck.
func wantPrompt(t *testing.T, call, why string, f func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), promptly)
	defer cancel()
	start := time.Now()
	if err := f(ctx); err != nil {
		t.Errorf("%s, %s = %v after %v; want <nil> within %v: a projection never waits for another", call, why, err, time.Since(start), promptly)
	}
}

// wantPromptWrite is wantPrompt of a WriteOffset of name's shard.
func wantPromptWrite(t *testing.T, store *postgres.OffsetStore, name string, shard uint64, value int64, why string) {
	t.Helper()
	o := offset(name, shard, value, value)
	wantPrompt(t, fmt.Sprintf("WriteOffset(ctx, %v)", o), why, func(ctx context.Context) error { return store.WriteOffset(ctx, o) })
}

// wantWaiting fails the test now if one of the calls that send their
// outcome to done has returned: they must wait, or the test checks
// nothing.
func wantWaiting(t *testing.T, done <-chan error, calls string) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("%s returned %v; want them to wait, or the test checks nothing", calls, err)
	default:
	}
}

// wantDone fails the test unless each of the n calls that send their
// outcome to done returns nil.
func wantDone(t *testing.T, done <-chan error, n int, calls string) {
	t.Helper()
	for range n {
		if err := <-done; err != nil {
			t.Errorf("%s = %v; want <nil>", calls, err)
		}
	}
}

// lockRows opens a transaction on pool that holds the rows of projection
// name in schema's table FOR UPDATE, as another session can, until the
// test rolls it back or ends.
func lockRows(t *testing.T, pool *pgxpool.Pool, schema, name string) pgx.Tx {
	t.Helper()
	blocker, err := pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = blocker.Rollback(context.Background()) })
	if _, err := blocker.Exec(t.Context(), `SELECT 1 FROM `+table(schema)+` WHERE projection_name = $1 FOR UPDATE`, name); err != nil {
		t.Fatal(err)
	}
	return blocker
}

// resetWaitingForHandler makes p stuck as an exactly-once handler can: a
// transaction that wrote p's shard 1 (value 5) with WriteOffsetTx stays
// open, and a reset of p to 0 waits for it, as the writes of p that come
// later wait for the reset. It returns the handler's transaction, for the
// test to end, and the reset's outcome, which comes once it has.
func resetWaitingForHandler(t *testing.T, store *postgres.OffsetStore, p string) (pgx.Tx, <-chan error) {
	t.Helper()
	handler, err := newPool(t, pgtest.URL(t)).Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = handler.Rollback(context.Background()) })
	if err := store.WriteOffsetTx(t.Context(), handler, offset(p, 1, 5, 5)); err != nil {
		t.Fatal(err)
	}
	reset := make(chan error, 1)
	go func() { reset <- store.ResetOffset(t.Context(), p, 0) }()
	waitForProjectionLock(t, p)
	return handler, reset
}

// wantPromptRead fails the test unless GetCurrentOffset of name and shard
// returns an offset of value within promptly.
func wantPromptRead(t *testing.T, store *postgres.OffsetStore, name string, shard uint64, value int64, why string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), promptly)
	defer cancel()
	start := time.Now()
	got, err := store.GetCurrentOffset(ctx, id(name, shard))
	if err != nil || got == nil || got.Value != value {
		t.Errorf("GetCurrentOffset(ctx, {%q %d}), %s = %v, %v after %v; want value %d within %v: reads never wait behind stuck writes or resets", name, shard, why, got, err, time.Since(start), value, promptly)
	}
}

// TestOffsetStore_BatchedWithAStuckProjection is issue 15's first case: a
// reset of p waits for an exactly-once handler's open transaction that
// wrote p, writes of p wait behind that reset, and a write of q that
// arrives with them, which group commit could put in their batch, must
// still return at once, as must reads.
func TestOffsetStore_BatchedWithAStuckProjection(t *testing.T) {
	ctx := t.Context()
	store, schema := connectedStore(t)
	p, q := schema+"-p", schema+"-q"
	mustWrite(t, store, offset(p, 0, 1, 1))
	mustWrite(t, store, offset(q, 0, 1, 1))

	handler, reset := resetWaitingForHandler(t, store, p)

	const stuck = 3
	writes := make(chan error, stuck)
	for shard := range uint64(stuck) {
		go func() { writes <- store.WriteOffset(ctx, offset(p, 10+shard, 2, 2)) }()
	}
	time.Sleep(50 * time.Millisecond) // they reach the committer
	wantPromptWrite(t, store, q, 0, 2, "sent with writes of p that wait behind p's reset")
	wantPromptRead(t, store, q, 0, 2, "while writes and a reset of p wait")
	wantPromptRead(t, store, p, 0, 1, "while writes and a reset of p wait")
	wantWaiting(t, writes, "writes of p, while p's reset waited,")

	if err := handler.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	wantDone(t, reset, 1, "ResetOffset(ctx, p, 0)")
	wantDone(t, writes, stuck, "a write of p that waited for p's reset")
	wantValue(t, store, p, 1, 0)
}

// TestOffsetStore_SeveralProjectionsWithAStuckOne: a reset of p waits for
// an exactly-once handler's open transaction that wrote p. WriteOffsets of
// p and other projections wait for p, as they must, all or nothing, and
// many of them try again meanwhile. Calls of projections they do not write
// must not wait behind them: an import of more than 64 other projections
// (which takes the store-wide lock rather than one per projection), a
// WriteOffsets of two, and a write, a read and a reset of q.
func TestOffsetStore_SeveralProjectionsWithAStuckOne(t *testing.T) {
	ctx := t.Context()
	store, schema := connectedStore(t)
	p, q, r, s := schema+"-p", schema+"-q", schema+"-r", schema+"-s"
	mustWrite(t, store, offset(p, 0, 1, 1))
	mustWrite(t, store, offset(q, 0, 1, 1))

	handler, reset := resetWaitingForHandler(t, store, p)

	const stuck = 24
	stuckDone := make(chan error, stuck)
	for shard := range uint64(stuck) {
		go func() {
			stuckDone <- store.WriteOffsets(ctx, []*egopb.Offset{offset(p, 10+shard, 2, 2), offset(r, shard, 2, 2)})
		}()
	}
	time.Sleep(200 * time.Millisecond) // they reach the store, and try again

	why := fmt.Sprintf("while %d WriteOffsets of p and r wait for p's reset", stuck)
	var imported []*egopb.Offset
	for i := range 100 {
		imported = append(imported, offset(fmt.Sprintf("%s-imported-%d", schema, i), 0, 2, 2))
	}
	wantPrompt(t, "WriteOffsets(ctx, 100 other projections)", why, func(ctx context.Context) error { return store.WriteOffsets(ctx, imported) })
	wantPrompt(t, "WriteOffsets(ctx, {q, s})", why, func(ctx context.Context) error {
		return store.WriteOffsets(ctx, []*egopb.Offset{offset(q, 1, 2, 2), offset(s, 0, 2, 2)})
	})
	wantPromptWrite(t, store, q, 0, 2, why)
	wantPromptRead(t, store, q, 0, 2, why)
	wantPrompt(t, "ResetOffset(ctx, q, 7)", why, func(ctx context.Context) error { return store.ResetOffset(ctx, q, 7) })
	wantPromptRead(t, store, q, 0, 7, why)
	wantValue(t, store, schema+"-imported-99", 0, 2)
	wantWaiting(t, stuckDone, "WriteOffsets of p and r, while p's reset waited,")

	if err := handler.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	wantDone(t, reset, 1, "ResetOffset(ctx, p, 0)")
	wantDone(t, stuckDone, stuck, "a WriteOffsets of p and r, once p's reset was done")
	// They tried again after the reset, and so come after it.
	wantValue(t, store, p, 1, 0)
	wantValue(t, store, p, 10+stuck-1, 2)
	wantValue(t, store, r, stuck-1, 2)
}

// TestOffsetStore_NamesOfOneHashtext: "projection-17893" and
// "projection-31449" have the same 32-bit hashtext, on which an earlier
// version keyed its projection locks, so that a write of one waited
// behind a reset of the other. A reset of one waits for an open
// transaction that wrote it; writes and resets of the other must not.
func TestOffsetStore_NamesOfOneHashtext(t *testing.T) {
	ctx := t.Context()
	p, q := "projection-17893", "projection-31449"
	pool := newPool(t, pgtest.URL(t))
	var same bool
	if err := pool.QueryRow(ctx, `SELECT hashtext($1) = hashtext($2)`, p, q).Scan(&same); err != nil || !same {
		t.Fatalf("hashtext(%q) = hashtext(%q) is %v, %v; want true, or the test checks nothing", p, q, same, err)
	}
	store, _ := connectedStore(t)
	mustWrite(t, store, offset(p, 0, 1, 1))
	mustWrite(t, store, offset(q, 0, 1, 1))
	handler, reset := resetWaitingForHandler(t, store, p)
	why := fmt.Sprintf("while a reset of %s, of the same hashtext, waits", p)
	wantPromptWrite(t, store, q, 0, 2, why)
	wantPrompt(t, "ResetOffset(ctx, "+q+", 0)", why, func(ctx context.Context) error { return store.ResetOffset(ctx, q, 0) })
	if err := handler.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-reset; err != nil {
		t.Errorf("ResetOffset(ctx, %s, 0) = %v; want <nil>", p, err)
	}
	wantValue(t, store, p, 1, 0)
}

// TestOffsetStore_StuckProjectionLeavesRoom is issue 15's second case:
// another session holds p's rows FOR UPDATE, so that every write of p
// waits, and a reset of p waits too, as do WriteOffsets of p and another
// projection. Writes and reads of q must return at once, at first and once
// the store has sent more of p's writes beside the stuck ones (past stallAfter, 5 seconds, and twice that), with pools of
// the sizes the store accepts, the smallest first.
func TestOffsetStore_StuckProjectionLeavesRoom(t *testing.T) {
	for _, size := range []int{4, 5} {
		t.Run(fmt.Sprintf("pool_max_conns=%d", size), func(t *testing.T) {
			t.Parallel() // each waits past stallAfter
			ctx := t.Context()
			schema := pgtest.Schema(t)
			store := postgres.NewOffsetStore(withRuntimeParam(t, pgtest.URL(t), "pool_max_conns", fmt.Sprint(size)),
				postgres.WithSchema(schema), postgres.WithCreateTable())
			if err := store.Connect(ctx); err != nil {
				t.Fatal(err)
			}
			defer store.Disconnect(context.Background())
			p, q := schema+"-p", schema+"-q"
			const shards = 6
			for shard := range uint64(shards) {
				mustWrite(t, store, offset(p, shard, 1, 1))
			}
			mustWrite(t, store, offset(q, 0, 1, 1))

			pool := newPool(t, pgtest.URL(t))
			blocker := lockRows(t, pool, schema, p)
			writes := make(chan error, shards)
			for shard := range uint64(shards) {
				go func() { writes <- store.WriteOffset(ctx, offset(p, shard, 2, 2)) }()
				time.Sleep(10 * time.Millisecond)
			}
			reset := make(chan error, 1)
			go func() { reset <- store.ResetOffset(ctx, p, 0) }()
			waitForLockWaiters(t, pool, 1)
			// WriteOffsets of p's locked rows and another projection's wait
			// too, as they must, all or nothing; they must not take q's room.
			const across = 8
			acrossDone := make(chan error, across)
			for shard := range uint64(across) {
				go func() {
					acrossDone <- store.WriteOffsets(ctx, []*egopb.Offset{offset(p, shard%shards, 3, 3), offset(schema+"-r", shard, 3, 3)})
				}()
			}
			time.Sleep(50 * time.Millisecond) // they reach the store
			v := int64(2)
			check := func(when string) {
				t.Helper()
				wantPromptWrite(t, store, q, 0, v, "while p's rows are locked and p's writes and reset wait, "+when)
				wantPromptRead(t, store, q, 0, v, "while p's rows are locked and p's writes and reset wait, "+when)
				v++
			}
			check("at first")
			// Past stallAfter, the store sends p's queue beside its stuck
			// write; past twice that, it must not send more of p.
			time.Sleep(5500 * time.Millisecond)
			check("5.5 seconds on")
			time.Sleep(5500 * time.Millisecond)
			check("11 seconds on")
			// Several of q's writes at once, with a reader.
			errs := make(chan error, 8)
			for shard := range uint64(8) {
				go func() {
					wctx, cancel := context.WithTimeout(ctx, promptly)
					defer cancel()
					errs <- store.WriteOffset(wctx, offset(q, 100+shard, 1, 1))
				}()
			}
			wantPromptRead(t, store, q, 0, v-1, "while 8 writes of q go out and p is stuck")
			for range 8 {
				if err := <-errs; err != nil {
					t.Errorf("one of 8 concurrent writes of q while p is stuck = %v; want <nil> within %v", err, promptly)
				}
			}
			select {
			case err := <-writes:
				t.Fatalf("a write of p returned %v while p's rows were locked; want it to wait, or the test checks nothing", err)
			case err := <-acrossDone:
				t.Fatalf("WriteOffsets of p and r returned %v while p's rows were locked; want it to wait, or the test checks nothing", err)
			default:
			}
			if err := blocker.Rollback(ctx); err != nil {
				t.Fatal(err)
			}
			for range shards {
				if err := <-writes; err != nil {
					t.Errorf("a write of p once its rows were free = %v; want <nil>", err)
				}
			}
			if err := <-reset; err != nil {
				t.Errorf("ResetOffset(ctx, p, 0) once p's rows were free = %v; want <nil>", err)
			}
			for range across {
				if err := <-acrossDone; err != nil {
					t.Errorf("WriteOffsets of p and r once p's rows were free = %v; want <nil>", err)
				}
			}
		})
	}
}

// TestOffsetStore_Connect_PoolTooSmall is issue 15's third case: with a
// pool of fewer than 4 connections the store cannot keep a stuck
// projection from holding up the others (two for the stuck projection,
// one for the others' writes, one for reads), so Connect refuses it and
// says what size to use, for a pool it opens and for WithPool's.
func TestOffsetStore_Connect_PoolTooSmall(t *testing.T) {
	for _, size := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("pool_max_conns=%d", size), func(t *testing.T) {
			schema := pgtest.Schema(t)
			store := postgres.NewOffsetStore(withRuntimeParam(t, pgtest.URL(t), "pool_max_conns", fmt.Sprint(size)),
				postgres.WithSchema(schema), postgres.WithCreateTable())
			err := store.Connect(t.Context())
			if err == nil {
				store.Disconnect(context.Background())
			}
			if !errors.Is(err, offsetstore.ErrInvalidArgument) || !strings.Contains(err.Error(), "pool_max_conns=4") {
				t.Errorf("Connect(ctx) with pool_max_conns=%d = %v; want an error wrapping offsetstore.ErrInvalidArgument that asks for pool_max_conns=4 or more", size, err)
			}
		})
		t.Run(fmt.Sprintf("WithPool/MaxConns=%d", size), func(t *testing.T) {
			schema := pgtest.Schema(t)
			config, err := pgxpool.ParseConfig(pgtest.URL(t))
			if err != nil {
				t.Fatal(err)
			}
			config.MaxConns = int32(size)
			pool, err := pgxpool.NewWithConfig(t.Context(), config)
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			store := postgres.NewOffsetStore("", postgres.WithPool(pool), postgres.WithSchema(schema), postgres.WithCreateTable())
			err = store.Connect(t.Context())
			if err == nil {
				store.Disconnect(context.Background())
			}
			if !errors.Is(err, offsetstore.ErrInvalidArgument) || !strings.Contains(err.Error(), "MaxConns") {
				t.Errorf("Connect(ctx) WithPool of MaxConns %d = %v; want an error wrapping offsetstore.ErrInvalidArgument that asks for MaxConns of 4 or more", size, err)
			}
		})
	}
}

// TestOffsetStore_Disconnect_WaitsForLoneWrite is issue 15's fifth item: a
// lone write, sent from its caller's goroutine, waits for a row lock
// another session holds; Disconnect, on a store of WithPool's pool, must
// not return nil before that write has returned, and returns its
// context's error if that ends first.
func TestOffsetStore_Disconnect_WaitsForLoneWrite(t *testing.T) {
	ctx := t.Context()
	schema := pgtest.Schema(t)
	pool := newPool(t, pgtest.URL(t))
	store := postgres.NewOffsetStore("", postgres.WithPool(pool), postgres.WithSchema(schema), postgres.WithCreateTable())
	if err := store.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, store, offset("p", 0, 1, 1))
	blocker, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Rollback(context.Background())
	if _, err := blocker.Exec(ctx, `SELECT 1 FROM `+table(schema)+` WHERE projection_name = 'p' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	written := make(chan error, 1)
	go func() { written <- store.WriteOffset(ctx, offset("p", 0, 2, 2)) }()
	waitForLockWaiters(t, pool, 1)

	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if err := store.Disconnect(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Disconnect(ctx ending in 200ms) while a lone write waits on a row lock = %v; want an error wrapping context.DeadlineExceeded", err)
	}
	if err := store.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, store, offset("q", 0, 1, 1))
	go func() { written <- store.WriteOffset(ctx, offset("p", 0, 3, 3)) }()
	waitForLockWaiters(t, pool, 2)
	disconnected := make(chan error, 1)
	go func() { disconnected <- store.Disconnect(ctx) }()
	select {
	case err := <-disconnected:
		t.Fatalf("Disconnect(ctx) = %v while a lone write still waits on a row lock; want it to wait for that write", err)
	case <-time.After(300 * time.Millisecond):
	}
	if err := blocker.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-written; err != nil {
			t.Errorf("the lone write, once its row was free = %v; want <nil>", err)
		}
	}
	if err := <-disconnected; err != nil {
		t.Errorf("Disconnect(ctx) once the write it waited for returned = %v; want <nil>", err)
	}
}

// TestOffsetStore_ReadsFindAConnection checks the store-wide bound: with
// as many projections stuck (their rows locked by another session) as the
// pool has connections, each retrying its writes, reads, of any
// projection, still return at once.
func TestOffsetStore_ReadsFindAConnection(t *testing.T) {
	const size = 4
	ctx := t.Context()
	schema := pgtest.Schema(t)
	store := postgres.NewOffsetStore(withRuntimeParam(t, pgtest.URL(t), "pool_max_conns", fmt.Sprint(size)),
		postgres.WithSchema(schema), postgres.WithCreateTable())
	if err := store.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer store.Disconnect(context.Background())
	mustWrite(t, store, offset(schema+"-q", 0, 1, 1))
	stuck := make([]string, size)
	for i := range stuck {
		stuck[i] = fmt.Sprintf("%s-p%d", schema, i)
		mustWrite(t, store, offset(stuck[i], 0, 1, 1))
	}
	pool := newPool(t, pgtest.URL(t))
	blocker, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Rollback(context.Background())
	if _, err := blocker.Exec(ctx, `SELECT 1 FROM `+table(schema)+` WHERE projection_name <> $1 FOR UPDATE`, schema+"-q"); err != nil {
		t.Fatal(err)
	}
	writes := make(chan error, size)
	for _, name := range stuck {
		go func() { writes <- store.WriteOffset(ctx, offset(name, 0, 2, 2)) }()
	}
	// Each write met its row locked, and waits in its projection's lane.
	for _, name := range stuck {
		waitForLane(t, store, name)
	}
	wantPromptRead(t, store, schema+"-q", 0, 1, fmt.Sprintf("while %d projections' writes are stuck on a pool of %d", size, size))
	wantPromptRead(t, store, stuck[0], 0, 1, fmt.Sprintf("while %d projections' writes are stuck on a pool of %d", size, size))
	if err := blocker.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	for range size {
		if err := <-writes; err != nil {
			t.Errorf("a stuck write, once its row was free = %v; want <nil>", err)
		}
	}
}

// TestOffsetStore_RowsOfAStuckProjectionLockedElsewhere: another session
// holds p's rows FOR UPDATE; a reset of p, holding p's lock, waits for
// them on the server; then many WriteOffsets of p and another projection
// come at once, and try again while p stays stuck. Calls of projections
// they do not write must return within 1 s: an import of more than 64
// others (which takes the store-wide lock that every reset takes shared),
// and a write, a read and a reset of q.
func TestOffsetStore_RowsOfAStuckProjectionLockedElsewhere(t *testing.T) {
	ctx := t.Context()
	store, schema := connectedStore(t)
	pool := newPool(t, pgtest.URL(t))
	p, q := schema+"-p", schema+"-q"
	mustWrite(t, store, offset(p, 0, 1, 1))
	mustWrite(t, store, offset(q, 0, 1, 1))
	blocker := lockRows(t, pool, schema, p)
	reset := make(chan error, 1)
	go func() { reset <- store.ResetOffset(ctx, p, 0) }()
	waitForLockWaiters(t, pool, 1)

	const burst = 100
	burstDone := make(chan error, burst)
	for i := range burst {
		go func() {
			burstDone <- store.WriteOffsets(ctx, []*egopb.Offset{offset(p, 0, 2, 2), offset(fmt.Sprintf("%s-r%d", schema, i), 0, 2, 2)})
		}()
	}
	time.Sleep(30 * time.Millisecond) // they reach the store

	why := fmt.Sprintf("while p's rows are locked, p's reset waits for them and %d WriteOffsets of p and others come at once", burst)
	var imported []*egopb.Offset
	for i := range 65 {
		imported = append(imported, offset(fmt.Sprintf("%s-imported-%d", schema, i), 0, 2, 2))
	}
	wantPrompt(t, "WriteOffsets(ctx, 65 other projections)", why, func(ctx context.Context) error { return store.WriteOffsets(ctx, imported) })
	wantPromptWrite(t, store, q, 0, 2, why)
	wantPromptRead(t, store, q, 0, 2, why)
	wantPrompt(t, "ResetOffset(ctx, q, 7)", why, func(ctx context.Context) error { return store.ResetOffset(ctx, q, 7) })
	wantWaiting(t, reset, "ResetOffset(ctx, p, 0), while p's rows were locked,")
	wantWaiting(t, burstDone, "WriteOffsets of p, while p's rows were locked,")

	if err := blocker.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	wantDone(t, reset, 1, "ResetOffset(ctx, p, 0) once p's rows were free")
	wantDone(t, burstDone, burst, "a WriteOffsets of p and another once p's rows were free")
	wantValue(t, store, p, 0, 2) // the writes came after the reset
	wantValue(t, store, schema+"-imported-64", 0, 2)
}

// TestOffsetStore_WriteOffsetsNotStarvedByOtherWrites: a WriteOffsets of p
// and q finds p's row locked by another session, and tries again while 40
// writers of other projections keep every connection of the store busy.
// Once the row is free it must commit within a few seconds: its retries,
// which give way to other calls, must still take their turn.
func TestOffsetStore_WriteOffsetsNotStarvedByOtherWrites(t *testing.T) {
	ctx := t.Context()
	store, schema := connectedStore(t)
	pool := newPool(t, pgtest.URL(t))
	p, q := schema+"-p", schema+"-q"
	mustWrite(t, store, offset(p, 0, 1, 1))
	blocker := lockRows(t, pool, schema, p)
	written := make(chan error, 1)
	go func() { written <- store.WriteOffsets(ctx, []*egopb.Offset{offset(p, 0, 2, 2), offset(q, 0, 2, 2)}) }()
	waitForLockWaiters(t, pool, 1)

	busy, stop := context.WithCancel(ctx)
	defer stop()
	writers := make(chan int, 40)
	for w := range 40 {
		go func() {
			n := 0
			for ; busy.Err() == nil; n++ {
				_ = store.WriteOffset(busy, offset(fmt.Sprintf("%s-w%d", schema, w), 0, int64(n), 1))
			}
			writers <- n
		}()
	}
	time.Sleep(300 * time.Millisecond) // the writers fill the store, and WriteOffsets tries again
	if err := blocker.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	const within = 3 * time.Second // its pauses grow to 1 s
	start := time.Now()
	select {
	case err := <-written:
		if err != nil {
			t.Errorf("WriteOffsets(ctx, {p, q}) = %v; want <nil>", err)
		}
	case <-time.After(within):
		t.Errorf("WriteOffsets(ctx, {p, q}) not done %v after p's row was freed, while 40 writers keep the store busy; want it done within that", within)
	}
	stop()
	total := 0
	for range 40 {
		total += <-writers
	}
	if total == 0 {
		t.Fatalf("the 40 writers wrote nothing; want them to keep the store busy, or the test checks nothing")
	}
	t.Logf("WriteOffsets done %v after p's row was freed; %d writes of others meanwhile", time.Since(start), total)
	wantValue(t, store, q, 0, 2)
}

// TestOffsetStore_SharedBatchWithAStuckProjection: another session holds
// p's rows FOR UPDATE, and writes of p and q, eight of each, come at once,
// before the store knows that p is stuck, so that group commit puts some of
// them in one batch. q's writes must return within 1 s all the same, and
// p's wait for their rows, which they get once freed. Until a batch held
// both, which the scheduler decides, the test tries again with another
// stuck projection.
func TestOffsetStore_SharedBatchWithAStuckProjection(t *testing.T) {
	ctx := t.Context()
	store, schema := connectedStore(t)
	pool := newPool(t, pgtest.URL(t))
	q := schema + "-q"
	const writers, rounds = 8, 10
	for shard := range uint64(writers) {
		mustWrite(t, store, offset(q, shard, 1, 1))
		for round := range rounds {
			mustWrite(t, store, offset(fmt.Sprintf("%s-p%d", schema, round), shard, 1, 1))
		}
	}
	blocker, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Rollback(context.Background())
	if _, err := blocker.Exec(ctx, `SELECT 1 FROM `+table(schema)+` WHERE projection_name <> $1 FOR UPDATE`, q); err != nil {
		t.Fatal(err)
	}
	stuck := make(chan error, writers*rounds)
	round := 0
	for ; round < rounds && postgres.Splits(store) == 0; round++ {
		p := fmt.Sprintf("%s-p%d", schema, round)
		others := make(chan error, writers)
		for shard := range uint64(writers) {
			go func() { stuck <- store.WriteOffset(ctx, offset(p, shard, 2, 2)) }()
			go func() {
				wctx, cancel := context.WithTimeout(ctx, promptly)
				defer cancel()
				start := time.Now()
				o := offset(q, shard, int64(round)+2, 2)
				if err := store.WriteOffset(wctx, o); err != nil {
					others <- fmt.Errorf("WriteOffset(ctx, %v), sent with writes of %s whose rows are locked = %v after %v; want <nil> within %v: a projection never waits for another", o, p, err, time.Since(start), promptly)
					return
				}
				others <- nil
			}()
		}
		for range writers {
			if err := <-others; err != nil {
				t.Error(err)
			}
		}
	}
	if postgres.Splits(store) == 0 {
		t.Fatalf("in %d rounds, no batch of a stuck projection and q went out again apart; want one to, or the test checks nothing", rounds)
	}
	wantWaiting(t, stuck, "writes of stuck projections, while their rows were locked,")
	if err := blocker.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	wantDone(t, stuck, writers*round, "a write of a stuck projection once its rows were free")
	for shard := range uint64(writers) {
		wantValue(t, store, fmt.Sprintf("%s-p%d", schema, round-1), shard, 2)
		wantValue(t, store, q, shard, int64(round)+1)
	}
}
