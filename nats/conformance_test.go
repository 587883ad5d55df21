package nats_test

import (
	"testing"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/internal/natstest"
	"github.com/ego-contrib/offsetstore/offsetstoretest"
)

// TestOffsetStore_Conformance runs the conformance suite on one server,
// each case on a bucket of its own.
func TestOffsetStore_Conformance(t *testing.T) {
	t.Parallel()
	c := natstest.RunServer(t)
	offsetstoretest.Run(t, func(t *testing.T) offsetstore.OffsetStore {
		return newStore(t, c, 1)
	})
}

// TestOffsetStore_ConformanceCluster runs the conformance suite on a
// cluster of three servers, each case on a bucket of its own with three
// replicas.
func TestOffsetStore_ConformanceCluster(t *testing.T) {
	t.Parallel()
	c := natstest.RunCluster(t)
	offsetstoretest.Run(t, func(t *testing.T) offsetstore.OffsetStore {
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
