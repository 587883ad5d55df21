package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
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
	// cancel abandons the batches in flight, when Disconnect cannot wait.
	cancel  context.CancelFunc
	commits *committer
	// names says which names the table holds exactly, as the server
	// counts and converts them (see [OffsetStore.inspectServer]).
	names nameRule
	// typmod is the projection_name column's type modifier.
	typmod int32
	// lockWaits bounds how long the attempts of a WriteOffsets of several
	// projections wait for a lock or a row: defaultLockWaits, or a test's.
	lockWaits lockWaits
}

// minPoolSize is the smallest pool with which no projection waits for
// another: a stuck projection holds up to two connections (its unit in
// flight and the one sent beside it after stallAfter), the others' writes
// need one more, and reads one the writes never take.
const minPoolSize = 4

func newSession(s *OffsetStore, pool *pgxpool.Pool, owned bool) *session {
	ctx, cancel := context.WithCancel(context.Background())
	sess := &session{pool: pool, owned: owned, cancel: cancel, lockWaits: cmp.Or(s.lockWaits, defaultLockWaits)}
	sess.commits = &committer{
		store:    s,
		sess:     sess,
		ctx:      ctx,
		maxUnits: max(1, int(pool.Config().MaxConns)-1),
		lanes:    make(map[string]*lane),
	}
	return sess
}

// close stops the committer and waits for every write and change in
// flight, lone or batched, unless ctx ends first, and closes the pool if
// the session opened it. Closing the pool waits for the calls still using
// it, which may have no deadline and a server that does not answer: if ctx
// ends first, close abandons the batches in flight and returns ctx's
// error, and the pool finishes closing when those calls return.
func (sess *session) close(ctx context.Context) error {
	sess.commits.drain()
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		sess.commits.units.Wait()
	}()
	select {
	case <-sent:
	case <-ctx.Done():
		sess.cancel()
		if sess.owned {
			go sess.pool.Close()
		}
		return fmt.Errorf("%w: writes sent before Disconnect may still commit; the store's own pool closes once the calls using it return", ctx.Err())
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

// A request is one call waiting for its turn in its projection's lane: a
// WriteOffset, which shares its batch with the writes queued beside it, or
// a change (a reset, a delete, a WriteOffsets), which goes alone.
type request struct {
	ctx context.Context
	op  string
	row row
	// change is the work of a change, nil for a write.
	change func(context.Context) error
	// state moves from queued to taken, by the committer when it sends
	// the request, or to abandoned, by the caller when its context ends
	// first: whichever comes first decides whether the request is sent.
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

// A committer is a session's group commit, and the gate of every call that
// changes rows. Each projection has a lane: the writes of a projection
// that arrive while one of its units (a write, a batch or a change) is in
// flight queue in its lane, and go out together, as one statement, when
// that unit is answered. A batch holds one projection's writes only, so a
// write never waits for a lock of another projection that its batch mates
// wait for. A call that finds its lane empty goes out at once, from its
// caller's goroutine, so that a lone writer pays nothing for group commit.
// There is no timer on that path: under load, a batch holds the writes of
// its projection that arrived during one round trip.
//
// Two bounds keep a stuck projection (its rows locked by a long
// transaction, its reset waiting for an open [OffsetStore.WriteOffsetTx],
// its connection gone silent) from holding up the others:
//   - a lane has one unit in flight, or two once the first has been in
//     flight for stallAfter: then the queue goes out beside it, so that a
//     silent connection does not hold a projection's writes for ever, and
//     a stuck projection holds two connections at most;
//   - the units in flight, of every lane, hold at most the pool's size but
//     one connections, so that reads always find one.
//
// Past those bounds, calls wait in their lanes, in the store, where their
// contexts can end them, not in the pool or on the server.
type committer struct {
	store *OffsetStore
	sess  *session
	// ctx ends when the session is abandoned; every batch's context
	// derives from it.
	ctx context.Context
	// maxUnits bounds the units in flight, of every lane: the pool's size
	// but one.
	maxUnits int

	mu sync.Mutex
	// lanes holds the lanes that have a unit in flight or queued, by
	// projection name. The lanes of calls of several projections, one
	// each, are not listed.
	lanes map[string]*lane
	// ready lists the lanes with queued requests, oldest first: every
	// lane that has any.
	ready    []*lane
	inFlight int
	// sentAlone says whether the last unit sent from a queue was one of
	// alone's, for dispatchLocked to take turns.
	sentAlone bool
	closed    bool // no more requests are taken: the session is closing

	// units counts every unit in flight, lone ones included, for close.
	units sync.WaitGroup

	// batches and rows count the writes sent, for tests to see that
	// writes did share round trips.
	batches, rows atomic.Int64
}

// A lane is one projection's queue. c.mu guards it.
type lane struct {
	name  string
	queue []*request
	// sent holds when each unit in flight was sent, oldest first.
	sent  []time.Time
	stall *time.Timer // wakes the committer when the lane's unit stalls
	ready bool        // listed in c.ready
	retry bool        // holds a retry of alone
}

// stallAfter is how long a lane's unit may be in flight before the queue
// behind it goes out beside it. A commit takes milliseconds; one that
// takes seconds waits for something that may never come, such as an
// answer on a connection that went silent, which pgx, given a context with
// no deadline, as eGo gives, waits for as long as TCP keeps it open.
const stallAfter = 5 * time.Second

// maxLaneUnits is how many units of one lane may be in flight: one, and
// one more beside it once it stalls.
const maxLaneUnits = 2

// write writes r through r's projection's lane.
func (c *committer) write(ctx context.Context, r row) error {
	return c.submit(ctx, r.name, &request{ctx: ctx, op: "WriteOffset", row: r})
}

// change runs fn, a call of op that changes rows of projection name,
// through that projection's lane, alone. fn's error is translated as op's;
// the call's error is returned as it is.
func (c *committer) change(ctx context.Context, op, name string, fn func(context.Context) error) error {
	return c.submit(ctx, name, c.changeRequest(ctx, op, fn))
}

// alone runs fn, a call of op that changes rows of several projections,
// as a unit of no projection's lane: it waits for room among the units in
// flight, and for nothing else. fn must not wait long for a lock (see
// [OffsetStore.writeAcross]). No lane bounds how many such calls wait for
// a stuck projection: while they wait, they take turns with the units of
// projections' lanes (see dispatchLocked), and once one has found a lock
// held, it tries again as a retry, after the other calls of alone. Errors
// are as change's.
func (c *committer) alone(ctx context.Context, op string, retry bool, fn func(context.Context) error) error {
	name := ""
	if retry {
		name = retryLane
	}
	return c.submit(ctx, name, c.changeRequest(ctx, op, fn))
}

// retryLane is the name submit takes for a lane of its own that holds a
// retry (see [committer.alone]): no projection's name, which can neither
// be empty nor hold a NUL byte.
const retryLane = "\x00retry"

// isAlone reports whether l holds a unit of alone: such lanes, of no
// projection, have no name.
func (l *lane) isAlone() bool { return l.name == "" }

func (c *committer) changeRequest(ctx context.Context, op string, fn func(context.Context) error) *request {
	return &request{ctx: ctx, op: op, change: func(ctx context.Context) error {
		if err := fn(ctx); err != nil {
			return c.store.translate(ctx, op, c.sess, err)
		}
		return nil
	}}
}

// submit sends req at once, on the caller's goroutine, when its lane is
// empty and the store has room for a unit; otherwise it queues req in its
// lane and waits for it to be answered, or ctx to end. The names "" and
// retryLane give req a lane of its own, which no other request shares;
// a retry always queues.
func (c *committer) submit(ctx context.Context, name string, req *request) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return opError(req.op, offsetstore.ErrNotConnected)
	}
	var l *lane
	switch name {
	case "", retryLane:
		l = &lane{retry: name == retryLane}
	default:
		l = c.lanes[name]
		if l == nil {
			l = &lane{name: name}
			c.lanes[name] = l
		}
	}
	if len(l.sent) == 0 && len(l.queue) == 0 && c.inFlight < c.maxUnits && !l.retry {
		sent := c.sendingLocked(l)
		c.mu.Unlock()
		req.state.Store(taken)
		err := c.run(ctx, []*request{req})[0]
		c.answered(l, sent)
		return err
	}
	req.done = make(chan error, 1)
	l.queue = append(l.queue, req)
	if !l.ready {
		l.ready = true
		c.ready = append(c.ready, l)
	}
	c.dispatchLocked()
	c.mu.Unlock()
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		if req.state.CompareAndSwap(queued, abandoned) {
			return opError(req.op, fmt.Errorf("%w: the call was not sent", ctx.Err()))
		}
		select {
		case err := <-req.done:
			return err
		default:
		}
		return opError(req.op, fmt.Errorf("%w: the call was sent and may still commit", ctx.Err()))
	}
}

