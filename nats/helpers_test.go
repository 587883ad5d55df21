package nats_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/natstest"
	offsetnats "github.com/ego-contrib/offsetstore/nats"
)

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
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := store.Disconnect(ctx); err != nil {
			t.Errorf("Disconnect(ctx) = %v; want <nil>", err)
		}
	})
	return store
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
