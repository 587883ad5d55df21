package nats

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ego-contrib/offsetstore"
)

// maxGroup is the most writes one group sends. The server refuses atomic
// batches of more than 1000 messages by default.
const maxGroup = 256

// maxInflight is how many groups may be in flight at once: a group stuck
// on a server that went away, until groupTimeout, does not hold up the
// writes that arrive meanwhile, which go out through another server once
// the stream has a new leader.
const maxInflight = 4

// groupTimeout bounds one group's round trip: the callers' contexts may
// end sooner, the group's does not wait for them.
const groupTimeout = 2 * time.Second

// A committer sends the writes of a session's WriteOffset calls, grouping
// those that arrive while a group is in flight into the next one.
type committer struct {
	sess *session

	mu     sync.Mutex
	queue  []*pendingWrite
	closed bool
	// busy counts the groups in flight and the lone writes sent by their
	// callers.
	busy int

	wake chan struct{}
	stop chan struct{}
	done chan struct{}

	// groups and writes count what went out, for tests and benchmarks.
	groups, writes atomic.Int64
}

type pendingWrite struct {
	subject string
	data    []byte
	done    chan error
}

func newCommitter(sess *session) *committer {
	c := &committer{
		sess: sess,
		wake: make(chan struct{}, 1),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	go c.run()
	return c
}

// write queues a write of data to subject and waits for its group's
// outcome, or for ctx to end.
func (c *committer) write(ctx context.Context, subject string, data []byte) error {
	w := &pendingWrite{subject: subject, data: data, done: make(chan error, 1)}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return offsetstore.ErrNotConnected
	}
	if c.busy == 0 {
		// A lone write goes out from its caller's goroutine: no hand-over
		// to the committer's and back.
		c.busy++
		c.mu.Unlock()
		c.groups.Add(1)
		c.writes.Add(1)
		err := c.sendOne(ctx, &nats.Msg{Subject: subject, Data: data})
		c.mu.Lock()
		c.busy--
		c.mu.Unlock()
		c.signal()
		return err
	}
	c.queue = append(c.queue, w)
	c.mu.Unlock()
	c.signal()
	select {
	case err := <-w.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// signal wakes the committer up, to look at its queue.
func (c *committer) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// sendOne sends a lone write. If ctx ends first, the write may still be
// stored, as a group's may.
func (c *committer) sendOne(ctx context.Context, msg *nats.Msg) error {
	ctx, cancel := withCallTimeout(ctx)
	defer cancel()
	_, err := c.sess.publish(ctx, msg)
	return err
}

func (c *committer) run() {
	defer close(c.done)
	inflight := make(chan struct{}, maxInflight)
	var sending sync.WaitGroup
	for {
		select {
		case <-c.wake:
		case <-c.stop:
			sending.Wait()
			c.failQueued()
			return
		}
		for {
			// Wait for a slot before taking the queue, so that the writes
			// that arrive meanwhile join the group.
			select {
			case inflight <- struct{}{}:
			case <-c.stop:
				sending.Wait()
				c.failQueued()
				return
			}
			c.mu.Lock()
			n := min(len(c.queue), maxGroup)
			group := c.queue[:n:n]
			c.queue = c.queue[n:]
			if n > 0 {
				c.busy++
			}
			c.mu.Unlock()
			if n == 0 {
				<-inflight
				break
			}
			sending.Go(func() {
				defer func() {
					c.mu.Lock()
					c.busy--
					c.mu.Unlock()
					<-inflight
				}()
				c.send(group)
			})
		}
	}
}

// send writes group, one message per subject, the last write of each
// winning, and hands every caller the outcome.
func (c *committer) send(group []*pendingWrite) {
	last := make(map[string]int, len(group))
	for i, w := range group {
		last[w.subject] = i
	}
	msgs := make([]*nats.Msg, 0, len(last))
	for i, w := range group {
		if last[w.subject] == i {
			msgs = append(msgs, &nats.Msg{Subject: w.subject, Data: w.data})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
	defer cancel()
	c.groups.Add(1)
	c.writes.Add(int64(len(group)))
	var err error
	switch {
	case len(msgs) == 1:
		_, err = c.sess.publish(ctx, msgs[0])
	case c.sess.stagesOnDisk:
		errs := c.sess.publishAll(ctx, msgs)
		for _, w := range group {
			w.done <- errs[w.subject]
		}
		return
	default:
		err = c.sess.retry(ctx, func(ctx context.Context) error {
			_, err := c.sess.publishBatch(ctx, msgs)
			return err
		})
	}
	for _, w := range group {
		w.done <- err
	}
}

func (c *committer) failQueued() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for _, w := range c.queue {
		w.done <- offsetstore.ErrNotConnected
	}
	c.queue = nil
}

// close stops the committer once the group in flight, if any, is
// acknowledged, failing the writes still queued; it returns ctx's error if
// ctx ends first, the committer stopping all the same.
func (c *committer) close(ctx context.Context) error {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.stop)
	}
	c.mu.Unlock()
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
