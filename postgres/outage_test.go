package postgres_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/pgtest"
	"github.com/ego-contrib/offsetstore/postgres"
)

// A proxy forwards TCP connections to the test server and can cut them,
// refuse new ones, or hold every byte in flight, as a failing server or
// network would.
type proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]*atomic.Bool // each connection's stall flag
	// stallNew stalls new connections too.
	stallNew bool
	wg       sync.WaitGroup
}

// startProxy starts a proxy to the host and port of pgtest.URL and returns
// it with a URL that goes through it. The proxy stops when the test ends.
func startProxy(t *testing.T) (*proxy, string) {
	t.Helper()
	u, err := url.Parse(pgtest.URL(t))
	if err != nil || u.Host == "" {
		t.Skipf("%s is not a URL with a host (%v): the proxy needs one", pgtest.URLVariable, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: u.Host, conns: make(map[net.Conn]*atomic.Bool)}
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	u.Host = ln.Addr().String()
	return p, u.String()
}

func (p *proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		stalled := new(atomic.Bool)
		p.mu.Lock()
		stalled.Store(p.stallNew)
		p.conns[c], p.conns[server] = stalled, stalled
		p.mu.Unlock()
		p.wg.Go(func() { pipe(server, c, stalled) })
		p.wg.Go(func() { pipe(c, server, stalled) })
	}
}

// pipe copies from src to dst until either fails, holding data while
// stalled is set, then closes both.
func pipe(dst, src net.Conn, stalled *atomic.Bool) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for stalled.Load() {
			time.Sleep(5 * time.Millisecond)
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// cut closes every connection the proxy holds, stalled ones included.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c, stalled := range p.conns {
		stalled.Store(false)
		c.Close()
	}
	clear(p.conns)
}

// stall makes the connections the proxy holds hold every byte, as a
// server or network that stopped answering would, and new ones too until
// unstallNew.
func (p *proxy) stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stallNew = true
	for _, stalled := range p.conns {
		stalled.Store(true)
	}
}

// unstallNew lets new connections flow; those stalled stay so.
func (p *proxy) unstallNew() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stallNew = false
}

// setDown makes the proxy refuse new connections, or accept them again.
func (p *proxy) setDown(down bool) {
	p.mu.Lock()
	p.down = down
	p.mu.Unlock()
}

func (p *proxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for _, stalled := range p.conns {
		stalled.Store(false)
	}
	p.mu.Unlock()
	p.setDown(true)
	p.cut()
	p.wg.Wait()
}

