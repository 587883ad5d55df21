// Package tcpproxy forwards the TCP connections it accepts to one address,
// and lets a test cut, heal and delay them, each direction on its own:
// between two NATS servers' routes it partitions them; between a client
// and its server it makes a slow caller. It uses the standard library
// only.
//
// A cut drops the bytes that cross it, as a partition does, without
// closing anything: each end keeps a connection on which nothing arrives.
// [Proxy.Heal] closes the connections that lost bytes, whose streams are
// broken, so that their ends connect again; the connections that lost
// nothing carry on.
package tcpproxy

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// A Direction is one way across the proxy.
type Direction int

const (
	// Up is from the side that connected to the proxy towards the target.
	Up Direction = iota
	// Down is from the target back to the side that connected.
	Down
)

func (d Direction) String() string {
	if d == Up {
		return "up"
	}
	return "down"
}

// Proxy accepts connections on a local port and forwards each to its
// target. All methods are safe for concurrent use.
type Proxy struct {
	target string
	ln     net.Listener

	mu     sync.Mutex
	cut    [2]bool
	delay  [2]time.Duration
	watch  func(Direction, []byte)
	conns  map[*conn]struct{}
	closed bool

	wg sync.WaitGroup
}

// conn is one accepted connection and the one the proxy opened to the
// target for it.
type conn struct {
	ends [2]net.Conn // ends[Up] is written by the Up direction: the target's side
	// lost reports whether a cut dropped bytes of this connection.
	lost atomic.Bool
	once sync.Once
	done chan struct{}
}

func (c *conn) close() {
	c.once.Do(func() {
		close(c.done)
		c.ends[0].Close()
		c.ends[1].Close()
	})
}

// New starts a proxy to target (host:port) on a free port of 127.0.0.1.
func New(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{target: target, ln: ln, conns: make(map[*conn]struct{})}
	p.wg.Go(p.accept)
	return p, nil
}

// Addr is the address to connect to instead of the target: 127.0.0.1 and
// the proxy's port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Cut drops every byte that crosses the proxy in the directions given, or
// in both if none is given, from now until [Proxy.Heal].
func (p *Proxy) Cut(dirs ...Direction) {
	if len(dirs) == 0 {
		dirs = []Direction{Up, Down}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, d := range dirs {
		p.cut[d] = true
	}
}

// Heal ends every cut, and closes the connections that lost bytes to one.
func (p *Proxy) Heal() {
	p.mu.Lock()
	p.cut = [2]bool{}
	var broken []*conn
	for c := range p.conns {
		if c.lost.Load() {
			broken = append(broken, c)
		}
	}
	p.mu.Unlock()
	for _, c := range broken {
		c.close()
	}
}

// Delay holds every byte that enters the proxy in direction dir for d
// before passing it on, keeping their order; 0 passes them on at once.
// It applies to bytes that arrive from now on.
func (p *Proxy) Delay(dir Direction, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay[dir] = d
}

// Watch calls fn with every chunk of bytes that enters the proxy, and its
// direction, as it arrives and before any delay or cut, until Watch is
// called again (nil stops watching). fn runs on the goroutine that reads
// the connection: it must return quickly, and must not keep the slice.
func (p *Proxy) Watch(fn func(Direction, []byte)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.watch = fn
}

// Close stops accepting, closes every connection, and waits until the
// proxy's goroutines have returned.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	conns := make([]*conn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	err := p.ln.Close()
	for _, c := range conns {
		c.close()
	}
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		target, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		c := &conn{ends: [2]net.Conn{Up: target, Down: client}, done: make(chan struct{})}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.close()
			return
		}
		p.conns[c] = struct{}{}
		p.mu.Unlock()
		p.wg.Go(func() { p.pump(c, Up) })
		p.wg.Go(func() { p.pump(c, Down) })
		p.wg.Go(func() {
			<-c.done
			p.mu.Lock()
			delete(p.conns, c)
			p.mu.Unlock()
		})
	}
}

// chunk is bytes read, and when they may be written.
type chunk struct {
	b   []byte
	due time.Time
}

// pump carries c's bytes in direction dir: it reads them from the end
// they come from, and a writer passes them on once their delay is over,
// in order.
func (p *Proxy) pump(c *conn, dir Direction) {
	src, dst := c.ends[1-dir], c.ends[dir]
	queue := make(chan chunk, 256)
	var writer sync.WaitGroup
	writer.Go(func() {
		timer := time.NewTimer(0)
		defer timer.Stop()
		for ch := range queue {
			if wait := time.Until(ch.due); wait > 0 {
				timer.Reset(wait)
				select {
				case <-timer.C:
				case <-c.done:
					return
				}
			}
			if _, err := dst.Write(ch.b); err != nil {
				c.close()
				return
			}
		}
	})
	// Bytes read before the end of the stream are still passed on, after
	// their delay; then both ends close.
	defer c.close()
	defer writer.Wait()
	defer close(queue)
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			cut, delay, watch := p.cut[dir], p.delay[dir], p.watch
			p.mu.Unlock()
			if watch != nil {
				watch(dir, buf[:n])
			}
			if cut {
				c.lost.Store(true)
			} else {
				select {
				case queue <- chunk{b: append([]byte(nil), buf[:n]...), due: time.Now().Add(delay)}:
				case <-c.done:
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}
