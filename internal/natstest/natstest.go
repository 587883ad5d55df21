// Package natstest starts NATS servers with JetStream inside a test
// process, as nats-server's own tests do: one server, or a cluster of three
// whose servers can be stopped and started again on the same storage, and
// cut off from each other. It is imported only by tests and examples, so
// that programs importing the library never build nats-server.
package natstest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ego-contrib/offsetstore/internal/tcpproxy"
)

// readyTimeout bounds how long a server may take to accept clients, and a
// cluster to elect its JetStream meta leader.
const readyTimeout = 20 * time.Second

// Server is one NATS server with JetStream, which keeps its ports and its
// storage across [Server.Stop] and [Server.Start].
type Server struct {
	opts *server.Options
	srv  *server.Server
}

// URL is the address clients connect to.
func (s *Server) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.opts.Port) }

// Name is the server's name, as the cluster knows it.
func (s *Server) Name() string { return s.opts.ServerName }

// Running reports whether the server is started and not stopped.
func (s *Server) Running() bool { return s.srv != nil }

// Raw returns the running server, or nil.
func (s *Server) Raw() *server.Server { return s.srv }

// Start starts the server, on the ports and storage it had before if it ran
// already. It is an error to start a running server.
func (s *Server) Start() error {
	if s.srv != nil {
		return fmt.Errorf("natstest: server %s is running", s.Name())
	}
	// The server changes its options as it starts; give it a copy, so that
	// a restart begins from the same ones.
	srv, err := server.NewServer(s.opts.Clone())
	if err != nil {
		return fmt.Errorf("natstest: server %s: %w", s.Name(), err)
	}
	srv.Start()
	if !srv.ReadyForConnections(readyTimeout) {
		srv.Shutdown()
		return fmt.Errorf("natstest: server %s does not accept clients after %v", s.Name(), readyTimeout)
	}
	s.srv = srv
	return nil
}

// Stop shuts the server down and waits until it has; its storage stays.
// Stopping a stopped server does nothing.
func (s *Server) Stop() {
	if s.srv == nil {
		return
	}
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
	s.srv = nil
}

// Cluster is a set of servers clients may connect to, one or three.
type Cluster struct {
	Servers []*Server
	// links are the proxies between the servers of a cluster of
	// RunPartitionableCluster.
	links []link
}

// URL is every server's address, comma-separated, as nats.Connect takes
// a server list.
func (c *Cluster) URL() string {
	urls := make([]string, len(c.Servers))
	for i, s := range c.Servers {
		urls[i] = s.URL()
	}
	return strings.Join(urls, ",")
}

// StreamLeader returns the server that leads stream in the global account,
// or nil while none does.
func (c *Cluster) StreamLeader(stream string) *Server {
	for _, s := range c.Servers {
		if s.srv != nil && (len(c.Servers) == 1 || s.srv.JetStreamIsStreamLeader(server.DEFAULT_GLOBAL_ACCOUNT, stream)) {
			return s
		}
	}
	return nil
}

// WaitForStreamLeader waits until stream has a leader, and returns it.
func (c *Cluster) WaitForStreamLeader(tb testing.TB, stream string) *Server {
	tb.Helper()
	return c.WaitForStreamLeaderOtherThan(tb, stream, nil)
}

