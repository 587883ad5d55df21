package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
)

// A session is one connection of a store: the pool it uses between Connect
// and Disconnect, and the committer that writes through it.
type session struct {
	pool  *pgxpool.Pool
	owned bool
	// pinIsolation says the server's default isolation is not READ
	// COMMITTED, so that writes pin it (see [session.writer]).
	pinIsolation bool
	// cancel abandons the batch in flight, when Disconnect cannot wait.
	cancel  context.CancelFunc
	commits *committer
}

func newSession(s *OffsetStore, pool *pgxpool.Pool, owned bool) *session {
	ctx, cancel := context.WithCancel(context.Background())
	sess := &session{pool: pool, owned: owned, cancel: cancel}
	sess.commits = &committer{
		store:    s,
		sess:     sess,
		ctx:      ctx,
		maxUnits: max(1, int(pool.Config().MaxConns)-1),
	}
	return sess
}

// close stops the committer, after the batch in flight unless ctx ends
// first, and closes the pool if the session opened it. Closing the pool
// waits for the calls still using it, which may have no deadline and a
// server that does not answer: if ctx ends first, close returns ctx's
// error and the pool finishes closing when those calls return.
func (sess *session) close(ctx context.Context) error {
	sess.commits.drain()
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		sess.commits.sending.Wait()
	}()
	select {
	case <-sent:
	case <-ctx.Done():
		sess.cancel()
		<-sent
	}
	sess.cancel()
	if !sess.owned {
		return nil
	}
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		sess.pool.Close()
	}()
	select {
	case <-closed:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: the pool closes once the calls still using it return", ctx.Err())
	}
}

// A row is one offset as the table holds it.
type row struct {
	name      string
	shard     uint64
	value     int64
	timestamp int64
}

type key struct {
	name  string
	shard uint64
}

func rowOf(o *egopb.Offset) row {
	return row{name: o.ProjectionName, shard: o.ShardNumber, value: o.Value, timestamp: o.Timestamp}
}

func (r row) key() key { return key{r.name, r.shard} }

// A request is one WriteOffset waiting for its batch.
type request struct {
	ctx context.Context
	row row
	// state moves from queued to taken, by the committer when it puts the
	// request in a batch, or to abandoned, by the caller when its context
	// ends first: whichever comes first decides whether the row is sent.
	state atomic.Uint32
	// done receives the outcome, once; it has room for it, so the
	// committer never waits for a caller who has left.
	done chan error
}

const (
	queued uint32 = iota
	taken
	abandoned
)

// A committer is a session's group commit. A write that finds nothing in
// flight goes out at once, from its caller's goroutine; the writes that
// arrive while a write or batch is in flight queue up, and go out together,
// as one statement, when it is answered. There is no timer on that path:
// under load, a batch holds the writes that arrived during one round trip.
//
// A write or batch in flight for longer than stallAfter (its row locked by
// a long transaction, say, or its connection gone silent) no longer holds
// the others back: the queue goes out beside it, and so do later writes,
// still one unit in flight after another, leaving the pool a connection
// for reads.
type committer struct {
	store *OffsetStore
	sess  *session
	// ctx ends when the session is abandoned; every batch's context
	// derives from it.
	ctx context.Context
	// maxUnits bounds the writes and batches in flight: the pool's size
	// but one, so that a stall cannot take every connection.
	maxUnits int

	mu    sync.Mutex
	queue []*request
	// sent holds when each write or batch in flight was sent, in order.
	sent   []time.Time
	closed bool // no more requests are taken: the session is closing

	// sending counts the batches sent from goroutines of their own.
	sending sync.WaitGroup

	// batches and rows count what was sent, for tests to see that
	// writes did share round trips.
	batches, rows atomic.Int64
}

// stallAfter is how long a write or batch may be in flight before the
// writes queued behind it go out without it. A commit takes milliseconds;
// one that takes seconds waits for something that may never come, such as
// an answer on a connection that went silent, which pgx, given a context
// with no deadline, as eGo gives, waits for as long as TCP keeps it open.
const stallAfter = 5 * time.Second