// dispatchLocked sends the queued units that the bounds let go, and arms
// the stall timer of each lane that waits for its unit in flight. c.mu is
// held. While both wait, it sends units of projections' lanes and of
// alone by turns, so that however many calls of several projections wait
// for a stuck one, a call of another projection waits for one of them at
// most, and the other way round; within each kind, the oldest goes first,
// but for retries of alone, which go after the other calls of alone.
func (c *committer) dispatchLocked() {
	now := time.Now()
	for c.inFlight < c.maxUnits {
		l := c.nextLocked(!c.sentAlone, now)
		if l == nil {
			if l = c.nextLocked(c.sentAlone, now); l == nil {
				break
			}
		}
		c.sentAlone = l.isAlone()
		c.sendLocked(l)
	}
	kept := c.ready[:0]
	for _, l := range c.ready {
		if len(l.queue) > 0 {
			kept = append(kept, l)
		} else {
			l.ready = false
		}
	}
	clear(c.ready[len(kept):])
	c.ready = kept
}

// nextLocked returns the lane, of alone's units or of a projection's as
// alone says, whose queued unit goes next, or nil if none may go now; it
// arms the stall timer of the lanes that wait for theirs. c.mu is held.
func (c *committer) nextLocked(alone bool, now time.Time) *lane {
	var retry *lane
	for _, l := range c.ready {
		switch {
		case l.isAlone() != alone || len(l.queue) == 0 || len(l.sent) >= maxLaneUnits:
			continue
		case len(l.sent) > 0:
			if wait := stallAfter - now.Sub(l.sent[len(l.sent)-1]); wait > 0 {
				c.armLocked(l, wait)
				continue
			}
		case l.retry:
			if retry == nil {
				retry = l
			}
			continue
		}
		return l
	}
	return retry
}