// WaitForStreamLeaderOtherThan waits until a server other than old leads
// stream, and returns it: after old was isolated, which still believes it
// leads, or stepped down.
func (c *Cluster) WaitForStreamLeaderOtherThan(tb testing.TB, stream string, old *Server) *Server {
	tb.Helper()
	deadline := time.Now().Add(readyTimeout)
	for {
		for _, s := range c.Servers {
			if s != old && s.srv != nil && (len(c.Servers) == 1 || s.srv.JetStreamIsStreamLeader(server.DEFAULT_GLOBAL_ACCOUNT, stream)) {
				return s
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("natstest: stream %s has no leader other than the one it had after %v", stream, readyTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// RunServer starts one server with JetStream, storing in a directory of
// tb's, and stops it when tb ends.
func RunServer(tb testing.TB) *Cluster {
	tb.Helper()
	return RunServerWith(tb, func(*server.Options) {})
}

// RunServerWith is [RunServer] with the server's options changed by
// configure first: TLS, users, JetStream off, limits an operator may set.
func RunServerWith(tb testing.TB, configure func(*server.Options)) *Cluster {
	tb.Helper()
	s := &Server{opts: options(tb, "n1", freePort(tb))}
	configure(s.opts)
	if err := s.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Stop)
	return &Cluster{Servers: []*Server{s}}
}

// RunCluster starts a cluster of three servers with JetStream, each routed
// to the others, waits until it has elected its meta leader, and stops it
// when tb ends.
func RunCluster(tb testing.TB) *Cluster {
	tb.Helper()
	return runCluster(tb, 3, false)
}

// RunClusterOf is [RunCluster] with n servers.
func RunClusterOf(tb testing.TB, n int) *Cluster {
	tb.Helper()
	return runCluster(tb, n, false)
}

// RunPartitionableCluster is [RunCluster] with every route between two
// servers going through a [tcpproxy.Proxy], so that [Cluster.Isolate] can
// cut a server off from the others as a network partition would, and
// [Cluster.Heal] join them again.
func RunPartitionableCluster(tb testing.TB) *Cluster {
	tb.Helper()
	return runCluster(tb, 3, true)
}

func runCluster(tb testing.TB, n int, proxied bool) *Cluster {
	tb.Helper()
	clusterPorts := make([]int, n)
	for i := range n {
		clusterPorts[i] = freePort(tb)
	}
	c := &Cluster{}
	for i := range n {
		opts := options(tb, fmt.Sprintf("n%d", i+1), freePort(tb))
		opts.Cluster = server.ClusterOpts{Name: "offsets", Host: "127.0.0.1", Port: clusterPorts[i]}
		for j := range n {
			switch {
			case !proxied:
				opts.Routes = append(opts.Routes, routeURL(fmt.Sprintf("127.0.0.1:%d", clusterPorts[j])))
			case j != i:
				// Each server dials each other through a proxy of its own
				// (a server with no route to dial is not clustered), so
				// that whichever connection a pair keeps crosses one.
				p, err := tcpproxy.New(fmt.Sprintf("127.0.0.1:%d", clusterPorts[j]))
				if err != nil {
					tb.Fatal(err)
				}
				tb.Cleanup(func() { _ = p.Close() })
				c.links = append(c.links, link{a: i, b: j, proxy: p})
				opts.Routes = append(opts.Routes, routeURL(p.Addr()))
			}
		}
		if proxied {
			// Servers tell each other where to reach them, and dial what
			// they are told if no route joins them yet: an address where
			// nothing listens keeps every route on the proxies.
			opts.Cluster.Advertise = fmt.Sprintf("127.0.0.1:%d", freePort(tb))
		}
		c.Servers = append(c.Servers, &Server{opts: opts})
	}
	// Every server must be up for a meta leader to be elected, so start
	// them all before waiting for one.
	for _, s := range c.Servers {
		srv, err := server.NewServer(s.opts.Clone())
		if err != nil {
			tb.Fatal(err)
		}
		srv.Start()
		s.srv = srv
		tb.Cleanup(s.Stop)
	}
	for _, s := range c.Servers {
		if !s.srv.ReadyForConnections(readyTimeout) {
			tb.Fatalf("natstest: server %s does not accept clients after %v", s.Name(), readyTimeout)
		}
	}
	c.WaitForMetaLeader(tb)
	c.waitForPlacement(tb)
	return c
}

// waitForPlacement waits until the cluster creates a stream with a
// replica on every server: a meta leader that has just been elected may
// still refuse to place one ("no suitable peers for placement"), or take
// longer than a client waits, while the servers exchange their state,
// most of all on a busy machine running tests in parallel. Tests would
// otherwise fail on their first bucket, a few times in a hundred runs.
func (c *Cluster) waitForPlacement(tb testing.TB) {
	tb.Helper()
	nc, err := nats.Connect(c.URL())
	if err != nil {
		tb.Fatalf("natstest: connect to the cluster: %v", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	cfg := jetstream.StreamConfig{Name: "natstest_ready", Subjects: []string{"natstest.ready"}, Replicas: len(c.Servers), Storage: jetstream.MemoryStorage}
	deadline := time.Now().Add(placementTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := js.CreateStream(ctx, cfg)
		if err == nil {
			err = js.DeleteStream(ctx, cfg.Name)
		}
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("natstest: the cluster places no stream of %d replicas after %v: %v", cfg.Replicas, placementTimeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// placementTimeout bounds how long a cluster may take to place its first
// stream.
const placementTimeout = time.Minute

func routeURL(hostPort string) *url.URL { return &url.URL{Scheme: "nats-route", Host: hostPort} }

// link is the proxy that the routes server a dials to server b cross.
type link struct {
	a, b  int
	proxy *tcpproxy.Proxy
}

// Isolate cuts s off from the other servers, both ways, as a network
// partition would: the routes stay open and carry nothing, so that
// neither side learns of the cut but by what it stops hearing. Clients
// connected to s stay connected to it. It needs a cluster of
// [RunPartitionableCluster], and panics on another.
func (c *Cluster) Isolate(s *Server) {
	if len(c.links) == 0 {
		panic("natstest: Isolate needs a cluster started with RunPartitionableCluster")
	}
	for _, l := range c.links {
		if c.Servers[l.a] == s || c.Servers[l.b] == s {
			l.proxy.Cut()
		}
	}
}

// Heal ends every cut of [Cluster.Isolate]: the routes that lost bytes
// are closed, and the servers route again.
func (c *Cluster) Heal() {
	for _, l := range c.links {
		l.proxy.Heal()
	}
}

// WaitForMetaLeader waits until the running servers have a JetStream meta
// leader, every one of them is current with it, and the leader counts
// each as online: until it has their statistics, it refuses to place a
// stream's replicas on them ("no suitable peers for placement").
func (c *Cluster) WaitForMetaLeader(tb testing.TB) {
	tb.Helper()
	deadline := time.Now().Add(readyTimeout)
	for {
		running, online, current := 0, 0, true
		for _, s := range c.Servers {
			if s.srv == nil {
				continue
			}
			running++
			if s.srv.JetStreamIsLeader() {
				online = len(s.srv.JetStreamClusterPeers())
			}
			current = current && s.srv.JetStreamIsCurrent()
		}
		if online >= running && current {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("natstest: no JetStream meta leader after %v", readyTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func options(tb testing.TB, name string, port int) *server.Options {
	return &server.Options{
		ServerName:         name,
		Host:               "127.0.0.1",
		Port:               port,
		NoLog:              true,
		NoSigs:             true,
		JetStream:          true,
		StoreDir:           tb.TempDir(),
		JetStreamMaxMemory: 64 << 20,
		JetStreamMaxStore:  1 << 30,
	}
}

// freePort returns a TCP port nothing listens on now. Another process may
// take it before the server does; the tests accept that small risk to get
// ports a server can be restarted on.
func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
