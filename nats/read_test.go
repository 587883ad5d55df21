package nats_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/natstest"
	offsetnats "github.com/ego-contrib/offsetstore/nats"
)

// jsOn returns a JetStream context on a connection of its own to url,
// closed when t ends.
func jsOn(t *testing.T, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// followers returns the running servers of c other than leader.
func followers(c *natstest.Cluster, leader *natstest.Server) []*natstest.Server {
	var out []*natstest.Server
	for _, s := range c.Servers {
		if s != leader && s.Running() {
			out = append(out, s)
		}
	}
	return out
}

// TestOffsetStore_Reads_BucketScaledWhileConnected checks that reads stay
// linearizable when a bucket of one replica is scaled to three while
// stores are connected to it: then every server holds a copy, which may
// lag its leader. A store connected to the stream's leader writes rising
// values; after each, stores connected to each of the two others read
// it, and must see it. The servers that got a copy start answering direct
// gets within a few seconds (they check every 2 s whether they are
// current): the test reads for 4 s, and 300 rounds at least.
func TestOffsetStore_Reads_BucketScaledWhileConnected(t *testing.T) {
	t.Parallel()
	const (
		rounds = 300
		period = 4 * time.Second
	)
	c := natstest.RunCluster(t)
	bucket := newBucket()
	connectedStore(t, c, 1, offsetnats.WithBucket(bucket))
	stream := "KV_" + bucket
	leader := c.WaitForStreamLeader(t, stream)
	writer := storeAt(t, leader, bucket)
	var readers []*offsetnats.OffsetStore
	for _, s := range followers(c, leader) {
		readers = append(readers, storeAt(t, s, bucket))
	}
	mustWrite(t, writer, offset("scaled", 0, 0, 0))

	_, js := jsOn(t, leader.URL())
	ctx := t.Context()
	st, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	cfg := st.CachedInfo().Config
	cfg.Replicas = 3
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatalf("UpdateStream(ctx, %s with 3 replicas) = %v; want <nil>", stream, err)
	}
	waitForReplicas(t, js, stream, 3)

	stale, reads := 0, 0
	end := time.Now().Add(period)
	for v := int64(1); v <= rounds || time.Now().Before(end); v++ {
		mustWrite(t, writer, offset("scaled", 0, v, v))
		for _, r := range readers {
			got, err := r.GetCurrentOffset(ctx, id("scaled", 0))
			if err != nil {
				t.Fatalf("GetCurrentOffset(ctx, {scaled 0}) = %v, %v; want value %d, <nil>", got, err, v)
			}
			reads++
			if got == nil || got.Value != v {
				stale++
			}
		}
	}
	if stale > 0 {
		t.Errorf("%d of %d reads through the servers the bucket was scaled onto missed a write acknowledged before they began; want none: reads are linearizable however the bucket's replicas change", stale, reads)
	}
}

// untilAcked calls change, with a context of 2 s, until it returns nil,
// and fails t after 30 s. change must store the same however often it
// is called.
func untilAcked(t *testing.T, change func(context.Context) error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		err := change(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a change through the new leader = %v 30s after it was elected; want <nil>", err)
		}
	}
}

// currentReplicas counts the stream's copies that are current: its
// leader's, if it has one, and its followers' that are.
func currentReplicas(info *jetstream.StreamInfo) int {
	if info.Cluster == nil || info.Cluster.Leader == "" {
		return 0
	}
	current := 1
	for _, r := range info.Cluster.Replicas {
		if r.Current {
			current++
		}
	}
	return current
}

