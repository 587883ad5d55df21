package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ego-contrib/offsetstore"
)

// A session is one connection of a store: the pool it uses between Connect
// and Disconnect, and the committer that writes through it.
type session struct {
	pool  *pgxpool.Pool
	owned bool
	// cancel abandons the batch in flight, when Disconnect cannot wait.
	cancel  context.CancelFunc
	commits *committer
}

func newSession(s *OffsetStore, pool *pgxpool.Pool, owned bool) *session {
	ctx, cancel := context.WithCancel(context.Background())
	sess := &session{pool: pool, owned: owned, cancel: cancel}
	sess.commits = &committer{
		store:  s,
		sess:   sess,
		ctx:    ctx,
		wake:   make(chan struct{}, 1),
		stop:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	go sess.commits.run()
	return sess
}

// close stops the committer, after the batch in flight unless ctx ends
// first, and closes the pool if the session opened it. Closing the pool
// waits for the calls still using it, which may have no deadline and a
// server that does not answer: if ctx ends first, close returns ctx's
// error and the pool finishes closing when those calls return.
func (sess *session) close(ctx context.Context) error {
	close(sess.commits.stop)
	select {
	case <-sess.commits.exited:
	case <-ctx.Done():
		sess.cancel()
		<-sess.commits.exited
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

// A committer is a session's group commit. One write or batch is in flight
// at a time: a write that finds none goes out at once from its caller's
// goroutine, and the writes that arrive while one is in flight queue up and
// go out together, as one statement, from the committer's goroutine. There
// is no timer: under load, a batch holds the writes that arrived during one
// round trip.
type committer struct {
	store *OffsetStore
	sess  *session
	// ctx ends when the session is abandoned; every batch's context
	// derives from it.
	ctx context.Context

	mu    sync.Mutex
	queue []*request
	// busy is set while a write or a batch is in flight; the queue is
	// empty whenever it is not.
	busy   bool
	closed bool // no more requests are taken: the committer has stopped

	// batches and rows count what was sent, for tests to see that
	// writes did share round trips.
	batches, rows atomic.Int64

	wake   chan struct{} // hands the queue over to the committer
	stop   chan struct{} // closed by session.close
	exited chan struct{} // closed when run returns
}

// write writes r: at once, on the caller's goroutine, when no batch is in
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
	if !c.busy {
		c.busy = true
		c.mu.Unlock()
		c.batches.Add(1)
		c.rows.Add(1)
		err := c.store.writeRows(ctx, c.sess, []*request{req})[0]
		// Writes that arrived meanwhile go out together, from the
		// committer's goroutine.
		c.mu.Lock()
		handOver := len(c.queue) > 0
		c.busy = handOver
		c.mu.Unlock()
		if handOver {
			c.wake <- struct{}{}
		}
		return err
	}
	req.done = make(chan error, 1)
	c.queue = append(c.queue, req)
	c.mu.Unlock()
	select {
	case err := <-req.done:
		return err
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

// run sends the queued writes, a batch at a time, from when a write hands
// them over until the queue is empty.
func (c *committer) run() {
	defer close(c.exited)
	var batch []*request
	for {
		select {
		case <-c.stop:
			c.drain()
			return
		case <-c.wake:
		}
		for {
			c.mu.Lock()
			if len(c.queue) == 0 {
				c.busy = false
				c.mu.Unlock()
				break
			}
			batch, c.queue = c.queue, batch
			c.mu.Unlock()
			c.commit(batch)
			clear(batch) // let the requests go
			batch = batch[:0]
			select {
			case <-c.stop:
				c.drain()
				return
			default:
			}
		}
	}
}

// drain refuses the requests still queued when the session stops.
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
			errs[i] = opError("WriteOffset", fmt.Errorf("%w: projection %q shard %d: value %d is below the stored value",
				offsetstore.ErrOffsetRegression, req.row.name, req.row.shard, req.row.value))
		}
	}
	return errs
}

// sendRows writes rows, which name each key once, in one statement, and
// returns which it wrote and each one's error.
func (s *OffsetStore) sendRows(ctx context.Context, sess *session, rows []row) (written []bool, rowErrs []error) {
	err := retry(ctx, func() (err error) {
		written, err = s.upsertRows(ctx, sess.pool, rows)
		return err
	})
	rowErrs = make([]error, len(rows))
	if err != nil && len(rows) > 1 && strings.HasPrefix(sqlState(err), codeDataExceptionClassHead) {
		// One row the database cannot hold (a name its encoding lacks,
		// say) must fail its own writes only: find it by writing each
		// row alone.
		for j, r := range rows {
			w, err := s.upsertRows(ctx, sess.pool, []row{r})
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
// retrying as [retry] does, and reports which it wrote: all of them unless
// the store refuses regressions.
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
