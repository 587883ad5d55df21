package nats_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

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
	// which conditions its batch on every shard it changes, where
	// ResetOffset conditions it on the shards it could miss only.
	viaResetShards bool
	// faulty, if set, holds the index of a store whose server is cut off
	// or stopped, or -1: writes and resets then go through the others,
	// and one read in two through it.
	faulty *atomic.Int32
}

// spreadOver returns a spread over a store connected to each server of
// c, on bucket, which another store created.
func spreadOver(t *testing.T, c *natstest.Cluster, bucket string, opts ...offsetnats.Option) *spread {
	t.Helper()
	s := &spread{}
	for _, srv := range c.Servers {
		s.stores = append(s.stores, storeAt(t, srv, bucket, append([]offsetnats.Option{offsetnats.WithClock(lincheck.Clock)}, opts...)...))
	}
	return s
}

// faultySpreadOver is spreadOver for a run with faults: a store whose
// writes were cut off by them may end with Disconnect saying that some
// are in doubt (ErrWritesInDoubt), as it must, and nothing else.
func faultySpreadOver(t *testing.T, c *natstest.Cluster, bucket string, opts ...offsetnats.Option) *spread {
	t.Helper()
	s := &spread{}
	for _, srv := range c.Servers {
		store := offsetnats.NewOffsetStore(srv.URL(), append([]offsetnats.Option{offsetnats.WithBucket(bucket), offsetnats.WithClock(lincheck.Clock)}, opts...)...)
		if err := store.Connect(t.Context()); err != nil {
			t.Fatalf("Connect(ctx) through %s = %v; want <nil>", srv.Name(), err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := store.Disconnect(ctx); err != nil && !errors.Is(err, offsetnats.ErrWritesInDoubt) {
				t.Errorf("Disconnect(ctx) after faults = %v; want <nil> or an error wrapping ErrWritesInDoubt", err)
			}
		})
		s.stores = append(s.stores, store)
	}
	return s
}

// pick returns the next store for a change, or a read, as faulty says.
func (s *spread) pick(change bool) *offsetnats.OffsetStore {
	faulty := int32(-1)
	if s.faulty != nil {
		faulty = s.faulty.Load()
	}
	for {
		n := s.next.Add(1)
		i := int32(n % uint64(len(s.stores)))
		switch {
		case faulty < 0:
			return s.stores[i]
		case change && i != faulty:
			return s.stores[i]
		case !change && n%2 == 0:
			return s.stores[faulty]
		case !change:
			return s.stores[i]
		}
	}
}

func (s *spread) WriteOffset(ctx context.Context, o *egopb.Offset) error {
	return s.pick(true).WriteOffset(ctx, o)
}

func (s *spread) GetCurrentOffset(ctx context.Context, id *egopb.ProjectionId) (*egopb.Offset, error) {
	return s.pick(false).GetCurrentOffset(ctx, id)
}

func (s *spread) ResetOffset(ctx context.Context, name string, value int64) error {
	if s.viaResetShards {
		_, err := s.pick(true).ResetShards(ctx, name, value, nil)
		return err
	}
	return s.pick(true).ResetOffset(ctx, name, value)
}

func (s *spread) ResetShards(ctx context.Context, name string, value int64, shards []uint64) ([]*egopb.Offset, error) {
	return s.pick(true).ResetShards(ctx, name, value, shards)
}

var _ lincheck.ShardResetter = (*spread)(nil)

