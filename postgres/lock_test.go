package postgres_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/pgtest"
	"github.com/ego-contrib/offsetstore/postgres"
)

// patience bounds how long a test lets a call run that must not wait for
// anything: such a call takes milliseconds, and one that waits for a
// transaction the test holds open would wait until the test gave up.
const patience = 10 * time.Second

// TestOffsetStore_ResetWaitsForNoOtherProjection is the reviewer's case: a
// transaction that wrote an offset of projection r with WriteOffsetTx
// stays open, as an exactly-once handler's does while it writes its read
// model. Meanwhile a reset of another projection, p, and a write of a
// third, q, from another node must go through without waiting for it. A
// reset that locks the table waits for that transaction, and the write to
// q waits behind the reset.
func TestOffsetStore_ResetWaitsForNoOtherProjection(t *testing.T) {
	ctx := t.Context()
	store, schema := connectedStore(t)
	node2 := postgres.NewOffsetStore(pgtest.URL(t), postgres.WithSchema(schema))
	if err := node2.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer node2.Disconnect(context.Background())
	for shard := range uint64(3) {
		mustWrite(t, store, offset("p", shard, 10, 10))
	}
	mustWrite(t, store, offset("q", 0, 1, 1))

	pool := newPool(t, pgtest.URL(t))
	handler, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer handler.Rollback(context.Background())
	held := offset("r", 0, 5, 5)
	if err := store.WriteOffsetTx(ctx, handler, held); err != nil {
		t.Fatalf("WriteOffsetTx(ctx, tx, %v) = %v; want <nil>", held, err)
	}

	resetCtx, cancel := context.WithTimeout(ctx, patience)
	defer cancel()
	resetDone := make(chan error, 1)
	go func() { resetDone <- store.ResetOffset(resetCtx, "p", 0) }()
	written := offset("q", 0, 2, 2)
	writeCtx, cancel := context.WithTimeout(ctx, patience)
	defer cancel()
	if err := node2.WriteOffset(writeCtx, written); err != nil {
		t.Errorf("WriteOffset(ctx, %v) on another node, while a transaction that wrote projection r is open and p is being reset = %v; want <nil> well within %v: a write waits for no other projection's transaction or reset", written, err, patience)
	}
	if err := <-resetDone; err != nil {
		t.Fatalf("ResetOffset(ctx, p, 0), while a transaction that wrote projection r is open = %v; want <nil> well within %v: a reset waits for no other projection's writes", err, patience)
	}
	for shard := range uint64(3) {
		wantValue(t, node2, "p", shard, 0)
	}
	wantOffset(t, node2, "q", 0, written)
	wantOffset(t, node2, "r", 0, nil) // the handler's transaction is still open
	if err := handler.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	wantOffset(t, node2, "r", 0, held)
}

// TestOffsetStore_ResetWaitsForOpenWriteOfItsProjection checks the other
// half: a reset of r waits for a transaction that added a shard of r and
// is still open, and once that commits, resets that shard too, whatever
// isolation level the connections default to. A reset that does not wait,
// or that reads the rows with a snapshot taken before its lock was
// granted, leaves the shard as written.
func TestOffsetStore_ResetWaitsForOpenWriteOfItsProjection(t *testing.T) {
	for _, tc := range []struct {
		name      string
		isolation string // the connections' default_transaction_isolation
		withPool  bool
	}{
		{"Default", "", false},
		{"RepeatableRead", "repeatable read", false},
		{"WithPool/RepeatableRead", "repeatable read", true},
		{"WithPool/Serializable", "serializable", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			schema := pgtest.Schema(t)
			opts := []postgres.Option{postgres.WithSchema(schema), postgres.WithCreateTable()}
			connString := pgtest.URL(t)
			if tc.withPool {
				opts = append(opts, postgres.WithPool(isolationPool(t, tc.isolation)))
				connString = ""
			} else if tc.isolation != "" {
				connString = withRuntimeParam(t, connString, "default_transaction_isolation", tc.isolation)
			}
			store := postgres.NewOffsetStore(connString, opts...)
			if err := store.Connect(ctx); err != nil {
				t.Fatal(err)
			}
			defer store.Disconnect(context.Background())
			// The name is the schema's, so that no test running beside
			// this one, on another schema, takes the same lock.
			name := schema
			mustWrite(t, store, offset(name, 0, 1, 1))

			handler, err := newPool(t, pgtest.URL(t)).Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer handler.Rollback(context.Background())
			added := offset(name, 5, 5, 5)
			if err := store.WriteOffsetTx(ctx, handler, added); err != nil {
				t.Fatalf("WriteOffsetTx(ctx, tx, %v) = %v; want <nil>", added, err)
			}

			resetDone := make(chan error, 1)
			go func() { resetDone <- store.ResetOffset(ctx, name, 7) }()
			waitForProjectionLock(t, name)
			select {
			case err := <-resetDone:
				t.Fatalf("ResetOffset(ctx, %s, 7) = %v while a transaction that added shard 5 is open; want it to wait for that transaction", name, err)
			default:
			}
			if err := handler.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if err := <-resetDone; err != nil {
				t.Fatalf("ResetOffset(ctx, %s, 7) = %v; want <nil>", name, err)
			}
			for _, shard := range []uint64{0, 5} {
				wantValue(t, store, name, shard, 7)
			}
		})
	}
}