// write writes r: at once, on the caller's goroutine, when nothing is in
// flight, so that a lone writer pays nothing for group commit; otherwise
// it queues r for the next batch and waits for that batch to commit, or
// ctx to end.
func (c *committer) write(ctx context.Context, r row) error {
	req := &request{ctx: ctx, row: r}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return opError("WriteOffset", offsetstore.ErrNotConnected)
	}
	wait := c.stallLocked()
	if len(c.sent) == 0 || wait == 0 && len(c.queue) == 0 {
		sent := c.sendingLocked()
		c.mu.Unlock()
		c.batches.Add(1)
		c.rows.Add(1)
		err := c.store.writeRows(ctx, c.sess, []*request{req})[0]
		c.answered(sent)
		return err
	}
	req.done = make(chan error, 1)
	c.queue = append(c.queue, req)
	if wait == 0 {
		c.sendLocked()
	}
	c.mu.Unlock()
	stall := time.NewTimer(orStallAfter(wait))
	defer stall.Stop()
	for {
		select {
		case err := <-req.done:
			return err
		case <-stall.C:
			c.mu.Lock()
			wait := c.stallLocked()
			if wait == 0 && len(c.queue) > 0 && !c.closed {
				c.sendLocked()
			}
			c.mu.Unlock()
			stall.Reset(orStallAfter(wait))
		case <-ctx.Done():
			if req.state.CompareAndSwap(queued, abandoned) {
				return opError("WriteOffset", fmt.Errorf("%w: the write was not sent", ctx.Err()))
			}
			select {
			case err := <-req.done:
				return err
			default:
			}
			return opError("WriteOffset", fmt.Errorf("%w: the write was sent and may still commit", ctx.Err()))
		}
	}
}

// stallLocked returns how long until every write and batch in flight
// has been so for stallAfter, 0 if they have, and stallAfter if there is
// nothing in flight or no room for one more. c.mu is held.
func (c *committer) stallLocked() time.Duration {
	if len(c.sent) == 0 || len(c.sent) >= c.maxUnits {
		return stallAfter
	}
	return max(0, stallAfter-time.Since(c.sent[len(c.sent)-1]))
}

// orStallAfter returns wait, or stallAfter if wait is 0: how long a queued
// write waits before it looks again whether what is in flight stalls.
func orStallAfter(wait time.Duration) time.Duration {
	if wait == 0 {
		return stallAfter
	}
	return wait
}

// sendingLocked records a write or batch going out, and returns its
// record for answered. c.mu is held.
func (c *committer) sendingLocked() time.Time {
	now := time.Now()
	c.sent = append(c.sent, now)
	return now
}

// answered records that the write or batch sent at sent was answered, and
// sends the writes that queued meanwhile.
func (c *committer) answered(sent time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := slices.Index(c.sent, sent)
	c.sent = slices.Delete(c.sent, i, i+1)
	if len(c.queue) > 0 && !c.closed {
		c.sendLocked()
	}
}

// sendLocked sends the queue as one batch, from a goroutine of its own.
// c.mu is held.
func (c *committer) sendLocked() {
	batch := c.queue
	c.queue = nil
	sent := c.sendingLocked()
	c.sending.Go(func() {
		c.commit(batch)
		c.answered(sent)
	})
}

// drain stops the committer: it refuses the requests still queued, and
// any that come later.
func (c *committer) drain() {
	c.mu.Lock()
	c.closed = true
	queue := c.queue
	c.queue = nil
	c.mu.Unlock()
	for _, req := range queue {
		if req.state.CompareAndSwap(queued, taken) {
			req.done <- opError("WriteOffset", fmt.Errorf("%w: disconnected before the write was sent", offsetstore.ErrNotConnected))
		}
	}
}

// commit sends the requests of batch whose callers still wait, and answers
// each of them.
func (c *committer) commit(batch []*request) {
	live := make([]*request, 0, len(batch))
	for _, req := range batch {
		if req.state.CompareAndSwap(queued, taken) {
			live = append(live, req)
		}
	}
	if len(live) == 0 {
		return
	}
	// The batch runs until it is answered or every caller has given up:
	// one caller's deadline must not fail the others' writes, but a batch
	// nobody waits for must not hold a connection while the server does
	// not answer.
	ctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	waiting := atomic.Int64{}
	waiting.Store(int64(len(live)))
	for _, req := range live {
		stop := context.AfterFunc(req.ctx, func() {
			if waiting.Add(-1) == 0 {
				cancel()
			}
		})
		defer stop()
	}
	c.batches.Add(1)
	c.rows.Add(int64(len(live)))
	for i, err := range c.store.writeRows(ctx, c.sess, live) {
		live[i].done <- err
	}
}