// waitForReplicas waits until every one of replicas copies of stream is
// current.
func waitForReplicas(t *testing.T, js jetstream.JetStream, stream string, replicas int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := js.Stream(t.Context(), stream)
		if err == nil {
			if currentReplicas(st.CachedInfo()) >= replicas {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream %s does not have %d current replicas after 30s (last error %v)", stream, replicas, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestOffsetStore_Reads_IsolatedLeader checks that a leader cut off from
// the two other servers never answers a read with a value older than one
// acknowledged through the leader the others elected: a store connected
// to the old leader reads, after the cut, a shard written and a shard
// reset through the new leader. Its reads must fail or wait, never return
// what the old leader held; once the cut heals, they return the new
// values.
func TestOffsetStore_Reads_IsolatedLeader(t *testing.T) {
	t.Parallel()
	c := natstest.RunPartitionableCluster(t)
	bucket := newBucket()
	connectedStore(t, c, 3, offsetnats.WithBucket(bucket))
	stream := "KV_" + bucket
	leader := c.WaitForStreamLeader(t, stream)
	cutOff := storeAt(t, leader, bucket)
	other := storeAt(t, followers(c, leader)[0], bucket)
	ctx := t.Context()
	mustWrite(t, other, offset("cut", 0, 1, 1))
	mustWrite(t, other, offset("cut", 1, 1, 1))
	// Both shards must be on the old leader before the cut, or the check
	// below could pass by luck.
	wantOffset(t, cutOff, "cut", 0, offset("cut", 0, 1, 1))
	wantOffset(t, cutOff, "cut", 1, offset("cut", 1, 1, 1))

	c.Isolate(leader)
	c.WaitForStreamLeaderOtherThan(t, stream, leader)
	// Until the new leader's interest in the stream's subjects reaches the
	// other server, a write sent there goes to the old leader only, and
	// waits for its context: try again, which stores the same.
	untilAcked(t, func(ctx context.Context) error { return other.WriteOffset(ctx, offset("cut", 0, 2, 2)) })
	untilAcked(t, func(ctx context.Context) error {
		_, err := other.ResetShards(ctx, "cut", -5, []uint64{1})
		return err
	})
	for shard := range uint64(2) {
		rctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
		got, err := cutOff.GetCurrentOffset(rctx, id("cut", shard))
		cancel()
		if err == nil && (got == nil || got.Value == 1) {
			t.Errorf("GetCurrentOffset(ctx, {cut %d}) through a leader cut off from the others = %v, <nil>, after value %d was acknowledged through the new leader; want an error, or the new value: reads are linearizable", shard, got, []int64{2, -5}[shard])
		}
		if err != nil {
			t.Logf("GetCurrentOffset(ctx, {cut %d}) through the cut-off leader = %v", shard, err)
		}
	}

	c.Heal()
	deadline := time.Now().Add(30 * time.Second)
	for {
		rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		got, err := cutOff.GetCurrentOffset(rctx, id("cut", 0))
		cancel()
		if err == nil && got != nil && got.Value == 2 {
			break
		}
		if err == nil {
			t.Fatalf("GetCurrentOffset(ctx, {cut 0}) after the cut healed = %v, <nil>; want value 2", got)
		}
		if time.Now().After(deadline) {
			t.Fatalf("GetCurrentOffset(ctx, {cut 0}) 30s after the cut healed = %v; want value 2", err)
		}
	}
	got, err := cutOff.GetCurrentOffset(ctx, id("cut", 1))
	if err != nil || got == nil || got.Value != -5 {
		t.Errorf("GetCurrentOffset(ctx, {cut 1}) after the cut healed = %v, %v; want value -5", got, err)
	}
}

// TestOffsetStore_Reads_RetriedWhileNoLeader checks that a read retried
// because the stream had no leader returns what the retry read: the two
// servers other than the store's are stopped, so that the stream has no
// leader, while a read waits; then one is started again. A server
// answers "no stream leader" (10008) only once its JetStream has run for
// 10 s: the servers are stopped after that. It runs with
// OFFSETSTORE_NATS_FAULTS=1; TestSession_Get_ReturnsTheRetriedAnswer
// checks the same without servers to wait for.
func TestOffsetStore_Reads_RetriedWhileNoLeader(t *testing.T) {
	if os.Getenv(faultsVariable) != "1" {
		t.Skipf("waits 11 s for the servers to answer 10008: set %s=1 to run it", faultsVariable)
	}
	t.Parallel()
	started := time.Now()
	c := natstest.RunCluster(t)
	bucket := newBucket()
	connectedStore(t, c, 3, offsetnats.WithBucket(bucket))
	stream := "KV_" + bucket
	leader := c.WaitForStreamLeader(t, stream)
	kept := followers(c, leader)[0]
	store := storeAt(t, kept, bucket)
	want := offset("noleader", 0, 9, 9)
	mustWrite(t, store, want)
	time.Sleep(time.Until(started.Add(11 * time.Second)))
	var stopped []*natstest.Server
	for _, s := range c.Servers {
		if s != kept {
			s.Stop()
			stopped = append(stopped, s)
		}
	}
	type result struct {
		o   *egopb.Offset
		err error
	}
	read := make(chan result, 1)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	go func() {
		o, err := store.GetCurrentOffset(ctx, id("noleader", 0))
		read <- result{o, err}
	}()
	time.Sleep(2 * time.Second)
	select {
	case r := <-read:
		t.Fatalf("GetCurrentOffset(ctx, {noleader 0}) with two servers of three stopped = %v, %v; want it still retrying", r.o, r.err)
	default:
	}
	if err := stopped[0].Start(); err != nil {
		t.Fatal(err)
	}
	r := <-read
	if r.err != nil || !sameOffset(r.o, want) {
		t.Errorf("GetCurrentOffset(ctx, {noleader 0}) retried until a leader was elected = %v, %v; want %v, <nil>: a retried read returns what the retry read", r.o, r.err, want)
	}
}

// TestOffsetStore_Reads_LeaderVanishes checks that a read sent as the
// stream's leader vanishes is sent again to the leader elected next,
// rather than waiting for the caller's whole context: a store connected
// to a follower, through a proxy that holds its requests 300 ms, reads;
// as the read's first request goes out (a write, to the barrier key,
// which the leader answers), the leader is cut off from everyone: the
// request reaches it, and nothing comes back, as from a server frozen or
// lost to the network (a killed server's routes close, and the request
// then finds no responders, which the store retries at once). The read,
// with 20 seconds to go, must return the value: the others elect a
// leader after their election timeout (4 to 9 s).
func TestOffsetStore_Reads_LeaderVanishes(t *testing.T) {
	t.Parallel()
	c := natstest.RunPartitionableCluster(t)
	bucket := newBucket()
	connectedStore(t, c, 3, offsetnats.WithBucket(bucket))
	stream := "KV_" + bucket
	leader := c.WaitForStreamLeader(t, stream)
	store, proxy := slowStore(t, followers(c, leader)[0], 300*time.Millisecond, offsetnats.WithBucket(bucket))
	want := offset("vanish", 0, 4, 4)
	mustWrite(t, store, want)
	waitCut := onFirst(t, proxy, func() { c.Isolate(leader) }, "$KV."+bucket+".barrier")
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	start := time.Now()
	got, err := store.GetCurrentOffset(ctx, id("vanish", 0))
	waitCut()
	if err != nil || !sameOffset(got, want) {
		t.Errorf("GetCurrentOffset(ctx, {vanish 0}) sent as the leader vanished = %v, %v after %v; want %v, <nil> before the context's 20s: the read is sent again to the next leader", got, err, time.Since(start), want)
	}
	t.Logf("the read returned %v after it was sent", time.Since(start).Round(time.Millisecond))
	proxy.Watch(nil)
	c.Heal()
}

// TestOffsetStore_Reads_WithoutDirectGets checks that reads work on a
// bucket whose stream does not allow direct gets, which no server then
// answers: they are verified another way (see the package
// documentation), written keys, deleted ones and missing ones alike.
func TestOffsetStore_Reads_WithoutDirectGets(t *testing.T) {
	t.Parallel()
	c := natstest.RunServer(t)
	bucket := newBucket()
	connectedStore(t, c, 1, offsetnats.WithBucket(bucket))
	_, js := jsOn(t, c.URL())
	st, err := js.Stream(t.Context(), "KV_"+bucket)
	if err != nil {
		t.Fatal(err)
	}
	cfg := st.CachedInfo().Config
	cfg.AllowDirect = false
	if _, err := js.UpdateStream(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	store := storeAt(t, c.Servers[0], bucket)
	mustWrite(t, store, offset("nodirect", 0, 3, 3))
	mustWrite(t, store, offset("nodirect", 1, 4, 4))
	if _, err := store.DeleteShards(t.Context(), "nodirect", []uint64{1}); err != nil {
		t.Fatal(err)
	}
	wantOffset(t, store, "nodirect", 0, offset("nodirect", 0, 3, 3))
	wantOffset(t, store, "nodirect", 1, nil)
	wantOffset(t, store, "nodirect", 2, nil)
	// Offsets reads every key in one direct get, which no server answers
	// here: it says so once its context ends.
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	if got, err := store.Offsets(ctx, "nodirect"); err == nil || !strings.Contains(err.Error(), "allow_direct") {
		t.Errorf("Offsets(ctx, \"nodirect\") on a bucket without direct gets = %v, %v; want an error naming allow_direct", got, err)
	}
}
