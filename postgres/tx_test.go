package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/pgtest"
	"github.com/ego-contrib/offsetstore/postgres"
)

// TestOffsetStore_WriteOffsetTx checks the exactly-once recipe: a read
// model row and the offset written in one transaction are both there after
// a commit, and neither after a rollback.
func TestOffsetStore_WriteOffsetTx(t *testing.T) {
	writeOffsetTx(t, pgtest.URL(t))
}

// writeOffsetTx is TestOffsetStore_WriteOffsetTx on the server of url.
func writeOffsetTx(t *testing.T, url string) {
	store, schema := connectedStoreAt(t, url)
	pool := newPool(t, url)
	ctx := t.Context()
	balances := pgx.Identifier{schema, "balances"}.Sanitize()
	if _, err := pool.Exec(ctx, "CREATE TABLE "+balances+" (account TEXT PRIMARY KEY, amount BIGINT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	apply := func(account string, amount int64, o *egopb.Offset, commit bool) {
		t.Helper()
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(context.Background())
		if _, err := tx.Exec(ctx, "INSERT INTO "+balances+" VALUES ($1, $2)", account, amount); err != nil {
			t.Fatal(err)
		}
		if err := store.WriteOffsetTx(ctx, tx, o); err != nil {
			t.Fatalf("WriteOffsetTx(ctx, tx, %v) = %v; want <nil>", o, err)
		}
		// Until tx commits, nobody else sees the offset.
		wantOffset(t, store, o.ProjectionName, o.ShardNumber, nil)
		if commit {
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	countBalances := func(account string) int {
		var n int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+balances+" WHERE account = $1", account).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	committed := offset("balances", 0, 1, 100)
	apply("alice", 10, committed, true)
	wantOffset(t, store, "balances", 0, committed)
	if n := countBalances("alice"); n != 1 {
		t.Errorf("read model rows for alice after commit = %d; want 1", n)
	}

	apply("bob", 20, offset("balances", 1, 2, 200), false)
	wantOffset(t, store, "balances", 1, nil)
	if n := countBalances("bob"); n != 0 {
		t.Errorf("read model rows for bob after rollback = %d; want 0", n)
	}
	wantOffset(t, store, "balances", 0, committed)
}

// TestOffsetStore_WriteOffsetTx_Monotonic checks that a regression inside
// a transaction is refused and leaves the transaction usable.
func TestOffsetStore_WriteOffsetTx_Monotonic(t *testing.T) {
	store, _ := connectedStore(t, postgres.WithMonotonicWrites())
	mustWrite(t, store, offset("p", 0, 10, 1))
	pool := newPool(t, pgtest.URL(t))
	ctx := t.Context()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if err := store.WriteOffsetTx(ctx, tx, offset("p", 0, 9, 2)); !errors.Is(err, offsetstore.ErrOffsetRegression) {
		t.Errorf("WriteOffsetTx(ctx, tx, {p 0 value:9}) after value 10 = %v; want an error wrapping offsetstore.ErrOffsetRegression", err)
	}
	if err := store.WriteOffsetTx(ctx, tx, offset("p", 1, 3, 3)); err != nil {
		t.Errorf("WriteOffsetTx(ctx, tx, {p 1 value:3}) after a refused regression = %v; want <nil>: the transaction stays usable", err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	wantOffset(t, store, "p", 0, offset("p", 0, 10, 1))
	wantOffset(t, store, "p", 1, offset("p", 1, 3, 3))
}

// TestOffsetStore_WriteOffsetTx_TypedNil checks that a nil transaction of
// a concrete type, such as a *pgxpool.Tx variable never assigned, fails
// as a nil interface does, with ErrInvalidArgument, rather than panicking
// when the store uses it. No server is needed: WriteOffsetTx needs no
// connected store.
func TestOffsetStore_WriteOffsetTx_TypedNil(t *testing.T) {
	for _, monotonic := range []bool{false, true} {
		var opts []postgres.Option
		if monotonic {
			opts = append(opts, postgres.WithMonotonicWrites())
		}
		store := postgres.NewOffsetStore("", opts...)
		var tx *pgxpool.Tx
		err := store.WriteOffsetTx(t.Context(), tx, offset("p", 0, 1, 1))
		if !errors.Is(err, offsetstore.ErrInvalidArgument) || !strings.Contains(err.Error(), "*pgxpool.Tx") {
			t.Errorf("WriteOffsetTx(ctx, (*pgxpool.Tx)(nil), offset), monotonic %v = %v; want an error wrapping offsetstore.ErrInvalidArgument that names the nil *pgxpool.Tx", monotonic, err)
		}
	}
}

// TestOffsetStore_DeadlockIsRetried makes the server abort a batch of
// writes to break a deadlock with another transaction, which locks the
// batch's rows in the other order: the store must run the batch again,
// not hand the deadlock to its callers.
func TestOffsetStore_DeadlockIsRetried(t *testing.T) {
	store, schema := connectedStore(t)
	ctx := t.Context()
	mustWrite(t, store, offset("p", 1, 0, 0))
	mustWrite(t, store, offset("p", 2, 0, 0))
	pool := newPool(t, pgtest.URL(t))
	other, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Rollback(context.Background())
	lock := func(shard int) error {
		_, err := other.Exec(ctx, "UPDATE "+table(schema)+" SET current_offset = -1 WHERE projection_name = 'p' AND shard_number = $1", shard)
		return err
	}
	if err := lock(2); err != nil {
		t.Fatal(err)
	}
	// The store writes shards 1 then 2 in one statement: it locks 1, then
	// waits for 2, held by other.
	batch := []*egopb.Offset{offset("p", 2, 5, 5), offset("p", 1, 5, 5)}
	done := make(chan error, 1)
	go func() { done <- store.WriteOffsets(ctx, batch) }()
	waitForLockWaiters(t, pool, 1)
	// other now waits for 1: a deadlock, which the server breaks after
	// deadlock_timeout by aborting the statement that began waiting first,
	// the store's.
	if err := lock(1); err != nil {
		t.Fatalf("the other transaction was aborted: %v; want the store's statement aborted, as the one that waited first", err)
	}
	if err := other.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("WriteOffsets(ctx, %v) during a deadlock = %v; want <nil>: the store runs the statement again", batch, err)
	}
	for _, o := range batch {
		wantOffset(t, store, o.ProjectionName, o.ShardNumber, o)
	}
}
