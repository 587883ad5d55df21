package nats_test

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ego-contrib/offsetstore/internal/natstest"
	"github.com/ego-contrib/offsetstore/internal/tcpproxy"
	offsetnats "github.com/ego-contrib/offsetstore/nats"
)

// slowStore returns a connected store that reaches srv through a proxy
// holding every byte it sends for delay, as a caller far from its server
// would, and the proxy; both end with t. opts come after the bucket's.
func slowStore(t *testing.T, srv *natstest.Server, delay time.Duration, opts ...offsetnats.Option) (*offsetnats.OffsetStore, *tcpproxy.Proxy) {
	t.Helper()
	p, err := tcpproxy.New(strings.TrimPrefix(srv.URL(), "nats://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	store := offsetnats.NewOffsetStore("nats://"+p.Addr(), opts...)
	if err := store.Connect(t.Context()); err != nil {
		t.Fatalf("Connect(ctx) through a proxy = %v; want <nil>", err)
	}
	// Connect is slow enough already; delay only what comes after.
	p.Delay(tcpproxy.Up, delay)
	disconnectOnCleanup(t, store)
	return store, p
}

// onFirst calls fn, on a goroutine of its own, the first time p sees a
// client send bytes that contain every one of marks, in one chunk or
// across several, and returns a function that waits until fn returned,
// and fails t if the marks were not seen within 10 s.
func onFirst(t *testing.T, p *tcpproxy.Proxy, fn func(), marks ...string) (wait func()) {
	done := make(chan struct{})
	var mu sync.Mutex
	var seen bytes.Buffer
	fired := false
	p.Watch(func(d tcpproxy.Direction, b []byte) {
		if d != tcpproxy.Up {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if fired {
			return
		}
		seen.Write(b)
		// Marks of one request sit close together: keep only a tail, so
		// that the watch stays cheap whatever the traffic.
		if seen.Len() > 64<<10 {
			seen.Next(seen.Len() - 8<<10)
		}
		for _, m := range marks {
			if !bytes.Contains(seen.Bytes(), []byte(m)) {
				return
			}
		}
		fired = true
		go func() {
			defer close(done)
			fn()
		}()
	})
	return func() {
		t.Helper()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			p.Watch(nil)
			t.Fatalf("setup: the proxy saw no request with %q within 10s: the test did not race what it means to", marks)
		}
	}
}
