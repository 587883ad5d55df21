package nats_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/natstest"
	offsetnats "github.com/ego-contrib/offsetstore/nats"
)

// TestOffsetStore_LeaderLoss has 16 writers write, each its own shard,
// ever higher values through one store connected to a cluster of three,
// on a bucket of three replicas; then stops the server that leads the
// bucket's stream. It checks that writes resume through the two others,
// and that every shard then holds at least the last value its writer saw
// acknowledged, and logs how long the writers waited.
func TestOffsetStore_LeaderLoss(t *testing.T) {
	const writers = 16
	c := natstest.RunCluster(t)
	bucket := newBucket()
	store := offsetnats.NewOffsetStore(c.URL(), offsetnats.WithBucket(bucket), offsetnats.WithCreateBucket(), offsetnats.WithReplicas(3))
	if err := store.Connect(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Disconnect(context.Background()) })

	var acked [writers]atomic.Int64
	var lastAck [writers]atomic.Int64 // Unix nanoseconds of the last acknowledgement
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for v := int64(1); !stop.Load(); v++ {
				ctx, cancel := context.WithTimeout(t.Context(), time.Second)
				err := store.WriteOffset(ctx, &egopb.Offset{ProjectionName: "p", ShardNumber: uint64(w), Value: v, Timestamp: v})
				cancel()
				if err == nil {
					acked[w].Store(v)
					lastAck[w].Store(time.Now().UnixNano())
				}
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	leader := c.WaitForStreamLeader(t, "KV_"+bucket)
	killed := time.Now()
	leader.Stop()
	t.Logf("stopped %s, the stream's leader", leader.Name())

	// Wait until every writer has been acknowledged after the loss.
	deadline := killed.Add(30 * time.Second)
	var recovered time.Duration
	for {
		all := true
		var latest int64
		for w := range writers {
			at := lastAck[w].Load()
			all = all && at > killed.UnixNano()
			latest = max(latest, at)
		}
		if all {
			recovered = time.Unix(0, latest).Sub(killed)
			break
		}
		if time.Now().After(deadline) {
			stop.Store(true)
			wg.Wait()
			t.Fatalf("some writers have had no write acknowledged 30s after the leader's server stopped; want writes to resume through the others")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("every one of %d writers had a write acknowledged %v after the leader's server stopped", writers, recovered.Round(time.Millisecond))

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for w := range writers {
		id := &egopb.ProjectionId{ProjectionName: "p", ShardNumber: uint64(w)}
		got, err := store.GetCurrentOffset(ctx, id)
		if err != nil || got == nil || got.Value < acked[w].Load() {
			t.Errorf("GetCurrentOffset(ctx, {p %d}) = %v, %v; want a value of at least %d, the last acknowledged: nothing acknowledged may be lost", w, got, err, acked[w].Load())
		}
	}
}

// TestOffsetStore_ServerRestart stops the only server: calls then fail
// within their context. It starts the server again on the same storage,
// and checks that the same store object, which nobody reconnects, writes
// again by itself and still holds what it wrote before.
func TestOffsetStore_ServerRestart(t *testing.T) {
	c := natstest.RunServer(t)
	store := offsetnats.NewOffsetStore(c.URL(), offsetnats.WithBucket(newBucket()), offsetnats.WithCreateBucket())
	if err := store.Connect(t.Context()); err != nil {
		t.Fatal(err)
	}
	// A write made before the client saw its server go was written to
	// the old connection, and is in doubt after the reconnect.
	t.Cleanup(func() {
		if err := store.Disconnect(context.Background()); err != nil && !errors.Is(err, offsetnats.ErrWritesInDoubt) {
			t.Errorf("Disconnect(ctx) = %v; want <nil> or ErrWritesInDoubt", err)
		}
	})
	before := &egopb.Offset{ProjectionName: "p", ShardNumber: 1, Value: 7, Timestamp: 7}
	mustWrite(t, store, before)

	c.Servers[0].Stop()
	const wait = 300 * time.Millisecond
	for _, call := range []struct {
		name string
		do   func(context.Context) error
	}{
		{"WriteOffset", func(ctx context.Context) error {
			return store.WriteOffset(ctx, &egopb.Offset{ProjectionName: "p", ShardNumber: 2, Value: 1})
		}},
		{"GetCurrentOffset", func(ctx context.Context) error {
			_, err := store.GetCurrentOffset(ctx, &egopb.ProjectionId{ProjectionName: "p", ShardNumber: 1})
			return err
		}},
		{"ResetOffset", func(ctx context.Context) error { return store.ResetOffset(ctx, "q", 0) }},
		{"Ping", store.Ping},
	} {
		ctx, cancel := context.WithTimeout(t.Context(), wait)
		start := time.Now()
		err := call.do(ctx)
		took := time.Since(start)
		cancel()
		if err == nil || took > wait+time.Second {
			t.Errorf("%s with the only server stopped = %v after %v; want an error within the context's %v", call.name, err, took, wait)
		}
	}

	if err := c.Servers[0].Start(); err != nil {
		t.Fatal(err)
	}
	after := &egopb.Offset{ProjectionName: "p", ShardNumber: 3, Value: 9, Timestamp: 9}
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		err := store.WriteOffset(ctx, after)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("WriteOffset(ctx, %v) = %v 20s after the server restarted; want the store to recover by itself", after, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, want := range []*egopb.Offset{before, after} {
		got, err := store.GetCurrentOffset(t.Context(), &egopb.ProjectionId{ProjectionName: want.ProjectionName, ShardNumber: want.ShardNumber})
		if err != nil || got == nil || got.Value != want.Value {
			t.Errorf("GetCurrentOffset(ctx, {p %d}) after the restart = %v, %v; want value %d", want.ShardNumber, got, err, want.Value)
		}
	}
}

// startServerAt starts a server with JetStream on port (a random one if
// it is -1), storing in dir, and shuts it down when t ends if the test
// has not.
func startServerAt(t *testing.T, port int, dir string) *server.Server {
	t.Helper()
	srv, err := server.NewServer(&server.Options{ServerName: "n1", Host: "127.0.0.1", Port: port, NoLog: true, NoSigs: true,
		JetStream: true, StoreDir: dir, JetStreamMaxMemory: 64 << 20, JetStreamMaxStore: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	if !srv.ReadyForConnections(20 * time.Second) {
		t.Fatalf("server on port %d not ready", port)
	}
	return srv
}

// TestOffsetStore_FailedWrite_NeverSentLater checks that a write that
// failed while the store's connection was down is not sent once it is up
// again, where it would undo a later write acknowledged meanwhile: store
// a's server stops; a's write of 100 fails; the server comes back on
// another port, where store b writes 150; then back on a's port, where a
// reconnects by itself. The shard must hold 150.
func TestOffsetStore_FailedWrite_NeverSentLater(t *testing.T) {
	dir := t.TempDir()
	srv := startServerAt(t, -1, dir)
	port := srv.Addr().(*net.TCPAddr).Port
	bucket := newBucket()
	a := offsetnats.NewOffsetStore(srv.ClientURL(), offsetnats.WithBucket(bucket), offsetnats.WithCreateBucket())
	if err := a.Connect(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Disconnect(context.Background()) })
	mustWrite(t, a, offset("p", 0, 50, 50))

	srv.Shutdown()
	srv.WaitForShutdown()
	for offsetnats.ConnStatus(a) != nats.RECONNECTING {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	err := a.WriteOffset(ctx, offset("p", 0, 100, 100))
	cancel()
	if err == nil {
		t.Fatalf("WriteOffset(ctx, {p 0 100}) with the server stopped = <nil>; want an error")
	}

	srv = startServerAt(t, -1, dir)
	b := offsetnats.NewOffsetStore(srv.ClientURL(), offsetnats.WithBucket(bucket))
	if err := b.Connect(t.Context()); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, b, offset("p", 0, 150, 150))
	if err := b.Disconnect(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv.Shutdown()
	srv.WaitForShutdown()

	startServerAt(t, port, dir)
	// Once a's write of shard 1 is acknowledged, every earlier message a
	// sent on that connection has been stored or dropped: the server
	// stores one connection's messages to a stream in order.
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		err := a.WriteOffset(ctx, offset("p", 1, 1, 1))
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("WriteOffset(ctx, {p 1 1}) 20s after the server came back = %v; want <nil>", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	wantOffset(t, a, "p", 0, offset("p", 0, 150, 150))
}
