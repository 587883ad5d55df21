package postgres

import (
	"cmp"
	"context"
	"fmt"
	"runtime"
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
// another: a reset (or another change) stuck behind an open transaction
// holds a connection, a second change, of another projection, may be
// stuck too, the others' writes need one more, and reads one the writes
// never take.
const minPoolSize = 4

func newSession(s *OffsetStore, pool *pgxpool.Pool, owned bool) *session {
	ctx, cancel := context.WithCancel(context.Background())
	sess := &session{pool: pool, owned: owned, cancel: cancel, lockWaits: cmp.Or(s.lockWaits, defaultLockWaits)}
	sess.commits = &committer{
		store:     s,
		sess:      sess,
		ctx:       ctx,
		maxUnits:  max(1, int(pool.Config().MaxConns)-1),
		maxShared: cmp.Or(s.sharedBatches, maxSharedBatches),
		yield:     !s.noYield,
		lanes:     make(map[string]*lane),
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

// A request is one call that goes through the committer: a WriteOffset,
// which shares its unit with the writes queued beside it, or a change (a
// reset, a delete, a WriteOffsets), which goes alone.
type request struct {
	ctx context.Context
	op  string
	// row is a write's row; a change of one projection has its name
	// there, a change of several (see [committer.alone]) none.
	row row
	// change is the work of a change, nil for a write.
	change func(context.Context) error
	// retry marks a change of several projections that found a lock held
	// before (see [committer.alone]).
	retry bool
	// tried says that a write went out before, and met a lock held: it
	// was not written. c.mu guards it once the write is queued again.
	tried bool
	// state moves from queued to taken, by the committer when it sends
	// the request, or to abandoned, by the caller when its context ends
	// first: whichever comes first decides whether the request is sent.
	// A write that met a lock held goes back to queued, as it was not
	// written.
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
// changes rows.
//
// Writes go out in shared batches: a write that finds room goes out at
// once, from its caller's goroutine, so that a lone writer pays nothing for
// group commit, and there is no timer on that path; the writes that arrive
// while a shared batch is in flight (maxSharedBatches) queue,
// whatever their projection, and go out together, as one statement, when
// one is answered, once the callers it answered have had the processor to
// write again (see run). Under load a batch holds the writes that arrived
// during about one commit.
//
// No write waits on the server for a lock held for long: its statement
// gives up after sharedLockWait (lock_timeout), having changed nothing, and
// holds neither a connection nor a snapshot (which would keep the server
// from pruning the rows every writer updates) while a projection is stuck
// behind a lock: its reset waiting for an open [OffsetStore.WriteOffsetTx],
// its rows locked by another session. Each projection of a unit that gives
// up gets a lane: its writes then queue there, and the lane tries them
// again after pauses that grow to a second (busyBackoff), until they
// commit. So the projections not stuck that shared the unit, which commit
// at their lane's first attempt, wait one pause of 5 to 10 milliseconds.
// Once a lane has failed for stallAfter, writes of several shards that
// fail together go out shard by shard, so that the shards not stuck are
// written. A lane is dropped
// once its unit commits and no change waits in it: its writes go back to
// shared batches.
//
// Changes of one projection (resets, deletes, its WriteOffsets) go through
// its lane, one at a time, in turn with its writes, and wait on the server
// for their locks as long as it takes. Once a lane's unit has been in
// flight for stallAfter, the writes queued behind it go out beside it,
// timed, and again every stallAfter, so that a silent connection does not
// hold a projection's writes for ever.
//
// The units in flight, of every kind, hold at most the pool's size but one
// connections, so that reads always find one; when units of several kinds
// wait, shared batches, lanes' units and changes of several projections go
// out by turns. Past those bounds, calls wait in the store, where their
// contexts can end them, not in the pool or on the server.
type committer struct {
	store *OffsetStore
	sess  *session
	// ctx ends when the session is abandoned; the context of every unit
	// of several callers derives from it.
	ctx context.Context
	// maxUnits bounds the units in flight, of every kind: the pool's size
	// but one.
	maxUnits int
	// maxShared bounds the shared batches in flight: maxSharedBatches, or
	// a test's.
	maxShared int
	// yield says that a shared batch, once answered, lets its callers
	// run before the next one forms (see run): always, but in benchmarks
	// that measure what that earns.
	yield bool

	mu sync.Mutex
	// shared holds the writes waiting for a shared batch, oldest first:
	// those of every projection that has no lane.
	shared []*request
	// split holds units of writes, of one projection or one shard each,
	// split off a lane that has failed for stallAfter, or sent beside a
	// lane's stalled unit: they go out, timed, before the next shared
	// batch.
	split [][]*request
	// lanes holds the lanes, by projection name.
	lanes map[string]*lane
	// ready lists the lanes with queued requests, oldest first.
	ready []*lane
	// across and retries hold the changes of several projections waiting
	// to go out: first attempts, and those that found a lock held before.
	across, retries []*request
	inFlight        int
	// writing holds the units of writes among them. Those in flight for
	// stallAfter or more, on a silent connection most likely, since a
	// write gives up a lock after sharedLockWait, no longer count against
	// either bound: they must not hold the other writes for ever.
	writing []*unit
	// wake wakes the committer when a unit of writes stalls.
	wake *time.Timer
	// turn is the kind of unit that goes next when several kinds wait.
	turn   int
	closed bool // no more requests are taken: the session is closing

	// units counts every unit in flight, for close.
	units sync.WaitGroup

	// batches and rows count the units of writes sent, and their writes,
	// for tests and benchmarks to see how many writes shared a
	// transaction; a unit that met a lock held, and so wrote nothing, is
	// no longer counted once it is back.
	batches, rows atomic.Int64
	// splits counts the units of writes of several projections that met
	// a lock held, and went back to their projections' lanes, for tests
	// to see that a stuck projection shared a batch with others.
	splits atomic.Int64
}

// A lane is the queue of one projection whose calls go out one unit at a
// time. c.mu guards it.
type lane struct {
	name  string
	queue []*request
	busy  bool // a unit of the lane is in flight
	// since is when the unit in flight went out, or when the writes
	// queued behind it last went out beside it.
	since time.Time
	// failures counts the lane's writes' attempts that met a lock held
	// in a row, since failing: when the first of them did.
	failures int
	failing  time.Time
	// pause is when the lane may try its writes again.
	pause time.Time
	wake  *time.Timer // wakes the committer for the lane's next step
	ready bool        // listed in c.ready
}

// A unit is what goes out as one statement, or one transaction: a change,
// or writes.
type unit struct {
	reqs  []*request
	start time.Time // when it went out
	// shared says that the unit is a shared batch, or a write that went
	// out alone as one.
	shared bool
	// lane is the lane the unit is of, nil for the units of shared
	// batches and changes of several projections.
	lane *lane
}

// maxSharedBatches is how many shared batches may be in flight at once:
// one, so that the writes that arrive while it commits all wait for the
// next, as classic group commit has it. More batches in flight hold fewer
// writes each, which costs the server more CPU and WAL flushes per write
// (see BenchmarkSharedBatches). Lanes' writes, and units split off them,
// go beside it, within the units' bound.
const maxSharedBatches = 1

// stallAfter is how long a lane's unit may be in flight before the writes
// queued behind it go out beside it, and how long a lane's writes fail
// together before they go out shard by shard. A commit takes milliseconds;
// one that takes seconds waits for something that may never come, such as
// an answer on a connection that went silent, which pgx, given a context
// with no deadline, as eGo gives, waits for as long as TCP keeps it open.
const stallAfter = 5 * time.Second

// The kinds of unit, which take turns (see [committer.nextLocked]).
const (
	kindWrites = iota // writes: shared batches, split units, lanes' writes
	kindLane          // a change of one projection, in its lane
	kindAcross        // a change of several projections
	kinds
)

// write writes r, in a shared batch, or through r's projection's lane if
// it has one.
func (c *committer) write(ctx context.Context, r row) error {
	return c.submit(&request{ctx: ctx, op: "WriteOffset", row: r})
}

// change runs fn, a call of op that changes rows of projection name,
// through that projection's lane, alone. fn's error is translated as op's;
// the call's error is returned as it is.
func (c *committer) change(ctx context.Context, op, name string, fn func(context.Context) error) error {
	req := c.changeRequest(ctx, op, fn)
	req.row.name = name
	return c.submit(req)
}

// alone runs fn, a call of op that changes rows of several projections,
// as a unit of no lane: it waits for room among the units in flight, and
// for nothing else. fn must not wait long for a lock (see
// [OffsetStore.writeAcross]). No lane bounds how many such calls wait for
// a stuck projection: while they wait, they take turns with the other
// units (see nextLocked), and once one has found a lock held, it tries
// again as a retry, after the other calls of alone. Errors are as
// change's.
func (c *committer) alone(ctx context.Context, op string, retry bool, fn func(context.Context) error) error {
	req := c.changeRequest(ctx, op, fn)
	req.retry = retry
	return c.submit(req)
}

func (c *committer) changeRequest(ctx context.Context, op string, fn func(context.Context) error) *request {
	return &request{ctx: ctx, op: op, change: func(ctx context.Context) error {
		if err := fn(ctx); err != nil {
			return c.store.translate(ctx, op, c.sess, err)
		}
		return nil
	}}
}

// submit sends req at once, on the caller's goroutine, when nothing of its
// kind waits and the store has room for a unit; otherwise it queues req
// and waits for it to be answered, or its context to end. A retry always
// queues.
func (c *committer) submit(req *request) error {
	req.done = make(chan error, 1)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return opError(req.op, offsetstore.ErrNotConnected)
	}
	room := c.roomLocked(time.Now())
	var u *unit
	switch {
	case req.change == nil:
		if l := c.lanes[req.row.name]; l != nil {
			c.queueLocked(l, req)
		} else if c.sharedRoomLocked(time.Now()) && len(c.shared) == 0 && len(c.split) == 0 {
			u = &unit{reqs: []*request{req}, shared: true}
		} else {
			c.shared = append(c.shared, req)
		}
	case req.row.name != "":
		l := c.laneLocked(req.row.name)
		if room && !l.busy && len(l.queue) == 0 {
			u = &unit{reqs: []*request{req}, lane: l}
		} else {
			c.queueLocked(l, req)
		}
	case req.retry:
		c.retries = append(c.retries, req)
	case room:
		u = &unit{reqs: []*request{req}}
	default:
		c.across = append(c.across, req)
	}
	if u != nil {
		c.startLocked(u)
		c.mu.Unlock()
		c.run(u)
	} else {
		c.dispatchLocked()
		c.mu.Unlock()
	}
	select {
	case err := <-req.done:
		return err
	case <-req.ctx.Done():
		if req.state.CompareAndSwap(queued, abandoned) {
			return opError(req.op, fmt.Errorf("%w: the call was not sent, or was and wrote nothing", req.ctx.Err()))
		}
		select {
		case err := <-req.done:
			return err
		default:
		}
		return opError(req.op, fmt.Errorf("%w: the call was sent and may still commit", req.ctx.Err()))
	}
}

// stalledLocked returns how many units of writes have been in flight for
// stallAfter or more at now. c.mu is held.
func (c *committer) stalledLocked(now time.Time) int {
	n := 0
	for _, u := range c.writing {
		if now.Sub(u.start) >= stallAfter {
			n++
		}
	}
	return n
}

// roomLocked reports whether a unit may go out at now. c.mu is held.
func (c *committer) roomLocked(now time.Time) bool {
	return c.inFlight-c.stalledLocked(now) < c.maxUnits
}

// sharedRoomLocked reports whether a shared batch may go out at now.
// c.mu is held.
func (c *committer) sharedRoomLocked(now time.Time) bool {
	shared := 0
	for _, u := range c.writing {
		if u.shared && now.Sub(u.start) < stallAfter {
			shared++
		}
	}
	return c.roomLocked(now) && shared < c.maxShared
}

// laneLocked returns name's lane, made if it has none. c.mu is held.
func (c *committer) laneLocked(name string) *lane {
	l := c.lanes[name]
	if l == nil {
		l = &lane{name: name}
		c.lanes[name] = l
	}
	return l
}

// queueLocked queues reqs at the end of l's queue. c.mu is held.
func (c *committer) queueLocked(l *lane, reqs ...*request) {
	l.queue = append(l.queue, reqs...)
	if !l.ready && len(l.queue) > 0 {
		l.ready = true
		c.ready = append(c.ready, l)
	}
}

// startLocked records u going out. c.mu is held.
func (c *committer) startLocked(u *unit) {
	c.inFlight++
	u.start = time.Now()
	if u.writes() {
		c.writing = append(c.writing, u)
	}
	c.units.Add(1)
	if u.lane != nil {
		u.lane.busy = true
		u.lane.since = time.Now()
	}
}

// writes reports whether u holds writes, rather than a change.
func (u *unit) writes() bool { return u.reqs[0].change == nil }

// dispatchLocked sends the queued units that the bounds let go, from
// goroutines of their own; sends beside each stalled lane's unit the
// writes queued behind it; and arms each lane's timer for its next step.
// c.mu is held.
func (c *committer) dispatchLocked() {
	now := time.Now()
	for _, l := range c.ready {
		switch {
		case len(l.queue) == 0 || l.queue[0].change != nil:
		case l.busy && now.Sub(l.since) >= stallAfter:
			c.split = append(c.split, l.takeWrites())
			l.since = now
		case !l.busy && l.failures > 0 && now.Sub(l.failing) >= stallAfter && !l.pause.After(now):
			// The lane's writes have met locks for stallAfter: they go
			// out shard by shard, so that the shards not stuck are
			// written, and the others come back.
			c.split = append(c.split, groupBy(l.takeWrites(), func(req *request) uint64 { return req.row.shard })...)
			l.failing = now
		}
	}
	for c.roomLocked(now) {
		u := c.nextLocked(now)
		if u == nil {
			break
		}
		c.startLocked(u)
		go c.run(u)
	}
	if len(c.shared)+len(c.split)+len(c.ready) > 0 {
		// The earliest unit of writes to stall may make room.
		for _, u := range c.writing {
			if wait := u.start.Add(stallAfter).Sub(now); wait > 0 {
				if c.wake == nil {
					c.wake = time.AfterFunc(wait, c.dispatch)
				} else {
					c.wake.Reset(wait)
				}
				break
			}
		}
	}
	kept := c.ready[:0]
	for _, l := range c.ready {
		if len(l.queue) == 0 {
			l.ready = false
			continue
		}
		kept = append(kept, l)
		switch {
		case l.busy && l.queue[0].change == nil:
			c.armLocked(l, l.since.Add(stallAfter).Sub(now))
		case !l.busy && l.pause.After(now):
			c.armLocked(l, l.pause.Sub(now))
		}
	}
	clear(c.ready[len(kept):])
	c.ready = kept
}

// nextLocked returns the unit that goes next, or nil if none may go now.
// The kinds take turns: after a unit of one kind, the others have the
// first pick, so that however many calls of one kind wait, a call of
// another waits for one of them at most. Writes go in this order: split
// units, lanes' writes, the shared batch; lanes whose writes met a lock
// wait for their pause. Changes of several projections go before their
// retries. c.mu is held.
func (c *committer) nextLocked(now time.Time) *unit {
	for i := range kinds {
		kind := (c.turn + i) % kinds
		var u *unit
		switch kind {
		case kindWrites:
			if len(c.split) > 0 {
				u = &unit{reqs: c.split[0]}
				c.split[0] = nil
				c.split = c.split[1:]
				break
			}
			for _, l := range c.ready {
				if !l.busy && len(l.queue) > 0 && l.queue[0].change == nil && !l.pause.After(now) {
					u = &unit{reqs: l.takeTried(), lane: l}
					break
				}
			}
			if u == nil && len(c.shared) > 0 && c.sharedRoomLocked(now) {
				u = &unit{reqs: c.shared, shared: true}
				c.shared = nil
			}
		case kindLane:
			for _, l := range c.ready {
				if !l.busy && len(l.queue) > 0 && l.queue[0].change != nil {
					u = &unit{reqs: l.queue[:1:1], lane: l}
					l.queue = l.queue[1:]
					break
				}
			}
		case kindAcross:
			if len(c.across) > 0 {
				u = &unit{reqs: c.across[:1:1]}
				c.across = c.across[1:]
			} else if len(c.retries) > 0 {
				u = &unit{reqs: c.retries[:1:1]}
				c.retries = c.retries[1:]
			}
		}
		if u != nil {
			c.turn = (kind + 1) % kinds
			return u
		}
	}
	return nil
}

// takeWrites takes the writes at the head of l's queue, up to its first
// change.
func (l *lane) takeWrites() []*request {
	n := 0
	for n < len(l.queue) && l.queue[n].change == nil {
		n++
	}
	u := slices.Clone(l.queue[:n])
	clear(l.queue[:n])
	l.queue = l.queue[n:]
	return u
}

// takeTried takes the writes at the head of l's queue that went out
// before, and met a lock held, or, if the head did not, those up to the
// first that did, or to the first change: so that writes queued behind
// writes that meet a lock wait for them, as if these were in flight, and
// go out in shared batches once these commit.
func (l *lane) takeTried() []*request {
	n := 0
	for n < len(l.queue) && l.queue[n].change == nil && l.queue[n].tried == l.queue[0].tried {
		n++
	}
	u := slices.Clone(l.queue[:n])
	clear(l.queue[:n])
	l.queue = l.queue[n:]
	return u
}

// armLocked makes the committer look at l again after wait, or sooner if
// it is armed to. c.mu is held.
func (c *committer) armLocked(l *lane, wait time.Duration) {
	if l.wake == nil {
		l.wake = time.AfterFunc(wait, c.dispatch)
		return
	}
	l.wake.Reset(wait)
}

// dispatch is dispatchLocked for timers.
func (c *committer) dispatch() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.dispatchLocked()
	}
}

// run sends the requests of u whose callers still wait, answers each of
// them, and records u's end. The writes of a unit that met a lock held are
// not answered but queued again (see requeueLocked), unless the store is
// closing: then they go out again at once, waiting for the lock, since
// Disconnect waits for the calls already sent.
//
// Once a shared batch is answered, and before it stops counting as in
// flight, run yields the processor, so that its callers, woken by their
// answers, may write again and queue for the next batch. Without that,
// the next batch forms from the writes queued while this one was in
// flight, and a writer answered first, writing again at once, goes out
// alone in it: with five writers that write as fast as they are
// answered, batches alternate one write and four, two round trips for
// five writes instead of one (see BenchmarkAnswerYield).
func (c *committer) run(u *unit) {
	live := make([]*request, 0, len(u.reqs))
	for _, req := range u.reqs {
		if req.state.CompareAndSwap(queued, taken) {
			live = append(live, req)
		}
	}
	var again []*request
	switch {
	case len(live) == 0:
	case live[0].change != nil:
		live[0].done <- live[0].change(live[0].ctx)
	default:
		again = c.writeTimed(live)
		if u.shared && c.yield && len(again) < len(live) {
			runtime.Gosched()
		}
	}
	c.mu.Lock()
	if c.closed && len(again) > 0 {
		c.mu.Unlock()
		c.carry(again)
		again = nil
		c.mu.Lock()
	}
	c.inFlight--
	if i := slices.Index(c.writing, u); i >= 0 {
		c.writing = slices.Delete(c.writing, i, i+1)
	}
	if l := u.lane; l != nil {
		l.busy = false
	}
	c.requeueLocked(again)
	if l := u.lane; l != nil && len(again) == 0 {
		c.settleLocked(l)
	}
	if !c.closed {
		c.dispatchLocked()
	}
	c.mu.Unlock()
	c.units.Done()
}

// writeTimed writes live, waiting sharedLockWait at most for each lock and
// row, answers those written or refused, and returns those to send again:
// those that met a lock held, and, if live holds several projections,
// those the server refused (see [refusedApart]), which go out again in
// their projections' lanes.
func (c *committer) writeTimed(live []*request) (again []*request) {
	several := slices.ContainsFunc(live, func(req *request) bool { return req.row.name != live[0].row.name })
	c.batches.Add(1)
	c.rows.Add(int64(len(live)))
	ctx, stop := c.unitContext(live)
	errs := c.store.writeRows(ctx, c.sess, live, timedLocks)
	stop()
	for i, req := range live {
		if sqlState(errs[i]) == codeLockNotAvailable || several && refusedApart(errs[i]) {
			req.tried = true
			again = append(again, req)
			continue
		}
		req.done <- errs[i]
	}
	if len(again) > 0 {
		c.batches.Add(-1)
		c.rows.Add(-int64(len(live)))
	}
	return again
}

// carry writes reqs, which went out before and met a lock held, waiting
// for it, and answers them: the committer is closing.
func (c *committer) carry(reqs []*request) {
	ctx, stop := c.unitContext(reqs)
	defer stop()
	for i, err := range c.store.writeRows(ctx, c.sess, reqs, waitLocks) {
		reqs[i].done <- err
	}
}

// unitContext returns the context live's writes go out on, and a function
// that releases it. The writes of one caller go out on its context. Those
// of several run until they are answered or every caller has given up:
// one caller's deadline must not fail the others' writes, but a batch
// nobody waits for must not hold a connection while the server does not
// answer; they also end when the session is abandoned.
func (c *committer) unitContext(live []*request) (context.Context, func()) {
	if len(live) == 1 {
		return live[0].ctx, func() {}
	}
	ctx, cancel := context.WithCancel(c.ctx)
	waiting := atomic.Int64{}
	waiting.Store(int64(len(live)))
	stops := make([]func() bool, len(live))
	for i, req := range live {
		stops[i] = context.AfterFunc(req.ctx, func() {
			if waiting.Add(-1) == 0 {
				cancel()
			}
		})
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancel()
	}
}

// refusedApart reports whether a unit of writes of several projections
// that failed with err goes out again, one projection per unit, in their
// lanes: when the server refused the statement for what it held (a name
// it cannot convert, say), which may be one projection's doing only, not
// when it could not be reached or gave up the connection.
func refusedApart(err error) bool {
	code := sqlState(err)
	switch {
	case code == "":
		return false
	case strings.HasPrefix(code, "08"), strings.HasPrefix(code, "53"), strings.HasPrefix(code, "57"), strings.HasPrefix(code, "58"):
		return false
	}
	return true
}

// requeueLocked queues again writes that went out together and were not
// written (see writeTimed), but for those whose callers have left, each
// projection's in its lane, which waits before it tries them again, after
// a pause that grows with each failure (busyBackoff); but the writes of
// several shards of a projection whose lane has failed for stallAfter go
// out shard by shard, each shard's in a unit of its own. The projection's
// writes queued in shared since join its lane. c.mu is held.
func (c *committer) requeueLocked(reqs []*request) {
	reqs = slices.DeleteFunc(reqs, func(req *request) bool {
		if err := req.ctx.Err(); err != nil {
			req.done <- opError(req.op, fmt.Errorf("%w: the write was not written", err))
			return true
		}
		req.state.Store(queued)
		return false
	})
	now := time.Now()
	byName := groupBy(reqs, func(req *request) string { return req.row.name })
	if len(byName) > 1 {
		c.splits.Add(1)
	}
	for _, writes := range byName {
		l := c.laneLocked(writes[0].row.name)
		byShard := groupBy(writes, func(req *request) uint64 { return req.row.shard })
		if len(byShard) > 1 && l.failures > 0 && now.Sub(l.failing) >= stallAfter {
			c.split = append(c.split, byShard...)
			continue
		}
		if l.failures == 0 {
			l.failing = now
		}
		l.failures++
		l.pause = now.Add(busyBackoff.pause(l.failures))
		c.toLaneLocked(l, writes)
	}
}

// toLaneLocked puts writes at the head of l's queue, and the writes of l's
// projection queued in shared behind them. c.mu is held.
func (c *committer) toLaneLocked(l *lane, writes []*request) {
	c.shared = slices.DeleteFunc(c.shared, func(req *request) bool {
		if req.row.name == l.name {
			writes = append(writes, req)
			return true
		}
		return false
	})
	queue := append(writes, l.queue...)
	l.queue = nil
	c.queueLocked(l, queue...)
}

// groupBy returns reqs in groups of one key each, in the order each key
// first comes.
func groupBy[K comparable](reqs []*request, keyOf func(*request) K) [][]*request {
	index := make(map[K]int)
	var groups [][]*request
	for _, req := range reqs {
		k := keyOf(req)
		i, ok := index[k]
		if !ok {
			i = len(groups)
			index[k] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], req)
	}
	return groups
}