// writeRows writes the rows of reqs and returns each request's outcome, in
// order: in one statement, unless monotonic writes need more (below).
func (s *OffsetStore) writeRows(ctx context.Context, sess *session, reqs []*request) []error {
	errs := make([]error, len(reqs))
	// A statement may not change a row twice, so the requests of one key
	// fold into one row, the last to arrive winning. With monotonic writes
	// a request above an earlier one of its key must not fold that one in:
	// whether the earlier may be written depends on the stored value, which
	// only the server knows, so the later goes out in a further statement,
	// a round, after the earlier's. A request below an earlier one of its
	// key fails here: whatever the server holds, that one commits (and so
	// this one is below it) or is refused for being below the stored value
	// (and so this one is too).
	type place struct{ round, row int }
	var rounds [][]row
	placeOf := make([]place, len(reqs))
	last := make(map[key]place, len(reqs))
	for i, req := range reqs {
		k := req.row.key()
		p, ok := last[k]
		switch {
		case !ok:
			if len(rounds) == 0 {
				rounds = append(rounds, make([]row, 0, len(reqs)))
			}
			p = place{0, len(rounds[0])}
			rounds[0] = append(rounds[0], req.row)
		case !s.monotonic || req.row.value == rounds[p.round][p.row].value:
			rounds[p.round][p.row] = req.row
		case req.row.value < rounds[p.round][p.row].value:
			placeOf[i] = place{-1, -1}
			errs[i] = opError("WriteOffset", fmt.Errorf("%w: projection %q shard %d: value %d is below %d, written by a concurrent call",
				offsetstore.ErrOffsetRegression, k.name, k.shard, req.row.value, rounds[p.round][p.row].value))
			continue
		default:
			p.round++
			if p.round == len(rounds) {
				rounds = append(rounds, nil)
			}
			p.row = len(rounds[p.round])
			rounds[p.round] = append(rounds[p.round], req.row)
		}
		last[k] = p
		placeOf[i] = p
	}
	written := make([][]bool, len(rounds))
	rowErrs := make([][]error, len(rounds))
	for n, rows := range rounds {
		written[n], rowErrs[n] = s.sendRows(ctx, sess, rows)
	}
	for i, req := range reqs {
		p := placeOf[i]
		switch {
		case p.round < 0:
		case rowErrs[p.round][p.row] != nil:
			errs[i] = s.translate(req.ctx, "WriteOffset", sess, rowErrs[p.round][p.row])
		case !written[p.round][p.row]:
			errs[i] = opError("WriteOffset", belowStored(req.row))
		}
	}
	return errs
}

// sendRows writes rows, which name each key once, in one statement, and
// returns which it wrote and each one's error.
func (s *OffsetStore) sendRows(ctx context.Context, sess *session, rows []row) (written []bool, rowErrs []error) {
	err := retry(ctx, func() (err error) {
		written, err = s.upsertRows(ctx, sess.writer(), rows)
		return err
	})
	rowErrs = make([]error, len(rows))
	if err != nil && len(rows) > 1 && strings.HasPrefix(sqlState(err), codeDataExceptionClassHead) {
		// One row the database cannot hold (a name its encoding lacks,
		// say) must fail its own writes only: find it by writing each
		// row alone.
		for j, r := range rows {
			w, err := s.upsertRows(ctx, sess.writer(), []row{r})
			written[j], rowErrs[j] = w[0], err
		}
		return written, rowErrs
	}
	for j := range rowErrs {
		rowErrs[j] = err
	}
	return written, rowErrs
}

// A querier runs statements: a pool, a connection or a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// upsertRows writes rows, which name each key once, in one statement on q,
// and reports which it wrote: all of them unless the store refuses
// regressions. It does not retry: on a transaction of the caller's, only
// the caller can run the transaction again.
func (s *OffsetStore) upsertRows(ctx context.Context, q querier, rows []row) ([]bool, error) {
	// Rows are locked in the order they are written: in one order for
	// every batch, two batches of two nodes never wait for each other in
	// a cycle.
	order := make([]int, len(rows))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		return cmp.Or(cmp.Compare(rows[a].name, rows[b].name), cmp.Compare(rows[a].shard, rows[b].shard))
	})
	names := make([]string, len(rows))
	shards := make([]int64, len(rows))
	values := make([]int64, len(rows))
	stamps := make([]int64, len(rows))
	for i, j := range order {
		r := rows[j]
		names[i], shards[i], values[i], stamps[i] = r.name, int64(r.shard), r.value, r.timestamp
	}
	written := make([]bool, len(rows))
	if len(rows) == 1 && !s.monotonic {
		if _, err := q.Exec(ctx, s.stmts.upsert, names[0], shards[0], values[0], stamps[0]); err != nil {
			return written, err
		}
		written[0] = true
		return written, nil
	}
	if !s.monotonic {
		if _, err := q.Exec(ctx, s.stmts.upsertMany, names, shards, values, stamps); err != nil {
			return written, err
		}
		for i := range written {
			written[i] = true
		}
		return written, nil
	}
	got, err := q.Query(ctx, s.stmts.upsertManyMonotonic, names, shards, values, stamps)
	if err != nil {
		return written, err
	}
	defer got.Close()
	index := make(map[key]int, len(rows))
	for i, r := range rows {
		index[r.key()] = i
	}
	for got.Next() {
		var name string
		var shard int64
		if err := got.Scan(&name, &shard); err != nil {
			return written, err
		}
		written[index[key{name, uint64(shard)}]] = true
	}
	return written, got.Err()
}