// TestOffsetStore_Outage cuts every connection while writers are busy,
// keeps the server away for a while and brings it back. Calls must fail
// with errors during the outage, each within its context, and Ping must
// say so; afterwards the store must work again by itself, without a new
// Connect, and every write that returned nil must be in the table.
func TestOffsetStore_Outage(t *testing.T) {
	p, proxied := startProxy(t)
	_, schema := connectedStore(t) // creates the table, directly
	store := postgres.NewOffsetStore(proxied, postgres.WithSchema(schema))
	ctx := t.Context()
	if err := store.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer store.Disconnect(context.Background())

	const (
		writers     = 8
		callTimeout = time.Second
		// slack is how long past its context a call may take to return:
		// far more than a prompt return needs on a loaded machine.
		slack = time.Second
	)
	var (
		stop         atomic.Bool
		acked        [writers]atomic.Int64
		failed, okay atomic.Int64
		slowest      atomic.Int64
		wg           sync.WaitGroup
	)
	for w := range writers {
		wg.Go(func() {
			for v := int64(1); !stop.Load(); v++ {
				callCtx, cancel := context.WithTimeout(ctx, callTimeout)
				start := time.Now()
				err := store.WriteOffset(callCtx, &egopb.Offset{ProjectionName: "p", ShardNumber: uint64(w), Value: v, Timestamp: v})
				took := time.Since(start)
				cancel()
				for {
					old := slowest.Load()
					if int64(took) <= old || slowest.CompareAndSwap(old, int64(took)) {
						break
					}
				}
				if err != nil {
					failed.Add(1)
					time.Sleep(10 * time.Millisecond)
					continue
				}
				okay.Add(1)
				acked[w].Store(v)
			}
		})
	}

	time.Sleep(300 * time.Millisecond)
	before := okay.Load()
	p.setDown(true)
	p.cut()
	time.Sleep(100 * time.Millisecond)
	pingCtx, cancel := context.WithTimeout(ctx, callTimeout)
	if err := store.Ping(pingCtx); err == nil {
		t.Errorf("Ping(ctx) while the server is unreachable = <nil>; want an error")
	}
	cancel()
	duringStart := okay.Load()
	time.Sleep(700 * time.Millisecond)
	during := okay.Load() - duringStart
	p.setDown(false)

	// The store must recover by itself.
	deadline := time.Now().Add(15 * time.Second)
	after := okay.Load()
	for okay.Load() < after+int64(writers)*10 {
		if time.Now().After(deadline) {
			t.Fatalf("%d writes succeeded in the 15s after the server came back; want the store to recover without a new Connect", okay.Load()-after)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := store.Ping(ctx); err != nil {
		t.Errorf("Ping(ctx) after the server came back = %v; want <nil>", err)
	}
	stop.Store(true)
	wg.Wait()

	t.Logf("writes: %d before the cut, %d while the server was away, %d in all; %d failed; slowest call %v",
		before, during, okay.Load(), failed.Load(), time.Duration(slowest.Load()))
	if failed.Load() == 0 {
		t.Errorf("no write failed while the server was away; want failures: the proxy did not cut anything")
	}
	if during > 0 {
		t.Errorf("%d writes succeeded while the server was unreachable; want none", during)
	}
	if took := time.Duration(slowest.Load()); took > callTimeout+slack {
		t.Errorf("slowest WriteOffset took %v with a %v context; want it to return within its context", took, callTimeout)
	}
	// Read through another connection: every acknowledged write is there.
	direct, _ := postgresStoreOn(t, schema)
	for w := range writers {
		got, err := direct.GetCurrentOffset(ctx, &egopb.ProjectionId{ProjectionName: "p", ShardNumber: uint64(w)})
		if err != nil || got == nil || got.Value < acked[w].Load() {
			t.Errorf("GetCurrentOffset(ctx, {p %d}) = %v, %v; want a value of at least %d, the last write acknowledged: no acknowledged write may be lost",
				w, got, err, acked[w].Load())
		}
	}
}

// postgresStoreOn returns a store, connected directly to the server, on
// the table of schema.
func postgresStoreOn(t *testing.T, schema string, opts ...postgres.Option) (*postgres.OffsetStore, string) {
	t.Helper()
	store := postgres.NewOffsetStore(pgtest.URL(t), append([]postgres.Option{postgres.WithSchema(schema)}, opts...)...)
	if err := store.Connect(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Disconnect(context.Background()) })
	return store, schema
}

// TestOffsetStore_ContextEndsWhileServerSilent makes every connection the
// store holds stop answering, as a half-dead TCP connection does, and
// refuses new ones: each call must still return promptly once its context
// ends, with the context's error. Then new connections flow again while
// the old ones stay silent: the store must work again by itself, so
// nothing it sent on a silent connection may hold it up.
func TestOffsetStore_ContextEndsWhileServerSilent(t *testing.T) {
	p, proxied := startProxy(t)
	_, schema := connectedStore(t)
	store := postgres.NewOffsetStore(proxied, postgres.WithSchema(schema))
	ctx := t.Context()
	if err := store.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer store.Disconnect(context.Background())
	mustWrite(t, store, &egopb.Offset{ProjectionName: "p", ShardNumber: 1, Value: 1, Timestamp: 1})

	p.stall()
	const timeout = 200 * time.Millisecond
	calls := []struct {
		name string
		do   func(context.Context) error
	}{
		{"WriteOffset", func(ctx context.Context) error {
			return store.WriteOffset(ctx, &egopb.Offset{ProjectionName: "p", ShardNumber: 1, Value: 2, Timestamp: 2})
		}},
		{"GetCurrentOffset", func(ctx context.Context) error {
			_, err := store.GetCurrentOffset(ctx, &egopb.ProjectionId{ProjectionName: "p", ShardNumber: 1})
			return err
		}},
		{"ResetOffset", func(ctx context.Context) error { return store.ResetOffset(ctx, "p", 0) }},
		{"Ping", store.Ping},
		{"Offsets", func(ctx context.Context) error { _, err := store.Offsets(ctx, "p"); return err }},
	}
	for _, c := range calls {
		callCtx, cancel := context.WithTimeout(ctx, timeout)
		start := time.Now()
		err := c.do(callCtx)
		took := time.Since(start)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || took > timeout+time.Second {
			t.Errorf("%s with a %v context while the server is silent = %v after %v; want an error wrapping context.DeadlineExceeded within about %v",
				c.name, timeout, err, took, timeout)
		}
	}
	p.unstallNew()
	// pgx frees a connection abandoned on a silent server only after
	// trying, for up to 15 seconds, to cancel its query on a new
	// connection, which is silent too here: until then the pool counts it.
	start := time.Now()
	deadline := start.Add(30 * time.Second)
	for v := int64(3); ; v++ {
		callCtx, cancel := context.WithTimeout(ctx, time.Second)
		o := &egopb.Offset{ProjectionName: "p", ShardNumber: 1, Value: v, Timestamp: v}
		err := store.WriteOffset(callCtx, o)
		cancel()
		if err == nil {
			t.Logf("the store wrote again %v after new connections flowed", time.Since(start))
			wantOffset(t, store, "p", 1, o)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("WriteOffset 30s after new connections flow again = %v; want <nil>: the store must not wait for a silent connection for ever", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestOffsetStore_Disconnect_ContextEnds checks that Disconnect, too,
// returns promptly with its context's error when the server stops
// answering while a call with no deadline still uses the store's pool
// (eGo's projections write with such contexts), and that the store is
// disconnected all the same.
func TestOffsetStore_Disconnect_ContextEnds(t *testing.T) {
	p, proxied := startProxy(t)
	_, schema := connectedStore(t)
	store := postgres.NewOffsetStore(proxied, postgres.WithSchema(schema))
	if err := store.Connect(t.Context()); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, store, &egopb.Offset{ProjectionName: "p", ShardNumber: 1, Value: 1, Timestamp: 1})
	p.stall()
	hungCtx, unhang := context.WithCancel(context.Background())
	defer unhang()
	hung := make(chan error, 1)
	go func() {
		_, err := store.GetCurrentOffset(hungCtx, &egopb.ProjectionId{ProjectionName: "p", ShardNumber: 1})
		hung <- err
	}()
	// The call is on its way to the silent server.
	time.Sleep(200 * time.Millisecond)
	select {
	case err := <-hung:
		t.Fatalf("GetCurrentOffset on a silent server returned %v at once; want it to hang, or the test checks nothing", err)
	default:
	}

	const timeout = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- store.Disconnect(ctx) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Disconnect with a %v context while a call hangs = %v after %v; want an error wrapping context.DeadlineExceeded", timeout, err, time.Since(start))
		}
	case <-time.After(timeout + 5*time.Second):
		t.Errorf("Disconnect with a %v context while a call hangs has not returned after %v; want it to return when its context ends", timeout, time.Since(start))
		unhang()
		<-done
	}
	if err := store.WriteOffset(t.Context(), &egopb.Offset{ProjectionName: "p", ShardNumber: 1, Value: 2, Timestamp: 2}); !errors.Is(err, offsetstore.ErrNotConnected) {
		t.Errorf("WriteOffset after Disconnect's context ended = %v; want an error wrapping offsetstore.ErrNotConnected: the store is disconnected all the same", err)
	}
	unhang()
	if err := <-hung; !errors.Is(err, context.Canceled) {
		t.Errorf("the hung GetCurrentOffset, cancelled = %v; want an error wrapping context.Canceled", err)
	}
}

// TestOffsetStore_SilentConnectionHoldsUpNoOtherWrite leaves a write with
// no deadline, as eGo's are, hanging on a connection that stopped
// answering, while new connections flow again: the store must write again
// by itself, without that write, though pgx will never give up on it.
func TestOffsetStore_SilentConnectionHoldsUpNoOtherWrite(t *testing.T) {
	p, proxied := startProxy(t)
	_, schema := connectedStore(t)
	store := postgres.NewOffsetStore(proxied, postgres.WithSchema(schema))
	ctx := t.Context()
	if err := store.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer store.Disconnect(context.Background())
	mustWrite(t, store, &egopb.Offset{ProjectionName: "p", ShardNumber: 1, Value: 1, Timestamp: 1})

	p.stall()
	hungCtx, unhang := context.WithCancel(context.Background())
	defer unhang()
	hung := make(chan error, 1)
	go func() {
		hung <- store.WriteOffset(hungCtx, &egopb.Offset{ProjectionName: "p", ShardNumber: 1, Value: 2, Timestamp: 2})
	}()
	time.Sleep(200 * time.Millisecond)
	p.unstallNew()

	start := time.Now()
	const patience = 15 * time.Second
	for v := int64(3); ; v++ {
		callCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		o := &egopb.Offset{ProjectionName: "p", ShardNumber: 2, Value: v, Timestamp: v}
		err := store.WriteOffset(callCtx, o)
		cancel()
		if err == nil {
			t.Logf("the store wrote again %v after new connections flowed", time.Since(start))
			wantOffset(t, store, "p", 2, o)
			break
		}
		if time.Since(start) > patience {
			t.Fatalf("WriteOffset %v after new connections flow again, while a write with no deadline hangs on a silent one = %v; want <nil>: one hung write must not hold up every other", patience, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case err := <-hung:
		t.Errorf("the write on the silent connection returned %v; want it still hanging, or the test checked nothing", err)
	default:
	}
	unhang()
	if err := <-hung; !errors.Is(err, context.Canceled) {
		t.Errorf("the hung WriteOffset, cancelled = %v; want an error wrapping context.Canceled", err)
	}
	// pgx gives a silent connection 15 seconds to close: cut it.
	p.cut()
}

// TestOffsetStore_SilentSharedBatchHoldsUpNoProjection leaves writes with
// no deadline, as eGo's are, hanging on connections that stopped
// answering: one alone, a shared batch of its own that fills their room,
// and then, once it has stalled, a batch holding a write of p and one of
// q. Once
// new connections flow again, writes of p and q must be written, within
// the stall bound and the time pgx takes to free a silent connection,
// while that batch still hangs.
func TestOffsetStore_SilentSharedBatchHoldsUpNoProjection(t *testing.T) {
	t.Parallel() // it waits past stallAfter
	p, proxied := startProxy(t)
	_, schema := connectedStore(t)
	store := postgres.NewOffsetStore(proxied, postgres.WithSchema(schema))
	ctx := t.Context()
	if err := store.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer store.Disconnect(context.Background())
	for _, name := range []string{"a", "p", "q"} {
		mustWrite(t, store, &egopb.Offset{ProjectionName: name, ShardNumber: 1, Value: 1, Timestamp: 1})
	}

	p.stall()
	hungCtx, unhang := context.WithCancel(context.Background())
	defer unhang()
	hung := make(chan error, 3)
	hang := func(name string) {
		go func() {
			hung <- store.WriteOffset(hungCtx, &egopb.Offset{ProjectionName: name, ShardNumber: 1, Value: 2, Timestamp: 2})
		}()
	}
	hang("a")
	time.Sleep(200 * time.Millisecond) // it goes out, alone, and hangs
	batches, rows := postgres.BatchCounts(store)
	hang("p")
	hang("q")
	time.Sleep(5500 * time.Millisecond) // past stallAfter, p's and q's batch goes out, and hangs
	if b, r := postgres.BatchCounts(store); b-batches != 1 || r-rows != 2 {
		t.Fatalf("writes of p and q went out in %d batches of %d writes once another had been silent for 5 seconds; want 1 of 2: writes stalled on a silent connection must not keep the others out", b-batches, r-rows)
	}
	p.unstallNew()

	start := time.Now()
	const patience = 20 * time.Second
	for _, name := range []string{"p", "q"} {
		for v := int64(3); ; v++ {
			callCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
			o := &egopb.Offset{ProjectionName: name, ShardNumber: 2, Value: v, Timestamp: v}
			err := store.WriteOffset(callCtx, o)
			cancel()
			if err == nil {
				wantOffset(t, store, name, 2, o)
				break
			}
			if time.Since(start) > patience {
				t.Fatalf("WriteOffset of %s %v after new connections flow again, while a batch of p and q with no deadline hangs on a silent connection = %v; want <nil>: one hung batch must not hold up its projections' other writes", name, patience, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	t.Logf("the store wrote p and q again %v after new connections flowed", time.Since(start))
	select {
	case err := <-hung:
		t.Errorf("a write on a silent connection returned %v; want it still hanging, or the test checked nothing", err)
	default:
	}
	unhang()
	for range 3 {
		if err := <-hung; !errors.Is(err, context.Canceled) {
			t.Errorf("a hung WriteOffset, cancelled = %v; want an error wrapping context.Canceled", err)
		}
	}
	// pgx gives a silent connection 15 seconds to close: cut it.
	p.cut()
}
