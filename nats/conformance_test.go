package nats_test

import (
	"os"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/internal/natstest"
	offsetnats "github.com/ego-contrib/offsetstore/nats"
	"github.com/ego-contrib/offsetstore/offsetstoretest"
)

// TestOffsetStore_Conformance runs the conformance suite on one server,
// each case on a bucket of its own, made as a user would make one
// (nats kv add, then allow_atomic set on its stream), in memory: a
// server stages each atomic batch to a bucket of one replica on disk in
// a file store of its own, which costs about 4 ms a batch (a sync), and
// the suite makes 1,000 resets; the other tests on one server use disk.
func TestOffsetStore_Conformance(t *testing.T) {
	t.Parallel()
	c := natstest.RunServer(t)
	_, js := jsOn(t, c.URL())
	offsetstoretest.Run(t, func(t *testing.T) offsetstore.OffsetStore {
		bucket := newBucket()
		kv, err := js.CreateKeyValue(t.Context(), jetstream.KeyValueConfig{Bucket: bucket, Storage: jetstream.MemoryStorage})
		if err != nil {
			t.Fatal(err)
		}
		status, err := kv.Status(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		cfg := status.(*jetstream.KeyValueBucketStatus).StreamInfo().Config
		cfg.AllowAtomicPublish = true
		if _, err := js.UpdateStream(t.Context(), cfg); err != nil {
			t.Fatal(err)
		}
		store := offsetnats.NewOffsetStore(c.URL(), offsetnats.WithBucket(bucket))
		disconnectOnCleanup(t, store)
		return store
	})
}

// TestOffsetStore_ConformanceCluster runs the conformance suite on a
// cluster of three servers, each case on a bucket of its own with three
// replicas. Its ResetAtomic case, 1,000 resets of 16 shards while three
// readers read 8,000 times, each read and each reset a write replicated
// to three servers (see the package documentation), takes about 70 s
// under -race: it runs with OFFSETSTORE_NATS_FAULTS=1, with the long
// fault runs. TestOffsetStore_Conformance runs it on one server, and
// TestOffsetStore_Linearizable checks resets through three servers.
func TestOffsetStore_ConformanceCluster(t *testing.T) {
	t.Parallel()
	c := natstest.RunCluster(t)
	offsetstoretest.Run(t, func(t *testing.T) offsetstore.OffsetStore {
		if strings.HasSuffix(t.Name(), "/ResetAtomic") && os.Getenv(faultsVariable) != "1" {
			t.Skipf("takes about 70 s under -race: set %s=1 to run it", faultsVariable)
		}
		return newStore(t, c, 3)
	})
}
