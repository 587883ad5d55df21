package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/pgtest"
	"github.com/ego-contrib/offsetstore/postgres"
)

// The tests run against the server of $OFFSETSTORE_POSTGRES_URL, each on a
// schema of its own: pgtest.URL and pgtest.Schema, which skip the test
// without a server, or fail it where one is required.

// newStore returns a store, not connected, on a schema of the test's own
// that Connect creates with the table.
func newStore(tb testing.TB, opts ...postgres.Option) (*postgres.OffsetStore, string) {
	tb.Helper()
	return newStoreAt(tb, pgtest.URL(tb), opts...)
}

// newStoreAt is newStore reaching the test server through url, which
// names it or a pooler in front of it.
func newStoreAt(tb testing.TB, url string, opts ...postgres.Option) (*postgres.OffsetStore, string) {
	tb.Helper()
	schema := pgtest.Schema(tb)
	opts = append([]postgres.Option{postgres.WithSchema(schema), postgres.WithCreateTable()}, opts...)
	return postgres.NewOffsetStore(url, opts...), schema
}

// connectedStore returns newStore's store, connected, and disconnects it
// when the test ends.
func connectedStore(tb testing.TB, opts ...postgres.Option) (*postgres.OffsetStore, string) {
	tb.Helper()
	return connectedStoreAt(tb, pgtest.URL(tb), opts...)
}

// connectedStoreAt is connectedStore through url (see newStoreAt).
func connectedStoreAt(tb testing.TB, url string, opts ...postgres.Option) (*postgres.OffsetStore, string) {
	tb.Helper()
	store, schema := newStoreAt(tb, url, opts...)
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

// projectionNames returns the names Projections lists.
func projectionNames(ctx context.Context, store *postgres.OffsetStore) ([]string, error) {
	summaries, err := store.Projections(ctx)
	names := make([]string, len(summaries))
	for i, sum := range summaries {
		names[i] = sum.Name
	}
	return names, err
}

// second returns the second of two results, for a call whose first result
// a test does not look at.
func second[T any](_ T, err error) error { return err }