// settleLocked drops l, whose unit was answered, unless a change waits in
// it: its queued writes go back to the shared batches. c.mu is held.
func (c *committer) settleLocked(l *lane) {
	if slices.ContainsFunc(l.queue, func(req *request) bool { return req.change != nil }) {
		l.failures = 0
		return
	}
	c.shared = append(c.shared, l.queue...)
	l.queue = nil
	delete(c.lanes, l.name)
	if l.wake != nil {
		l.wake.Stop()
	}
}

// drain stops the committer: it refuses the requests still queued, and
// any that come later, but for writes that went out before and met a lock
// held, which it sends again, waiting for their locks, as units whose end
// close waits for.
func (c *committer) drain() {
	c.mu.Lock()
	c.closed = true
	queue := slices.Concat(c.shared, c.across, c.retries)
	for _, u := range c.split {
		queue = append(queue, u...)
	}
	for _, l := range c.lanes {
		queue = append(queue, l.queue...)
		l.queue = nil
		if l.wake != nil {
			l.wake.Stop()
		}
	}
	c.shared, c.split, c.across, c.retries, c.ready = nil, nil, nil, nil, nil
	if c.wake != nil {
		c.wake.Stop()
	}
	var tried []*request
	for _, req := range queue {
		if req.tried && req.state.CompareAndSwap(queued, taken) {
			tried = append(tried, req)
		}
	}
	carried := groupBy(tried, func(req *request) string { return req.row.name })
	c.units.Add(len(carried))
	c.mu.Unlock()
	for _, reqs := range carried {
		go func() {
			defer c.units.Done()
			c.carry(reqs)
		}()
	}
	for _, req := range queue {
		if req.state.CompareAndSwap(queued, taken) {
			req.done <- opError(req.op, fmt.Errorf("%w: disconnected before the call was sent", offsetstore.ErrNotConnected))
		}
	}
}