// TestOffsetStore_Linearizable checks, on a cluster of three servers and a
// bucket of three replicas, that concurrent WriteOffset, GetCurrentOffset
// and ResetOffset calls behave as if each took effect at one instant
// between its call and its return: through three stores, each connected
// to a server of its own, every call going through the next store in
// turn, so that a read through one server must see a write or a reset
// acknowledged through another, and a read served by a replica that lags
// its leader shows. Resets meet a shard that the history adds meanwhile
// (lincheck's last shard). Of 6 histories, each on a projection of its
// own with 8 clients making 40 calls each, one resets through
// ResetShards(ctx, name, value, nil), two also reset some shards with
// ResetShards, whose reports are checked, and two write through stores
// made WithMonotonicWrites.
func TestOffsetStore_Linearizable(t *testing.T) {
	t.Parallel()
	c := natstest.RunCluster(t)
	bucket := newBucket()
	connectedStore(t, c, 3, offsetnats.WithBucket(bucket))
	plain := spreadOver(t, c, bucket)
	viaResetShards := spreadOver(t, c, bucket)
	viaResetShards.viaResetShards = true
	monotonic := spreadOver(t, c, bucket, offsetnats.WithMonotonicWrites())
	base := lincheck.Run{Clients: 8, OpsPerClient: 40}
	withSome, monotonicRun := base, base
	withSome.ResetSome = true
	monotonicRun.Monotonic = true
	monotonicWithSome := monotonicRun
	monotonicWithSome.ResetSome = true
	ops := 0
	for round, h := range []struct {
		run   lincheck.Run
		store *spread
	}{
		{base, plain},
		{base, viaResetShards},
		{withSome, plain},
		{withSome, viaResetShards},
		{monotonicRun, monotonic},
		{monotonicWithSome, monotonic},
	} {
		history := h.run.History(t, h.store, fmt.Sprintf("lin-%d", round), uint64(round))
		ops += len(history)
		lincheck.Verify(t, fmt.Sprintf("round %d", round), history)
	}
	t.Logf("operations checked for linearizability: %d in 6 histories, through 3 servers", ops)
}

// TestOffsetStore_Linearizable_Faults runs the linearizability check
// through three servers while the servers fail: the stream's leader
// steps down, is cut off from the others by a network partition (it
// still believes it leads, and reads through it still reach it) until
// the others elected a leader and 2 s after, or is cut off and stopped,
// as a killed server, then started again. Histories run back to back on
// projections of their own, in turn plain, monotonic, and with resets of
// some shards, each call bounded to 10 s, long enough to wait for an
// election. A write or reset that fails may or may not have taken
// effect, and the check accepts either; a read that fails is left out.
// While a server is cut off or stopped, writes and resets go through the
// two others, so that the histories keep few calls of unknown outcome
// (porcupine must try each at every later instant), and reads through
// all three. It runs with OFFSETSTORE_NATS_FAULTS=1: four rounds of a
// step-down, a partition and a kill, about 100 s; the default run has
// TestOffsetStore_Reads_IsolatedLeader and
// TestOffsetStore_Reads_LeaderVanishes instead.
func TestOffsetStore_Linearizable_Faults(t *testing.T) {
	if os.Getenv(faultsVariable) != "1" {
		t.Skipf("four rounds of a step-down, a partition and a kill, about 100 s: set %s=1 to run them", faultsVariable)
	}
	t.Parallel()
	var schedule []fault
	for range 4 {
		schedule = append(schedule, stepDown, partition, kill)
	}
	c := natstest.RunPartitionableCluster(t)
	bucket := newBucket()
	connectedStore(t, c, 3, offsetnats.WithBucket(bucket))
	stores := []*spread{faultySpreadOver(t, c, bucket), faultySpreadOver(t, c, bucket, offsetnats.WithMonotonicWrites())}
	var faulty atomic.Int32
	faulty.Store(-1)
	for _, s := range stores {
		s.faulty = &faulty
	}
	nc, js := jsOn(t, c.URL())
	f := &faulter{c: c, stream: "KV_" + bucket, nc: nc, js: js, faulty: &faulty, t: t}

	done := make(chan error, 1)
	go func() { done <- f.run(schedule) }()
	var faultErr error
	histories, ops, unknown := 0, 0, 0
	for running := true; running; histories++ {
		select {
		case faultErr = <-done:
			running = false
		default:
		}
		run := lincheck.Run{Clients: 6, OpsPerClient: 12, Faults: true, CallTimeout: 10 * time.Second, ReadTimeout: 1500 * time.Millisecond, Pause: 20 * time.Millisecond}
		run.Monotonic = histories%2 == 1
		run.ResetSome = histories%4 >= 2
		t.Logf("history %d begins", histories)
		history := run.History(t, stores[histories%2], fmt.Sprintf("faults-%d", histories), uint64(histories))
		ops += len(history)
		unknown += lincheck.Unknown(history)
		lincheck.Verify(t, fmt.Sprintf("history %d", histories), history)
	}
	if faultErr != nil {
		t.Fatalf("injecting faults: %v", faultErr)
	}
	t.Logf("%d histories, %d operations checked, %d of them with an unknown outcome; faults: %s", histories, ops, unknown, f.log)
	if ops-unknown == 0 {
		t.Fatalf("no call had a known outcome: the check checked nothing")
	}
}

