package tcpproxy_test

import (
	"bytes"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ego-contrib/offsetstore/internal/tcpproxy"
)

// target is a listener the proxy forwards to; accepted hands over each
// connection it accepts.
type target struct {
	ln       net.Listener
	accepted chan net.Conn
}

func newTarget(t *testing.T) *target {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tg := &target{ln: ln, accepted: make(chan net.Conn, 8)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(tg.accepted)
				return
			}
			t.Cleanup(func() { c.Close() })
			tg.accepted <- c
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return tg
}

func newProxy(t *testing.T, tg *target) *tcpproxy.Proxy {
	t.Helper()
	p, err := tcpproxy.New(tg.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close() = %v; want <nil>", err)
		}
	})
	return p
}

// dial connects through p and returns both ends: the client's and the
// target's.
func dial(t *testing.T, p *tcpproxy.Proxy, tg *target) (client, server net.Conn) {
	t.Helper()
	client, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	select {
	case server = <-tg.accepted:
	case <-time.After(10 * time.Second):
		t.Fatal("the proxy did not connect to the target within 10s")
	}
	return client, server
}

func send(t *testing.T, c net.Conn, s string) {
	t.Helper()
	if _, err := c.Write([]byte(s)); err != nil {
		t.Fatalf("Write(%q) = %v; want <nil>", s, err)
	}
}

func receive(t *testing.T, c net.Conn, want string) {
	t.Helper()
	got := make([]byte, len(want))
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != want {
		t.Fatalf("read %q, %v; want %q, <nil>", got, err, want)
	}
}

func TestProxy_ForwardsBothWays(t *testing.T) {
	tg := newTarget(t)
	p := newProxy(t, tg)
	client, server := dial(t, p, tg)
	send(t, client, "ping")
	receive(t, server, "ping")
	send(t, server, "pong")
	receive(t, client, "pong")
}

// TestProxy_Delay_OneDirection checks that a delay holds the bytes of its
// direction for at least the delay, and not those of the other: the
// answer comes back while the question is still held.
func TestProxy_Delay_OneDirection(t *testing.T) {
	const delay = 300 * time.Millisecond
	tg := newTarget(t)
	p := newProxy(t, tg)
	client, server := dial(t, p, tg)
	p.Delay(tcpproxy.Up, delay)
	sent := time.Now()
	send(t, client, "up")
	send(t, server, "down")
	receive(t, client, "down")
	// The up bytes must still be held: nothing arrives for a while yet (a
	// deadline already past would fail the read even with bytes there).
	_ = server.SetReadDeadline(time.Now().Add(delay / 10))
	if n, err := server.Read(make([]byte, 2)); n != 0 || err == nil {
		t.Fatalf("the target read %d bytes, %v, before the down bytes' answer arrived; want them held for %v", n, err, delay)
	}
	receive(t, server, "up")
	if took := time.Since(sent); took < delay {
		t.Errorf("bytes sent up with a delay of %v arrived after %v; want at least the delay", delay, took)
	}
}

// TestProxy_Cut_DropsAndHealCloses checks that a cut drops the bytes of
// its direction only, and that Heal closes the connection that lost
// some, whose other end then reads the end of the stream without ever
// seeing them, while a new connection carries bytes again.
func TestProxy_Cut_DropsAndHealCloses(t *testing.T) {
	tg := newTarget(t)
	p := newProxy(t, tg)
	client, server := dial(t, p, tg)
	idle, idleServer := dial(t, p, tg)
	p.Cut(tcpproxy.Up)
	send(t, client, "lost")
	send(t, server, "still flows")
	receive(t, client, "still flows")
	p.Heal()
	_ = server.SetReadDeadline(time.Now().Add(10 * time.Second))
	if b, err := io.ReadAll(server); len(b) != 0 || err != nil {
		t.Errorf("after Heal, the target's end read %q, %v; want the end of the stream and none of the bytes cut", b, err)
	}
	// A connection that lost nothing is kept.
	send(t, idle, "kept")
	receive(t, idleServer, "kept")
	client, server = dial(t, p, tg)
	send(t, client, "again")
	receive(t, server, "again")
}

func TestProxy_Watch_SeesBytesAndDirection(t *testing.T) {
	tg := newTarget(t)
	p := newProxy(t, tg)
	var mu sync.Mutex
	seen := map[tcpproxy.Direction]*bytes.Buffer{tcpproxy.Up: {}, tcpproxy.Down: {}}
	p.Watch(func(d tcpproxy.Direction, b []byte) {
		mu.Lock()
		defer mu.Unlock()
		seen[d].Write(b)
	})
	client, server := dial(t, p, tg)
	send(t, client, "question")
	receive(t, server, "question")
	send(t, server, "answer")
	receive(t, client, "answer")
	mu.Lock()
	defer mu.Unlock()
	if seen[tcpproxy.Up].String() != "question" || seen[tcpproxy.Down].String() != "answer" {
		t.Errorf("Watch saw up %q, down %q; want up \"question\", down \"answer\"", seen[tcpproxy.Up], seen[tcpproxy.Down])
	}
}
