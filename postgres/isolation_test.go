package postgres_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/pgtest"
	"github.com/ego-contrib/offsetstore/postgres"
)

// TestOffsetStore_WritesRunAtReadCommitted connects to the test server
// with SERIALIZABLE as the sessions' default isolation, as a server's
// configuration may set it, and checks with a trigger that every write,
// lone or batched, monotonic or not, ran at READ COMMITTED; and that on a
// server at PostgreSQL's default they do too.
func TestOffsetStore_WritesRunAtReadCommitted(t *testing.T) {
	for _, tc := range []struct {
		name, options string
	}{
		{"default=serializable", "options=-c%20default_transaction_isolation%3Dserializable"},
		{"default=read-committed", ""},
	} {
		for _, monotonic := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/monotonic=%v", tc.name, monotonic), func(t *testing.T) {
				url := pgtest.URL(t)
				if tc.options != "" {
					url += "&" + tc.options
				}
				var opts []postgres.Option
				if monotonic {
					opts = append(opts, postgres.WithMonotonicWrites())
				}
				store, schema := connectedStoreAt(t, url, opts...)
				pool := newPool(t, url)
				ctx := t.Context()
				var level string
				if err := pool.QueryRow(ctx, "SHOW default_transaction_isolation").Scan(&level); err != nil {
					t.Fatal(err)
				}
				t.Logf("the sessions' default isolation: %s", level)
				seen := pgx.Identifier{schema, "seen"}.Sanitize()
				record := pgx.Identifier{schema, "record"}.Sanitize()
				for _, stmt := range []string{
					"CREATE TABLE " + seen + " (level TEXT NOT NULL)",
					"CREATE FUNCTION " + record + "() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO " + seen + " VALUES (current_setting('transaction_isolation')); RETURN NEW; END $$",
					"CREATE TRIGGER record BEFORE INSERT OR UPDATE ON " + table(schema) + " FOR EACH ROW EXECUTE FUNCTION " + record + "()",
				} {
					if _, err := pool.Exec(ctx, stmt); err != nil {
						t.Fatal(err)
					}
				}
				mustWrite(t, store, offset("p", 0, 1, 1))
				var wg sync.WaitGroup
				for w := range 32 {
					wg.Go(func() {
						o := &egopb.Offset{ProjectionName: "p", ShardNumber: uint64(w % 8), Value: int64(w), Timestamp: 1}
						if err := store.WriteOffset(ctx, o); err != nil && !monotonic {
							t.Errorf("WriteOffset(ctx, %v) = %v; want <nil>", o, err)
						}
					})
				}
				wg.Wait()
				rows, err := pool.Query(ctx, "SELECT level FROM "+seen)
				if err != nil {
					t.Fatal(err)
				}
				levels, err := pgx.CollectRows(rows, pgx.RowTo[string])
				if err != nil {
					t.Fatal(err)
				}
				slices.Sort(levels)
				levels = slices.Compact(levels)
				if len(levels) != 1 || levels[0] != "read committed" {
					t.Errorf("isolation levels writes ran at, on a server whose default is %s: %q; want only \"read committed\"", level, levels)
				}
			})
		}
	}
}