// armLocked makes the committer look at l again after wait. c.mu is held.
func (c *committer) armLocked(l *lane, wait time.Duration) {
	if l.stall != nil {
		l.stall.Reset(wait)
		return
	}
	l.stall = time.AfterFunc(wait, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if !c.closed {
			c.dispatchLocked()
		}
	})
}

// sendingLocked records a unit of l going out, and returns its record for
// answered. c.mu is held.
func (c *committer) sendingLocked(l *lane) time.Time {
	now := time.Now()
	l.sent = append(l.sent, now)
	c.inFlight++
	c.units.Add(1)
	return now
}

// answered records that the unit of l sent at sent was answered, and sends
// what its end lets go.
func (c *committer) answered(l *lane, sent time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := slices.Index(l.sent, sent)
	l.sent = slices.Delete(l.sent, i, i+1)
	c.inFlight--
	if len(l.sent) == 0 && len(l.queue) == 0 && c.lanes[l.name] == l {
		delete(c.lanes, l.name)
		if l.stall != nil {
			l.stall.Stop()
		}
	}
	if !c.closed {
		c.dispatchLocked()
	}
	c.units.Done()
}

// sendLocked sends the head of l's queue, from a goroutine of its own: a
// change alone, or the writes up to the next change as one batch. c.mu is
// held.
func (c *committer) sendLocked(l *lane) {
	n := 1
	if l.queue[0].change == nil {
		for n < len(l.queue) && l.queue[n].change == nil {
			n++
		}
	}
	unit := slices.Clone(l.queue[:n])
	clear(l.queue[:n])
	l.queue = l.queue[n:]
	sent := c.sendingLocked(l)
	go func() {
		c.commit(unit)
		c.answered(l, sent)
	}()
}

// drain stops the committer: it refuses the requests still queued, and
// any that come later.
func (c *committer) drain() {
	c.mu.Lock()
	c.closed = true
	var queue []*request
	for _, l := range c.ready {
		queue = append(queue, l.queue...)
		l.queue = nil
		if l.stall != nil {
			l.stall.Stop()
		}
	}
	c.ready = nil
	c.mu.Unlock()
	for _, req := range queue {
		if req.state.CompareAndSwap(queued, taken) {
			req.done <- opError(req.op, fmt.Errorf("%w: disconnected before the call was sent", offsetstore.ErrNotConnected))
		}
	}
}

// commit sends the requests of unit whose callers still wait, and answers
// each of them.
func (c *committer) commit(unit []*request) {
	live := make([]*request, 0, len(unit))
	for _, req := range unit {
		if req.state.CompareAndSwap(queued, taken) {
			live = append(live, req)
		}
	}
	if len(live) == 0 {
		return
	}
	if live[0].change != nil {
		live[0].done <- live[0].change(live[0].ctx)
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
	for i, err := range c.run(ctx, live) {
		live[i].done <- err
	}
}

// run sends reqs, a change alone or writes, on ctx, and returns each
// request's outcome.
func (c *committer) run(ctx context.Context, reqs []*request) []error {
	if reqs[0].change != nil {
		return []error{reqs[0].change(ctx)}
	}
	c.batches.Add(1)
	c.rows.Add(int64(len(reqs)))
	return c.store.writeRows(ctx, c.sess, reqs)
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
		written, err = s.upsertRows(ctx, sess.writer(), rows, false)
		return err
	})
	// A batch holds one projection's rows: a name the database cannot
	// hold fails them all, and only them.
	rowErrs = make([]error, len(rows))
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
// regressions. The statement takes the lock of each projection it writes,
// shared, unless locked says that q's transaction holds those locks, or
// the store-wide lock, already. It does not retry: on a transaction of the
// caller's, only the caller can run the transaction again.
func (s *OffsetStore) upsertRows(ctx context.Context, q querier, rows []row, locked bool) ([]bool, error) {
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
	many, manyMonotonic := s.stmts.upsertMany, s.stmts.upsertManyMonotonic
	if locked {
		many, manyMonotonic = s.stmts.upsertManyUnlocked, s.stmts.upsertManyMonotonicUnlocked
	}
	if len(rows) == 1 && !s.monotonic && !locked {
		if _, err := q.Exec(ctx, s.stmts.upsert, names[0], shards[0], values[0], stamps[0]); err != nil {
			return written, err
		}
		written[0] = true
		return written, nil
	}
	if !s.monotonic {
		if _, err := q.Exec(ctx, many, names, shards, values, stamps); err != nil {
			return written, err
		}
		for i := range written {
			written[i] = true
		}
		return written, nil
	}
	got, err := q.Query(ctx, manyMonotonic, names, shards, values, stamps)
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
