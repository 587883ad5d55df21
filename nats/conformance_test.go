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

// skipResetAtomic skips the suite's ResetAtomic case, t being one of the
// suite's subtests, unless OFFSETSTORE_NATS_FAULTS=1: 1,000 resets of 16
// shards while three readers read 8,000 times, each read and each reset
// a write through the stream's leader (see the package documentation),
// take 15 s on one server and 70 s on three under -race, and three to
// four times that beside the other tests. TestOffsetStore_Linearizable
// checks resets, of all shards and of some, with reads through three
// servers in the default run.
func skipResetAtomic(t *testing.T) {
	if strings.HasSuffix(t.Name(), "/ResetAtomic") && os.Getenv(faultsVariable) != "1" {
		t.Skipf("1,000 resets and 8,000 reads, each a write through the stream's leader: set %s=1 to run it", faultsVariable)
	}
}

// TestOffsetStore_Conformance runs the conformance suite on one server,
// each case on a bucket of its own, made as a user would make one
// (nats kv add, then allow_atomic set on its stream). ResetAtomic runs with OFFSETSTORE_NATS_FAULTS=1 (see skipResetAtomic).
func TestOffsetStore_Conformance(t *testing.T) {
	t.Parallel()
	c := natstest.RunServer(t)
	_, js := jsOn(t, c.URL())
	offsetstoretest.Run(t, func(t *testing.T) offsetstore.OffsetStore {
		skipResetAtomic(t)
		bucket := newBucket()
		kv, err := js.CreateKeyValue(t.Context(), jetstream.KeyValueConfig{Bucket: bucket})
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
// replicas. ResetAtomic runs with OFFSETSTORE_NATS_FAULTS=1 (see
// skipResetAtomic).
func TestOffsetStore_ConformanceCluster(t *testing.T) {
	t.Parallel()
	c := natstest.RunCluster(t)
	offsetstoretest.Run(t, func(t *testing.T) offsetstore.OffsetStore {
		skipResetAtomic(t)
		return newStore(t, c, 3)
	})
}

// TestOffsetStore_AdminConformance runs the Admin suite on a cluster of
// three servers, each case on a bucket of its own with three replicas.
func TestOffsetStore_AdminConformance(t *testing.T) {
	t.Parallel()
	c := natstest.RunCluster(t)
	offsetstoretest.RunAdmin(t, func(t *testing.T) offsetstore.Admin {
		return newStore(t, c, 3)
	})
}
