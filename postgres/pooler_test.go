package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/pgtest"
	"github.com/ego-contrib/offsetstore/offsetstoretest"
	"github.com/ego-contrib/offsetstore/postgres"
)

// The tests of this file reach the test server through PgBouncer, in
// transaction pooling mode with PgBouncer's defaults otherwise, as
// scripts/with-postgres.sh starts it: the URL adds only pgx's
// default_query_exec_mode, and the store must need nothing else.
// The longest run in parallel with each other and the failover tests,
// once the package's other tests are done: they wait on round trips
// through the pooler more than on the two cores.

// poolerURL returns the URL of the test server through PgBouncer, with
// pgx's query exec mode mode.
func poolerURL(tb testing.TB, mode string) string {
	tb.Helper()
	url := pgtest.PgBouncerURL(tb)
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	return url + sep + "default_query_exec_mode=" + mode
}

func TestPooler_Conformance(t *testing.T) {
	t.Parallel()
	url := poolerURL(t, "exec")
	offsetstoretest.Run(t, func(t *testing.T) offsetstore.OffsetStore {
		store, _ := newStoreAt(t, url)
		return store
	})
}

func TestPooler_Linearizable(t *testing.T) {
	t.Parallel()
	linearizable(t, poolerURL(t, "exec"))
}

func TestPooler_WriteOffsetTx(t *testing.T) {
	writeOffsetTx(t, poolerURL(t, "exec"))
}

// TestPooler_ConcurrentWriters has 64 goroutines write through one store,
// each to a key of its own, in each exec mode that works behind
// PgBouncer's transaction pooling: every write must succeed, many must
// share a batch, and each key must end with its last value.
func TestPooler_ConcurrentWriters(t *testing.T) {
	for _, mode := range []string{"exec", "cache_describe", "simple_protocol"} {
		t.Run("mode="+mode, func(t *testing.T) {
			store, _ := connectedStoreAt(t, poolerURL(t, mode))
			const writers, writes = 64, 20
			ctx := t.Context()
			key := func(w int) (string, uint64) { return fmt.Sprintf("p%d", w%4), uint64(w) }
			var wg sync.WaitGroup
			errs := make(chan error, writers)
			for w := range writers {
				wg.Go(func() {
					name, shard := key(w)
					for v := range int64(writes) {
						o := &egopb.Offset{ProjectionName: name, ShardNumber: shard, Value: v + 1, Timestamp: v + 1}
						if err := store.WriteOffset(ctx, o); err != nil {
							errs <- fmt.Errorf("WriteOffset(ctx, %v) = %w; want <nil>", o, err)
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			for w := range writers {
				name, shard := key(w)
				wantOffset(t, store, name, shard, offset(name, shard, writes, writes))
			}
			batches, rows := postgres.BatchCounts(store)
			t.Logf("%d writes went out in %d batches", rows, batches)
			if rows <= batches {
				t.Errorf("%d writes went out in %d batches; want fewer batches than writes: group commit must work through the pooler", rows, batches)
			}
		})
	}
}

// TestPooler_CacheStatement_SaysWhatToDo uses pgx's default exec mode,
// which prepares each statement once per connection: behind transaction
// pooling the next statement may reach a server connection that lacks it,
// or already has one of its name. The error must say to change the mode.
// Stores connect one after the other until one fails, which takes one or
// two once PgBouncer's server connections have prepared the statements.
func TestPooler_CacheStatement_SaysWhatToDo(t *testing.T) {
	url := poolerURL(t, "cache_statement")
	ctx := t.Context()
	var err error
	for i := 0; i < 40 && err == nil; i++ {
		store, _ := newStoreAt(t, url)
		if err = store.Connect(ctx); err != nil {
			break
		}
		o := offset("p", uint64(i), 1, 1)
		if err = store.WriteOffset(ctx, o); err == nil {
			_, err = store.GetCurrentOffset(ctx, &egopb.ProjectionId{ProjectionName: "p", ShardNumber: uint64(i)})
		}
		if dErr := store.Disconnect(context.Background()); dErr != nil {
			t.Fatal(dErr)
		}
	}
	t.Logf("cache_statement behind PgBouncer: %v", err)
	if err == nil || !strings.Contains(err.Error(), "default_query_exec_mode=exec") {
		t.Errorf("Connect, WriteOffset and GetCurrentOffset of 40 stores in exec mode cache_statement through PgBouncer in transaction pooling: %v; want an error saying to add default_query_exec_mode=exec to the URL", err)
	}
}