// writeRows writes the rows of reqs and returns each request's outcome, in
// order: in one statement, unless monotonic writes need more (below),
// which takes its locks as how says.
func (s *OffsetStore) writeRows(ctx context.Context, sess *session, reqs []*request, how locking) []error {
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
		written[n], rowErrs[n] = s.sendRows(ctx, sess, rows, how)
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
// returns which it wrote and each one's error: the statement's, for every
// row (the committer sends a batch of several projections that the server
// refused apart, see [refusedApart]).
func (s *OffsetStore) sendRows(ctx context.Context, sess *session, rows []row, how locking) (written []bool, rowErrs []error) {
	err := retry(ctx, func() (err error) {
		written, err = s.upsert(ctx, sess.writer(), rows, how)
		return err
	})
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

// How a statement that writes takes the locks of the projections it
// writes (see Locks in the package documentation) and its rows.
type locking int

const (
	// waitLocks takes the projections' locks, shared, and the rows,
	// waiting for them as long as it takes.
	waitLocks locking = iota
	// timedLocks takes them as waitLocks does, but gives up after
	// sharedLockWait (SQLSTATE 55P03), having changed nothing.
	timedLocks
	// heldLocks takes no projection's lock: the statement's transaction
	// holds them, or the store-wide lock, already.
	heldLocks
)

// upsertRows writes rows, which name each key once, in one statement on q,
// and reports which it wrote: all of them unless the store refuses
// regressions. The statement takes the lock of each projection it writes,
// shared, unless locked says that q's transaction holds those locks, or
// the store-wide lock, already. It does not retry: on a transaction of the
// caller's, only the caller can run the transaction again.
func (s *OffsetStore) upsertRows(ctx context.Context, q querier, rows []row, locked bool) ([]bool, error) {
	if locked {
		return s.upsert(ctx, q, rows, heldLocks)
	}
	return s.upsert(ctx, q, rows, waitLocks)
}

// upsert is upsertRows, taking the locks as how says.
func (s *OffsetStore) upsert(ctx context.Context, q querier, rows []row, how locking) ([]bool, error) {
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
	one, many, manyMonotonic := s.stmts.upsert, s.stmts.upsertMany, s.stmts.upsertManyMonotonic
	switch how {
	case timedLocks:
		one, many, manyMonotonic = s.stmts.upsertTimed, s.stmts.upsertManyTimed, s.stmts.upsertManyMonotonicTimed
	case heldLocks:
		one, many, manyMonotonic = "", s.stmts.upsertManyUnlocked, s.stmts.upsertManyMonotonicUnlocked
	}
	if len(rows) == 1 && !s.monotonic && one != "" {
		if _, err := q.Exec(ctx, one, names[0], shards[0], values[0], stamps[0]); err != nil {
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