// A fault is one thing that goes wrong with the servers, and returns once
// the servers are whole again.
type fault func(f *faulter) error

// faulter breaks the servers of c under the stream's feet.
type faulter struct {
	c      *natstest.Cluster
	stream string
	nc     *nats.Conn
	js     jetstream.JetStream
	log    string
	// faulty is set to the index of the server cut off or stopped, -1
	// while there is none.
	faulty *atomic.Int32
	// t logs each fault as it ends, so that a history that fails can be
	// set beside them.
	t *testing.T
}

func (f *faulter) logf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	f.log += msg + "; "
	f.t.Logf("fault: %s", msg)
}

// cut cuts s off from the others, after telling the histories to write
// through the others.
func (f *faulter) cut(s *natstest.Server) {
	f.faulty.Store(int32(slices.Index(f.c.Servers, s)))
	f.c.Isolate(s)
}

// heal ends the cut, and lets the histories write through every server.
func (f *faulter) heal() {
	f.c.Heal()
	f.faulty.Store(-1)
}

func (f *faulter) run(schedule []fault) error {
	for _, fn := range schedule {
		// Let histories run before and between faults.
		time.Sleep(time.Second)
		if err := fn(f); err != nil {
			return err
		}
		if err := f.whole(); err != nil {
			return err
		}
	}
	time.Sleep(time.Second)
	return nil
}

// leader waits until a running server other than old believes it leads
// the stream, and no other but old does, and returns it. A server cut
// off before may believe it still leads for a while.
func (f *faulter) leader(old *natstest.Server) (*natstest.Server, error) {
	deadline := time.Now().Add(60 * time.Second)
	var believers []string
	for time.Now().Before(deadline) {
		var leaders []*natstest.Server
		believers = believers[:0]
		for _, s := range f.c.Servers {
			if s != old && s.Running() && s.Raw().JetStreamIsStreamLeader("$G", f.stream) {
				leaders = append(leaders, s)
				believers = append(believers, s.Name())
			}
		}
		if len(leaders) == 1 {
			return leaders[0], nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil, fmt.Errorf("stream %s has not one leader but the old one after 60s: %v believe they lead", f.stream, believers)
}

// whole waits until the stream has a leader and three current replicas.
func (f *faulter) whole() error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st, err := f.js.Stream(ctx, f.stream)
		cancel()
		if err == nil {
			if currentReplicas(st.CachedInfo()) == 3 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("the stream does not have three current replicas 60s after a fault")
}

func stepDown(f *faulter) error {
	old, err := f.leader(nil)
	if err != nil {
		return err
	}
	if _, err := f.nc.Request("$JS.API.STREAM.LEADER.STEPDOWN."+f.stream, nil, 5*time.Second); err != nil {
		return fmt.Errorf("step-down: %w", err)
	}
	if _, err := f.leader(old); err != nil {
		return err
	}
	f.logf("step-down")
	return nil
}

// partition cuts the stream's leader off from the others until they
// elected another, and 2 s more.
func partition(f *faulter) error {
	old, err := f.leader(nil)
	if err != nil {
		return err
	}
	start := time.Now()
	f.cut(old)
	next, err := f.leader(old)
	if err != nil {
		return err
	}
	elected := time.Since(start)
	time.Sleep(3 * time.Second)
	f.heal()
	f.logf("partition of %s (%s elected after %v) healed", old.Name(), next.Name(), elected.Round(time.Millisecond))
	return nil
}

// kill cuts the stream's leader off from the others and stops it, so that
// it hands over nothing, as a killed server; starts it again once the
// others elected a leader, and heals the cut.
func kill(f *faulter) error {
	old, err := f.leader(nil)
	if err != nil {
		return err
	}
	start := time.Now()
	f.cut(old)
	old.Stop()
	next, err := f.leader(old)
	if err != nil {
		return err
	}
	elected := time.Since(start)
	time.Sleep(time.Second)
	if err := old.Start(); err != nil {
		return err
	}
	f.heal()
	f.logf("kill of %s (%s elected after %v) over", old.Name(), next.Name(), elected.Round(time.Millisecond))
	return nil
}
