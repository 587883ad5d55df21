package nats_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/lincheck"
	"github.com/ego-contrib/offsetstore/internal/natstest"
	offsetnats "github.com/ego-contrib/offsetstore/nats"
)

// spread sends each call to the next of its stores in turn, so that
// consecutive calls of one client, and concurrent calls of several, go
// through different servers.
type spread struct {
	stores []*offsetnats.OffsetStore
	next   atomic.Uint64
	// viaResetShards makes a reset ResetShards(ctx, name, value, nil),
	// which rewrites the record in an atomic batch on the condition that
	// no key of the projection changed since it read them.
	viaResetShards bool
}

func (s *spread) pick() *offsetnats.OffsetStore {
	return s.stores[s.next.Add(1)%uint64(len(s.stores))]
}

func (s *spread) WriteOffset(ctx context.Context, o *egopb.Offset) error {
	return s.pick().WriteOffset(ctx, o)
}

func (s *spread) GetCurrentOffset(ctx context.Context, id *egopb.ProjectionId) (*egopb.Offset, error) {
	return s.pick().GetCurrentOffset(ctx, id)
}

func (s *spread) ResetOffset(ctx context.Context, name string, value int64) error {
	if s.viaResetShards {
		_, err := s.pick().ResetShards(ctx, name, value, nil)
		return err
	}
	return s.pick().ResetOffset(ctx, name, value)
}

// TestOffsetStore_Linearizable checks, on a cluster of three servers and a
// bucket of three replicas, that concurrent WriteOffset, GetCurrentOffset
// and ResetOffset calls behave as if each took effect at one instant
// between its call and its return: through three stores, each connected
// to a server of its own, every call going through the next store in
// turn, so that a read through one server must see a write or a reset
// acknowledged through another, and a read served by a replica that lags
// its leader shows. Resets meet a shard that the history adds meanwhile
// (lincheck's last shard); the last history resets through
// ResetShards(ctx, name, value, nil) instead. Each of 5 histories, on a projection of its
// own, has 8 clients making 40 calls each; writes that go out grouped are
// counted (TestOffsetStore_GroupedWrites makes sure some do).
func TestOffsetStore_Linearizable(t *testing.T) {
	const rounds = 5
	run := lincheck.Run{Clients: 8, OpsPerClient: 40}
	c := natstest.RunCluster(t)
	bucket := newBucket()
	s := &spread{}
	for _, srv := range c.Servers {
		store := offsetnats.NewOffsetStore(srv.URL(), offsetnats.WithBucket(bucket), offsetnats.WithCreateBucket(),
			offsetnats.WithReplicas(3), offsetnats.WithClock(lincheck.Clock))
		if err := store.Connect(t.Context()); err != nil {
			t.Fatalf("Connect(ctx) through %s = %v; want <nil>", srv.Name(), err)
		}
		t.Cleanup(func() { _ = store.Disconnect(context.Background()) })
		s.stores = append(s.stores, store)
	}
	ops := 0
	for round := range rounds {
		// The last round resets through ResetShards.
		s.viaResetShards = round == rounds-1
		history := run.History(t, s, fmt.Sprintf("lin-%d", round), uint64(round))
		ops += len(history)
		lincheck.Verify(t, fmt.Sprintf("round %d", round), history)
	}
	var groups, writes int64
	for _, store := range s.stores {
		g, w := offsetnats.GroupCounts(store)
		groups, writes = groups+g, writes+w
	}
	t.Logf("operations checked for linearizability: %d in %d histories, through 3 servers; %d writes went out in %d groups", ops, rounds, writes, groups)
}

// TestOffsetStore_GroupedWrites has 64 writers write at once, each its own
// shard, through one store on a cluster of three, and checks that writes
// went out in groups, and that every shard holds its writer's last value.
func TestOffsetStore_GroupedWrites(t *testing.T) {
	const writers, writes = 64, 20
	store := connectedStore(t, natstest.RunCluster(t), 3)
	var wg sync.WaitGroup
	for w := range uint64(writers) {
		wg.Go(func() {
			for v := int64(1); v <= writes; v++ {
				if err := store.WriteOffset(t.Context(), &egopb.Offset{ProjectionName: "p", ShardNumber: w, Value: v, Timestamp: v}); err != nil {
					t.Errorf("WriteOffset(ctx, {p %d value:%d}) = %v; want <nil>", w, v, err)
					return
				}
			}
		})
	}
	wg.Wait()
	groups, sent := offsetnats.GroupCounts(store)
	t.Logf("%d writes went out in %d groups", sent, groups)
	if sent <= groups {
		t.Errorf("%d writes went out in %d groups; want fewer groups than writes from 64 writers at once", sent, groups)
	}
	for w := range uint64(writers) {
		got, err := store.GetCurrentOffset(t.Context(), &egopb.ProjectionId{ProjectionName: "p", ShardNumber: w})
		if err != nil || got == nil || got.Value != writes || got.Timestamp != writes {
			t.Errorf("GetCurrentOffset(ctx, {p %d}) = %v, %v; want value and timestamp %d, the writer's last", w, got, err, writes)
		}
	}
}
