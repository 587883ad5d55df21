package nats_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/internal/natstest"
	offsetnats "github.com/ego-contrib/offsetstore/nats"
)

// TestOffsetStore_Disconnect_WaitsForWritesInFlight checks that Disconnect
// returns only once the writes in flight have returned, so that a write
// refused with ErrNotConnected was not stored: 16 writers write rising
// values to shards of their own until Disconnect stops them, and each
// shard must then hold the last value acknowledged, never one refused.
func TestOffsetStore_Disconnect_WaitsForWritesInFlight(t *testing.T) {
	c := natstest.RunServer(t)
	for round := range 5 {
		store := connectedStore(t, c, 1)
		const writers = 16
		acked := make([]int64, writers)
		var wg sync.WaitGroup
		var failed []error
		var mu sync.Mutex
		for w := range writers {
			wg.Go(func() {
				for v := int64(1); ; v++ {
					err := store.WriteOffset(t.Context(), offset("p", uint64(w), v, v))
					if err == nil {
						acked[w] = v
						continue
					}
					if !errors.Is(err, offsetstore.ErrNotConnected) {
						mu.Lock()
						failed = append(failed, err)
						mu.Unlock()
					}
					return
				}
			})
		}
		time.Sleep(50 * time.Millisecond)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		err := store.Disconnect(ctx)
		cancel()
		if err != nil {
			t.Fatalf("round %d: Disconnect(ctx) = %v; want <nil>", round, err)
		}
		wg.Wait()
		for _, err := range failed {
			t.Errorf("round %d: WriteOffset = %v; want <nil> or ErrNotConnected", round, err)
		}
		if err := store.Connect(t.Context()); err != nil {
			t.Fatalf("round %d: Connect(ctx) = %v; want <nil>", round, err)
		}
		for w := range writers {
			if acked[w] == 0 {
				continue
			}
			wantOffset(t, store, "p", uint64(w), offset("p", uint64(w), acked[w], acked[w]))
		}
		if t.Failed() {
			return
		}
	}
}

// TestOffsetStore_Disconnect_AbandonedWrite checks that Disconnect
// returns nil only when no write the store sent can still be stored.
// Store a is connected to the leader of a bucket of three replicas whose
// two other servers are stopped: the leader keeps its leadership for 10 s
// (server/raft.go, lostQuorumInterval) and takes writes that it cannot
// commit yet. A write to it whose context runs out stays in its log, and
// is stored once a server comes back.
//
// First, a Disconnect whose context outlasts that must wait, and return
// nil only once the write is stored; then, one whose context ends first
// must say that writes are in doubt (ErrWritesInDoubt).
func TestOffsetStore_Disconnect_AbandonedWrite(t *testing.T) {
	c := natstest.RunCluster(t)
	bucket := newBucket()
	connectedStore(t, c, 3, offsetnats.WithBucket(bucket))
	leader := c.WaitForStreamLeader(t, "KV_"+bucket)
	var followers []*natstest.Server
	for _, s := range c.Servers {
		if s != leader {
			followers = append(followers, s)
		}
	}
	reader := offsetnats.NewOffsetStore(c.URL(), offsetnats.WithBucket(bucket))
	if err := reader.Connect(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reader.Disconnect(context.Background()) })

	// abandon writes value to shard 0 through a store of its own on the
	// leader, with the followers stopped, and gives up after 300 ms.
	abandon := func(value int64) *offsetnats.OffsetStore {
		t.Helper()
		a := offsetnats.NewOffsetStore(leader.URL(), offsetnats.WithBucket(bucket))
		if err := a.Connect(t.Context()); err != nil {
			t.Fatal(err)
		}
		for _, s := range followers {
			s.Stop()
		}
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		if err := a.WriteOffset(ctx, offset("p", 0, value, value)); err == nil {
			t.Fatalf("WriteOffset(ctx, {p 0 %d}) with the leader alone = <nil>; want its context's error", value)
		}
		return a
	}
	restart := func() {
		t.Helper()
		if err := followers[0].Start(); err != nil {
			t.Fatal(err)
		}
	}

	a := abandon(100)
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		done <- a.Disconnect(ctx)
	}()
	select {
	case err := <-done:
		t.Fatalf("Disconnect(ctx) = %v with the abandoned write of 100 not yet stored; want it to wait until it is", err)
	case <-time.After(500 * time.Millisecond):
	}
	restart()
	if err := <-done; err != nil {
		t.Fatalf("Disconnect(ctx) once a follower is back = %v; want <nil>", err)
	}
	wantOffset(t, reader, "p", 0, offset("p", 0, 100, 100))

	a = abandon(200)
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	err := a.Disconnect(ctx)
	cancel()
	if !errors.Is(err, offsetnats.ErrWritesInDoubt) {
		t.Errorf("Disconnect(ctx) with the abandoned write of 200 not stored before its context ended = %v; want an error wrapping ErrWritesInDoubt", err)
	}
	restart()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err := reader.GetCurrentOffset(t.Context(), id("p", 0))
		if err == nil && got != nil && got.Value == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GetCurrentOffset(ctx, {p 0}) = %v, %v 20s after a follower came back; want 200, the write Disconnect said was in doubt", got, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// abandonWrite writes to store with ever longer deadlines, from 1µs on,
// until a write's context ends after it was sent, and before its
// acknowledgement came: a write in doubt.
func abandonWrite(t *testing.T, store *offsetnats.OffsetStore) {
	t.Helper()
	for wait := time.Microsecond; offsetnats.Doubts(store) == 0; wait = min(2*wait, 10*time.Millisecond) {
		ctx, cancel := context.WithTimeout(t.Context(), wait)
		err := store.WriteOffset(ctx, offset("p", 0, 1, 1))
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("WriteOffset(ctx, {p 0 1}) = %v; want <nil> or its context's error", err)
		}
	}
}

// TestOffsetStore_Disconnect_InDoubtAfterReconnect checks that a write in
// doubt (sent, its context ended before its acknowledgement) lets
// Disconnect return nil once a later write on the same connection is
// acknowledged; and that after a reconnect, which leaves the old
// connection's last bytes to the network, Disconnect says that it is in
// doubt (ErrWritesInDoubt) instead.
func TestOffsetStore_Disconnect_InDoubtAfterReconnect(t *testing.T) {
	c := natstest.RunServer(t)
	bucket := newBucket()
	for _, reconnect := range []bool{false, true} {
		store := offsetnats.NewOffsetStore(c.URL(), offsetnats.WithBucket(bucket), offsetnats.WithCreateBucket())
		if err := store.Connect(t.Context()); err != nil {
			t.Fatal(err)
		}
		abandonWrite(t, store)
		if reconnect {
			c.Servers[0].Stop()
			for offsetnats.ConnStatus(store) != nats.RECONNECTING {
				time.Sleep(time.Millisecond)
			}
			if err := c.Servers[0].Start(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(20 * time.Second)
			for offsetnats.ConnStatus(store) != nats.CONNECTED {
				if time.Now().After(deadline) {
					t.Fatalf("the store has not reconnected 20s after its server restarted")
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		err := store.Disconnect(ctx)
		cancel()
		switch {
		case !reconnect && err != nil:
			t.Errorf("Disconnect(ctx) with a write in doubt on a connection that stayed up = %v; want <nil>: a write after it settles it", err)
		case reconnect && (!errors.Is(err, offsetnats.ErrWritesInDoubt) || !strings.Contains(err.Error(), "opened again")):
			t.Errorf("Disconnect(ctx) with a write in doubt sent before a reconnect = %v; want an error wrapping ErrWritesInDoubt that says the connection was opened again", err)
		}
	}
}
