package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/postgres"
)

// The tests run against the server of urlVariable. Without it they skip,
// so that go test ./... passes anywhere, unless requiredVariable is 1, as
// scripts/with-postgres.sh sets it, in which case they fail.
const (
	urlVariable      = "OFFSETSTORE_POSTGRES_URL"
	requiredVariable = "OFFSETSTORE_POSTGRES_REQUIRED"
)

// serverURL returns the test server's URL, or ends the test.
func serverURL(tb testing.TB) string {
	tb.Helper()
	url := os.Getenv(urlVariable)
	if url != "" {
		return url
	}
	msg := urlVariable + " is not set: set it to a PostgreSQL URL (postgres://user:password@host:port/db), or run the tests under scripts/with-postgres.sh, which starts a throwaway server"
	if os.Getenv(requiredVariable) == "1" {
		tb.Fatalf("%s; %s=1 says the PostgreSQL tests must run", msg, requiredVariable)
	}
	tb.Skip(msg)
	return ""
}

// newSchema returns the name of a schema of the test's own, which does not
// exist yet and is dropped, with everything in it, when the test ends.
func newSchema(tb testing.TB) string {
	tb.Helper()
	url := serverURL(tb)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "offsetstore_test_" + hex.EncodeToString(b[:])
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			tb.Errorf("connect to drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}

// newStore returns a store, not connected, on a schema of the test's own
// that Connect creates with the table.
func newStore(tb testing.TB, opts ...postgres.Option) (*postgres.OffsetStore, string) {
	tb.Helper()
	schema := newSchema(tb)
	opts = append([]postgres.Option{postgres.WithSchema(schema), postgres.WithCreateTable()}, opts...)
	return postgres.NewOffsetStore(serverURL(tb), opts...), schema
}

// connectedStore returns newStore's store, connected, and disconnects it
// when the test ends.
func connectedStore(tb testing.TB, opts ...postgres.Option) (*postgres.OffsetStore, string) {
	tb.Helper()
	store, schema := newStore(tb, opts...)
	if err := store.Connect(context.Background()); err != nil {
		tb.Fatalf("Connect(ctx) = %v; want <nil>", err)
	}
	tb.Cleanup(func() {
		if err := store.Disconnect(context.Background()); err != nil {
			tb.Errorf("Disconnect(ctx) = %v; want <nil>", err)
		}
	})
	return store, schema
}

// newPool returns a pool on the test server, closed when the test ends.
func newPool(tb testing.TB, url string) *pgxpool.Pool {
	tb.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		tb.Fatalf("pgxpool.New(ctx, %q) = %v", url, err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

// table returns the quoted name of the offsets table in schema.
func table(schema string) string {
	return pgx.Identifier{schema, postgres.DefaultTable}.Sanitize()
}

// mustWrite writes o, ending the test unless that succeeds.
func mustWrite(tb testing.TB, store interface {
	WriteOffset(context.Context, *egopb.Offset) error
}, o *egopb.Offset) {
	tb.Helper()
	if err := store.WriteOffset(context.Background(), o); err != nil {
		tb.Fatalf("WriteOffset(ctx, %v) = %v; want <nil>", o, err)
	}
}