// waitForProjectionLock waits until a session waits for the lock of
// projection name that resets take and writes share.
func waitForProjectionLock(t *testing.T, name string) {
	t.Helper()
	pool := newPool(t, pgtest.URL(t))
	deadline := time.Now().Add(patience)
	for {
		var waiting int
		// A bigint key's high half is classid, its low half objid.
		err := pool.QueryRow(t.Context(), `SELECT count(*) FROM pg_locks, (SELECT hashtextextended($2, $1) AS k) AS key
WHERE locktype = 'advisory' AND NOT granted AND objsubid = 1
  AND classid = ((k >> 32) & 4294967295)::oid AND objid = (k & 4294967295)::oid`,
			postgres.LockClass, name).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no session waits for the lock of projection %s after %v; want the reset to wait for it", name, patience)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// isolationPool returns a pool on the test server whose connections
// default to isolation, closed when the test ends.
func isolationPool(t *testing.T, isolation string) *pgxpool.Pool {
	t.Helper()
	config, err := pgxpool.ParseConfig(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	config.ConnConfig.RuntimeParams["default_transaction_isolation"] = isolation
	pool, err := pgxpool.NewWithConfig(t.Context(), config)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	var got string
	if err := pool.QueryRow(t.Context(), `SHOW default_transaction_isolation`).Scan(&got); err != nil || got != isolation {
		t.Fatalf("SHOW default_transaction_isolation on a pool made to default to %s = %q, %v", isolation, got, err)
	}
	return pool
}

// withRuntimeParam returns the URL connString with the server setting
// name set to value on every connection, as pgx reads such a URL.
func withRuntimeParam(t testing.TB, connString, name, value string) string {
	t.Helper()
	u, err := url.Parse(connString)
	if err != nil {
		t.Fatalf("the test server's URL %q is not a URL: %v", connString, err)
	}
	q := u.Query()
	q.Set(name, value)
	// pgx reads a + in the query as itself, not as a space.
	u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	return u.String()
}

// wantValue fails the test unless GetCurrentOffset of name and shard
// returns an offset of value, whatever its timestamp, which a reset takes
// from the clock.
func wantValue(t *testing.T, store *postgres.OffsetStore, name string, shard uint64, value int64) {
	t.Helper()
	got, err := store.GetCurrentOffset(t.Context(), id(name, shard))
	if err != nil || got == nil || got.Value != value {
		t.Errorf("GetCurrentOffset(ctx, {%q %d}) = %v, %v; want value %d", name, shard, got, err, value)
	}
}

// TestOffsetStore_ReadCommittedWhateverTheDefault checks that the store's
// statements run at READ COMMITTED on connections that default to
// SERIALIZABLE, where a write of a hot key fails whenever another
// transaction changed the row since the write's snapshot. A trigger on
// the table refuses any change made at another isolation level. Every call
// is pinned, on a pool the store opens as on the caller's pool
// ([postgres.WithPool]), without the startup parameter a pooler would
// refuse.
func TestOffsetStore_ReadCommittedWhateverTheDefault(t *testing.T) {
	type call struct {
		name string
		run  func(ctx context.Context, store *postgres.OffsetStore) error
	}
	transactions := []call{
		{"ResetOffset", func(ctx context.Context, s *postgres.OffsetStore) error { return s.ResetOffset(ctx, "p", 0) }},
		{"ResetShards", func(ctx context.Context, s *postgres.OffsetStore) error {
			_, err := s.ResetShards(ctx, "p", 1, []uint64{0, 1})
			return err
		}},
		{"DeleteShards", func(ctx context.Context, s *postgres.OffsetStore) error {
			_, err := s.DeleteShards(ctx, "p", []uint64{1})
			return err
		}},
		{"DeleteShards/All", func(ctx context.Context, s *postgres.OffsetStore) error {
			_, err := s.DeleteShards(ctx, "q", nil)
			return err
		}},
	}
	statements := []call{
		{"WriteOffset", func(ctx context.Context, s *postgres.OffsetStore) error {
			return s.WriteOffset(ctx, offset("p", 0, 1, 1))
		}},
		{"WriteOffsets", func(ctx context.Context, s *postgres.OffsetStore) error {
			return s.WriteOffsets(ctx, []*egopb.Offset{offset("p", 1, 1, 1), offset("q", 0, 1, 1)})
		}},
	}
	for _, tc := range []struct {
		name      string
		withPool  bool
		monotonic bool
		calls     []call
	}{
		{"Owned", false, false, append(statements, transactions...)},
		{"Owned/Monotonic", false, true, statements[:2]},
		{"WithPool", true, false, append(statements, transactions...)},
		{"WithPool/Monotonic", true, true, statements[:2]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			schema := pgtest.Schema(t)
			opts := []postgres.Option{postgres.WithSchema(schema), postgres.WithCreateTable()}
			connString := withRuntimeParam(t, pgtest.URL(t), "default_transaction_isolation", "serializable")
			if tc.withPool {
				opts = append(opts, postgres.WithPool(isolationPool(t, "serializable")))
				connString = ""
			}
			if tc.monotonic {
				opts = append(opts, postgres.WithMonotonicWrites())
			}
			store := postgres.NewOffsetStore(connString, opts...)
			if err := store.Connect(ctx); err != nil {
				t.Fatal(err)
			}
			defer store.Disconnect(context.Background())
			for shard := range uint64(3) {
				mustWrite(t, store, offset("p", shard, 0, 0))
			}
			refuse := pgx.Identifier{schema, "refuse"}.Sanitize()
			if _, err := newPool(t, pgtest.URL(t)).Exec(ctx, `CREATE FUNCTION `+refuse+`() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF current_setting('transaction_isolation') <> 'read committed' THEN
		RAISE EXCEPTION 'offsets changed at isolation level %', current_setting('transaction_isolation');
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER refuse AFTER INSERT OR UPDATE OR DELETE ON `+table(schema)+` FOR EACH ROW EXECUTE FUNCTION `+refuse+`()`); err != nil {
				t.Fatal(err)
			}
			for _, c := range tc.calls {
				if err := c.run(ctx, store); err != nil {
					t.Errorf("%s(ctx, ...) on connections that default to serializable = %v; want <nil>: the store pins its statements to READ COMMITTED", c.name, err)
				}
			}
		})
	}
}

// TestOffsetStore_ReadersDoNotWaitForAReset checks the promise of
// docs/postgres.md and the package doc, "Readers ... do not wait": while
// an open WriteOffsetTx holds projection r's lock shared and a row of it,
// and a reset of r waits for that lock, every read of r (GetCurrentOffset,
// Offsets, Snapshot, Projections) returns, with the values committed
// before the reset.
func TestOffsetStore_ReadersDoNotWaitForAReset(t *testing.T) {
	ctx := t.Context()
	store, schema := connectedStore(t)
	name := schema
	mustWrite(t, store, offset(name, 0, 10, 10))
	mustWrite(t, store, offset(name, 1, 10, 10))

	handler, err := newPool(t, pgtest.URL(t)).Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer handler.Rollback(context.Background())
	if err := store.WriteOffsetTx(ctx, handler, offset(name, 1, 11, 11)); err != nil {
		t.Fatalf("WriteOffsetTx(ctx, tx, {%s 1 11}) = %v; want <nil>", name, err)
	}
	resetDone := make(chan error, 1)
	go func() { resetDone <- store.ResetOffset(ctx, name, 0) }()
	waitForProjectionLock(t, name)

	readCtx, cancel := context.WithTimeout(ctx, patience)
	defer cancel()
	if got, err := store.GetCurrentOffset(readCtx, &egopb.ProjectionId{ProjectionName: name, ShardNumber: 0}); err != nil || got.GetValue() != 10 {
		t.Errorf("GetCurrentOffset(ctx, {%s 0}) while a reset waits = %v, %v; want value 10, <nil> well within %v: readers do not wait", name, got, err, patience)
	}
	if got, err := store.Offsets(readCtx, name); err != nil || len(got) != 2 {
		t.Errorf("Offsets(ctx, %s) while a reset waits = %v, %v; want 2 offsets, <nil> well within %v: readers do not wait", name, got, err, patience)
	}
	if got, err := store.Snapshot(readCtx); err != nil || len(got) != 2 {
		t.Errorf("Snapshot(ctx) while a reset waits = %v, %v; want 2 offsets, <nil> well within %v: readers do not wait", got, err, patience)
	}
	if got, err := store.Projections(readCtx); err != nil || len(got) != 1 {
		t.Errorf("Projections(ctx) while a reset waits = %+v, %v; want 1 summary, <nil> well within %v: readers do not wait", got, err, patience)
	}
	select {
	case err := <-resetDone:
		t.Fatalf("ResetOffset(ctx, %s, 0) = %v while a WriteOffsetTx of it is open; want it to wait", name, err)
	default:
	}
	if err := handler.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-resetDone; err != nil {
		t.Fatalf("ResetOffset(ctx, %s, 0) = %v; want <nil>", name, err)
	}
}
