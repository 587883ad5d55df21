package nats_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/natstest"
	offsetnats "github.com/ego-contrib/offsetstore/nats"
)

// faultsVariable, set to 1, runs the long fault tests: the fault
// schedule of TestOffsetStore_Linearizable_Faults, and
// TestOffsetStore_Reads_RetriedWhileNoLeader.
const faultsVariable = "OFFSETSTORE_NATS_FAULTS"

// bucketSeq numbers the buckets tests create, so that tests sharing a
// cluster never share a bucket.
var bucketSeq atomic.Int64

func newBucket() string { return fmt.Sprintf("b%d", bucketSeq.Add(1)) }

// newStore returns a store, not connected, on a new bucket of c that it
// creates with replicas copies, and disconnects it when t ends.
func newStore(t testing.TB, c *natstest.Cluster, replicas int, opts ...offsetnats.Option) *offsetnats.OffsetStore {
	t.Helper()
	opts = append([]offsetnats.Option{offsetnats.WithBucket(newBucket()), offsetnats.WithCreateBucket(), offsetnats.WithReplicas(replicas)}, opts...)
	store := offsetnats.NewOffsetStore(c.URL(), opts...)
	disconnectOnCleanup(t, store)
	return store
}

// disconnectOnCleanup disconnects store when t ends, and fails t if that
// fails.
func disconnectOnCleanup(t testing.TB, store *offsetnats.OffsetStore) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := store.Disconnect(ctx); err != nil {
			t.Errorf("Disconnect(ctx) = %v; want <nil>", err)
		}
	})
}

// storeAt returns a store connected to srv alone, on bucket, which
// another store created; it ends with t.
func storeAt(t testing.TB, srv *natstest.Server, bucket string, opts ...offsetnats.Option) *offsetnats.OffsetStore {
	t.Helper()
	store := offsetnats.NewOffsetStore(srv.URL(), append([]offsetnats.Option{offsetnats.WithBucket(bucket)}, opts...)...)
	if err := store.Connect(t.Context()); err != nil {
		t.Fatalf("Connect(ctx) through %s = %v; want <nil>", srv.Name(), err)
	}
	disconnectOnCleanup(t, store)
	return store
}

// shardSubject is the subject of name's shard in bucket, as the package
// documentation spells it.
func shardSubject(bucket, name string, shard uint64) string {
	return fmt.Sprintf("$KV.%s.%s.%016x", bucket, base64.RawURLEncoding.EncodeToString([]byte(name)), shard)
}

// projectionKey is the key of name's record in bucket, as the package
// documentation spells it: the one key of a projection that is not a
// shard.
func projectionKey(name string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(name)) + ".p"
}

// connectedStore is [newStore], connected.
func connectedStore(t testing.TB, c *natstest.Cluster, replicas int, opts ...offsetnats.Option) *offsetnats.OffsetStore {
	t.Helper()
	store := newStore(t, c, replicas, opts...)
	if err := store.Connect(t.Context()); err != nil {
		t.Fatalf("Connect(ctx) = %v; want <nil>", err)
	}
	return store
}

func mustWrite(t testing.TB, store *offsetnats.OffsetStore, o *egopb.Offset) {
	t.Helper()
	if err := store.WriteOffset(t.Context(), o); err != nil {
		t.Fatalf("WriteOffset(ctx, %v) = %v; want <nil>", o, err)
	}
}
