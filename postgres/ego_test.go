package postgres_test

import (
	"context"
	"math"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/pgtest"
)

// eGo's PostgreSQL offset store (ego-contrib, offsetstore/postgres), as it
// creates its table and as it writes, reads and resets offsets. It passes
// the shard as a uint64 and reads it back into one.
const (
	egoSchemaSQL = `CREATE TABLE IF NOT EXISTS offsets_store
(
    projection_name VARCHAR(255) NOT NULL,
    shard_number    BIGINT       NOT NULL,
    current_offset  BIGINT       NOT NULL,
    timestamp       BIGINT       NOT NULL,
    PRIMARY KEY (projection_name, shard_number)
);
CREATE INDEX IF NOT EXISTS idx_offsets_store_name ON offsets_store (projection_name);
CREATE INDEX IF NOT EXISTS idx_offsets_store_shard ON offsets_store (shard_number);`
	egoUpsertSQL = `INSERT INTO offsets_store (projection_name,shard_number,current_offset,timestamp) VALUES ($1,$2,$3,$4) ` +
		`ON CONFLICT (projection_name, shard_number) DO UPDATE SET current_offset = EXCLUDED.current_offset, timestamp = EXCLUDED.timestamp`
	egoSelectSQL = `SELECT projection_name, shard_number, current_offset, timestamp FROM offsets_store WHERE projection_name = $1 AND shard_number = $2`
	egoResetSQL  = `UPDATE offsets_store SET current_offset = $1, timestamp = $2 WHERE projection_name = $3`
)

// egoStore runs eGo's statements on a connection whose search_path is the
// test's schema, where eGo's unqualified table name finds the table.
type egoStore struct{ conn *pgx.Conn }

func newEgoStore(t *testing.T, schema string) egoStore {
	t.Helper()
	config, err := pgx.ParseConfig(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	config.RuntimeParams["search_path"] = schema
	conn, err := pgx.ConnectConfig(t.Context(), config)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return egoStore{conn}
}

func (e egoStore) write(t *testing.T, o *egopb.Offset) {
	t.Helper()
	if _, err := e.conn.Exec(t.Context(), egoUpsertSQL, o.ProjectionName, o.ShardNumber, o.Value, o.Timestamp); err != nil {
		t.Fatalf("eGo's upsert of %v: %v", o, err)
	}
}

func (e egoStore) read(t *testing.T, name string, shard uint64) *egopb.Offset {
	t.Helper()
	var o egopb.Offset
	err := e.conn.QueryRow(t.Context(), egoSelectSQL, name, shard).Scan(&o.ProjectionName, &o.ShardNumber, &o.Value, &o.Timestamp)
	if err == pgx.ErrNoRows {
		return nil
	}
	if err != nil {
		t.Fatalf("eGo's select of {%q %d}: %v", name, shard, err)
	}
	return &o
}

// TestEgoTable_BothWays checks that the store works on a table eGo's store
// created, with eGo's indexes, without WithCreateTable: rows eGo writes
// read back through the store and the store resets them, and rows the
// store writes, one at a time or batched, read back through eGo.
func TestEgoTable_BothWays(t *testing.T) {
	schema := pgtest.Schema(t)
	pool := newPool(t, pgtest.URL(t))
	ctx := t.Context()
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	ego := newEgoStore(t, schema)
	if _, err := ego.conn.Exec(ctx, egoSchemaSQL); err != nil {
		t.Fatalf("eGo's schema: %v", err)
	}
	store, _ := postgresStoreOn(t, schema)

	// eGo writes; the store reads.
	fromEgo := []*egopb.Offset{
		offset("accounts", 0, 15, 1_700_000_000_000),
		offset("accounts", 270, -3, 1_700_000_000_001),
		offset("accounts", math.MaxInt64, math.MaxInt64, 0),
	}
	for _, o := range fromEgo {
		ego.write(t, o)
		wantOffset(t, store, o.ProjectionName, o.ShardNumber, o)
	}
	if got, err := store.Offsets(ctx, "accounts"); err != nil || !sameOffsets(got, fromEgo) {
		t.Errorf("Offsets(ctx, accounts) = %v, %v; want eGo's rows %v", got, err, fromEgo)
	}
	// The store resets them; eGo reads the reset.
	if err := store.ResetOffset(ctx, "accounts", 0); err != nil {
		t.Fatal(err)
	}
	for _, o := range fromEgo {
		if got := ego.read(t, o.ProjectionName, o.ShardNumber); got == nil || got.Value != 0 {
			t.Errorf("eGo reads {accounts %d} after the store's reset = %v; want value 0", o.ShardNumber, got)
		}
	}

	// The store writes, alone and in a batch; eGo reads.
	fromStore := []*egopb.Offset{offset("orders", 3, 7, 8), offset("orders", 1<<62, 9, 10)}
	for _, o := range fromStore {
		mustWrite(t, store, o)
	}
	batch := []*egopb.Offset{offset("orders", 4, 11, 12), offset("audit", 5, 13, 14)}
	if err := store.WriteOffsets(ctx, batch); err != nil {
		t.Fatal(err)
	}
	for _, o := range append(fromStore, batch...) {
		if got := ego.read(t, o.ProjectionName, o.ShardNumber); !sameOffset(got, o) {
			t.Errorf("eGo reads {%q %d} = %v; want %v, as the store wrote it", o.ProjectionName, o.ShardNumber, got, o)
		}
	}
	// eGo resets; the store reads the reset.
	if _, err := ego.conn.Exec(ctx, egoResetSQL, int64(-1), int64(99), "orders"); err != nil {
		t.Fatal(err)
	}
	wantOffset(t, store, "orders", 3, offset("orders", 3, -1, 99))

	// Shards from 2^63 up, which eGo cannot write, are stored as their
	// bit pattern: the highest as -1.
	mustWrite(t, store, offset("wide", math.MaxUint64, 1, 1))
	var shard int64
	if err := pool.QueryRow(ctx, "SELECT shard_number FROM "+table(schema)+" WHERE projection_name = 'wide'").Scan(&shard); err != nil || shard != -1 {
		t.Errorf("shard_number stored for shard %d = %d, %v; want -1, its bit pattern", uint64(math.MaxUint64), shard, err)
	}
}
