package nats

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
)

var _ offsetstore.Admin = (*OffsetStore)(nil)

// callTimeout bounds a call whose context has no deadline, so that a call
// made with context.Background while every server is away fails rather
// than waits forever.
const callTimeout = 10 * time.Second

// OffsetStore is an [offsetstore.OffsetStore] that keeps offsets in a NATS
// JetStream KeyValue bucket: one key per (projection name, shard number),
// and one fence per projection that changes of its shards check (see the
// package documentation). Every node of an application can share it. Make
// one with [NewOffsetStore]; all methods are safe for concurrent use.
type OffsetStore struct {
	url          string
	callerConn   *nats.Conn
	bucket       string
	replicas     int // WithReplicas's; 0 for the default
	createBucket bool
	now          func() time.Time
	monotonic    bool
	// minVersion is the oldest server Connect takes: minServerVersion,
	// but for tests that must reach the checks behind it.
	minVersion [2]int
	// batchAnswer is given to every session (see session.batchAnswer).
	batchAnswer func(seq uint64, err error) (uint64, error)

	// optErr is what was wrong with the options, for Connect to return.
	optErr error
	keys   keys
	// bucketConfig is the bucket's stream's configuration, once a Connect
	// found the bucket ready: later Connects skip the check, which costs a
	// round trip to the meta leader.
	bucketConfig atomic.Pointer[jetstream.StreamConfig]

	// connecting is held, as a one-slot semaphore, by Connect and
	// Disconnect: unlike a mutex, waiting for it can end with the
	// waiter's context.
	connecting chan struct{}
	// sess is the connection in use, nil while not connected. Calls load
	// it once and use what they loaded.
	sess atomic.Pointer[session]
}

// session is one connection of the store to the servers, and what runs on
// it.
type session struct {
	nc    *nats.Conn
	owned bool
	// getSubject is the API subject of the bucket's stream that only its
	// leader answers: $JS.API.STREAM.MSG.GET.KV_<bucket>.
	getSubject string
	// infoSubject is the API subject of the stream's information:
	// $JS.API.STREAM.INFO.KV_<bucket>.
	infoSubject string
	// directSubject is the subject of the stream's direct gets, which any
	// server that holds the stream answers: $JS.API.DIRECT.GET.KV_<bucket>.
	// noDirect is set once they got no responders: the stream does not
	// allow them.
	directSubject string
	noDirect      atomic.Bool
	// barrierSubject is the subject of the bucket's barrier key (see
	// [session.verify]).
	barrierSubject string
	js             jetstream.JetStream
	// known holds the subjects of the shard keys this session has seen
	// hold a message, a value or a delete marker: read, or written. A key
	// that holds one keeps one, since the store never purges a key, so a
	// write to it adds no shard to its projection and needs no fence (see
	// [OffsetStore.WriteOffset]).
	known sync.Map
	// views holds, by projection name, the [view] of the projection after
	// the last ResetOffset through this session: the next one writes its
	// batch from it without reading the keys. The batch's conditions
	// check everything it relies on, so a view that is no longer true
	// costs a failed batch and a read, never a wrong change.
	views sync.Map

	// mu guards closing and the doubts; calls counts the calls in
	// flight, which Disconnect waits for.
	mu      sync.Mutex
	closing bool
	calls   sync.WaitGroup
	// doubts counts the writes sent on nc that were never acknowledged
	// nor refused, and doubtEpoch is nc's reconnect count before the
	// first of them was sent (see fence.go).
	doubts     int
	doubtEpoch uint64

	// window is the stream's duplicate window, within which its leader
	// remembers the message ids stored (see [session.landed]).
	window time.Duration
	// batchAnswer, if set, stands in for the servers' answer to each
	// atomic batch, given the real one: tests make it refuse a batch
	// that was stored, as a stale leader does.
	batchAnswer func(seq uint64, err error) (uint64, error)
}

// NewOffsetStore returns a store, not yet connected, that will connect to
// the servers of url (a comma-separated list of nats:// URLs, as
// [nats.Connect] takes it) when [OffsetStore.Connect] or [OffsetStore.Ping]
// is called, or use the connection of [WithConn].
//
// The connection the store opens tries to reconnect forever, so that the
// store recovers by itself when servers come back; calls made meanwhile
// fail when their context ends, or after 10 seconds if it has no
// deadline. Bad options (an invalid bucket name, say) are reported by
// Connect and Ping.
func NewOffsetStore(url string, opts ...Option) *OffsetStore {
	s := &OffsetStore{
		url:        url,
		bucket:     DefaultBucket,
		minVersion: minServerVersion,
		connecting: make(chan struct{}, 1),
	}
	for _, opt := range opts {
		opt.apply(s)
	}
	s.optErr = checkBucket(s.bucket)
	s.keys = newKeys(s.bucket)
	return s
}

// streamName is the name of the bucket's stream.
func (s *OffsetStore) streamName() string { return "KV_" + s.bucket }

// Connect connects to the servers (or takes the connection of
// [WithConn]) and checks that the bucket exists and takes atomic batches,
// creating it first if the store was made [WithCreateBucket]. Connecting
// a connected store does nothing.
func (s *OffsetStore) Connect(ctx context.Context) error {
	return s.connect(ctx, "Connect")
}

func (s *OffsetStore) connect(ctx context.Context, op string) error {
	if err := check(ctx, op, s.optErr); err != nil {
		return err
	}
	if err := s.lockConnecting(ctx); err != nil {
		return opError(op, err)
	}
	defer s.unlockConnecting()
	if s.sess.Load() != nil {
		return nil
	}
	sess, err := s.open(ctx)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
			err = fmt.Errorf("%w: %w", ctxErr, err)
		}
		return opError(op, err)
	}
	s.sess.Store(sess)
	return nil
}

func (s *OffsetStore) open(ctx context.Context) (*session, error) {
	nc, owned := s.callerConn, false
	if nc == nil {
		timeout := 2 * time.Second
		if deadline, ok := ctx.Deadline(); ok {
			timeout = min(timeout, time.Until(deadline))
		}
		var err error
		nc, err = nats.Connect(s.url,
			nats.Name("offsetstore"),
			nats.Timeout(max(timeout, time.Millisecond)),
			nats.MaxReconnects(-1),
			nats.ReconnectWait(100*time.Millisecond),
			// Without a reconnect buffer, a publish made while the
			// connection is down fails at once and is never sent,
			// rather than sent once it is back, after its caller was
			// told it failed.
			nats.ReconnectBufSize(-1),
		)
		if err != nil {
			return nil, fmt.Errorf("connect to %s: %w", s.url, err)
		}
		owned = true
	} else if err := checkConn(nc); err != nil {
		return nil, err
	}
	sess, err := s.openOn(ctx, nc, owned)
	if err != nil && owned {
		nc.Close()
	}
	return sess, err
}

// openOn checks the server and the bucket through nc, and returns a
// session on it.
func (s *OffsetStore) openOn(ctx context.Context, nc *nats.Conn, owned bool) (*session, error) {
	if err := checkServer(nc, s.minVersion); err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	sess := &session{
		nc:             nc,
		owned:          owned,
		getSubject:     "$JS.API.STREAM.MSG.GET." + s.streamName(),
		infoSubject:    "$JS.API.STREAM.INFO." + s.streamName(),
		directSubject:  "$JS.API.DIRECT.GET." + s.streamName(),
		barrierSubject: s.keys.barrier(),
		js:             js,
		batchAnswer:    s.batchAnswer,
	}
	cfg := s.bucketConfig.Load()
	if cfg == nil {
		prepared, err := s.prepareBucket(ctx, js)
		if err != nil {
			return nil, err
		}
		if err := s.checkLayout(ctx, sess); err != nil {
			return nil, err
		}
		cfg = &prepared
		s.bucketConfig.Store(cfg)
	}
	sess.window = cfg.Duplicates
	return sess, nil
}

// Disconnect stops the store: calls that come after it fail with
// [offsetstore.ErrNotConnected], and it waits for the calls in flight to
// return. It returns nil only when no write, reset or deletion the store
// sent can be stored after it returns: if one was sent but never
// acknowledged (its context ended first, say), it sends one more message
// to the bucket, on the same connection, and waits for the servers to
// acknowledge it, which they do once they have stored every message the
// connection sent before it, or dropped it for good.
//
// Otherwise it returns an error wrapping [ErrWritesInDoubt]: when ctx ends
// first (a call whose context has no deadline waits at most 10 seconds),
// or when the connection was lost and opened again since such a write was
// sent, since a server may still receive it from the old one. It then
// closes the connection all the same, which fails the calls still waiting
// for an answer with [offsetstore.ErrNotConnected], their changes stored
// or not.
//
// It closes the connection the store opened; the connection of [WithConn]
// stays open. Disconnecting a store that is not connected does nothing.
func (s *OffsetStore) Disconnect(ctx context.Context) error {
	if err := check(ctx, "Disconnect", nil); err != nil {
		return err
	}
	if err := s.lockConnecting(ctx); err != nil {
		return opError("Disconnect", err)
	}
	defer s.unlockConnecting()
	sess := s.sess.Swap(nil)
	if sess == nil {
		return nil
	}
	err := sess.drain(ctx)
	if err == nil {
		err = s.settle(ctx, sess)
	}
	if sess.owned {
		sess.nc.Close()
	}
	if err != nil {
		return opError("Disconnect", err)
	}
	return nil
}

// Ping connects the store if it is not connected, as eGo expects of a
// store it pings before a projection starts; on a connected store, it
// checks that a server answers, and fails if none does.
func (s *OffsetStore) Ping(ctx context.Context) error {
	if err := check(ctx, "Ping", s.optErr); err != nil {
		return err
	}
	sess := s.sess.Load()
	if sess == nil {
		return s.connect(ctx, "Ping")
	}
	pctx, cancel := withCallTimeout(ctx)
	defer cancel()
	if err := sess.nc.FlushWithContext(pctx); err != nil {
		return s.translate(ctx, "Ping", sess, err)
	}
	return nil
}

// session returns the session calls of op use, counted as in flight
// until they call its leave, or the error they return when the store is
// not connected.
func (s *OffsetStore) session(op string) (*session, error) {
	sess := s.sess.Load()
	if sess == nil || !sess.enter() {
		return nil, opError(op, offsetstore.ErrNotConnected)
	}
	return sess, nil
}

// enter counts a call as in flight, unless the session is closing.
func (sess *session) enter() bool {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.closing {
		return false
	}
	sess.calls.Add(1)
	return true
}

// leave ends a call that enter counted.
func (sess *session) leave() { sess.calls.Done() }

// drain refuses new calls and waits for those in flight to end, or for
// ctx to end first.
func (sess *session) drain(ctx context.Context) error {
	sess.mu.Lock()
	sess.closing = true
	sess.mu.Unlock()
	// No call enters once closing is set, so Wait races no Add.
	idle := make(chan struct{})
	go func() {
		sess.calls.Wait()
		close(idle)
	}()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: calls were still in flight when the context ended (%w): a write among them may still be stored", ErrWritesInDoubt, ctx.Err())
	}
}

// WriteOffset stores offset as the current offset of its projection and
// shard, replacing any offset stored before, unless the store was made
// [WithMonotonicWrites] and a higher value is stored. It returns nil only
// once the stream's leader acknowledged the write, which it does once a
// majority of the bucket's replicas hold it.
//
// Each call is one message to the shard's key, sent from its caller's
// goroutine: concurrent calls are not grouped (see the package
// documentation for why). The first write of a session to a key it has
// not seen hold a message, read or written, is an atomic batch of two:
// the message and the projection's fence, since it may add a shard to
// the projection.
//
// If ctx ends first, WriteOffset returns at once with ctx's error; the
// write may still be stored if it was already sent.
func (s *OffsetStore) WriteOffset(ctx context.Context, offset *egopb.Offset) error {
	const op = "WriteOffset"
	if err := check(ctx, op, errors.Join(s.optErr, checkOffset(offset))); err != nil {
		return err
	}
	sess, err := s.session(op)
	if err != nil {
		return err
	}
	defer sess.leave()
	name, shard := offset.ProjectionName, offset.ShardNumber
	v := shardValue{value: offset.Value, timestamp: offset.Timestamp}
	subject := s.keys.shard(name, shard)
	switch _, known := sess.known.Load(subject); {
	case s.monotonic:
		err = s.writeMonotonic(ctx, sess, name, shard, v)
	case known:
		_, err = sess.publish(ctx, &nats.Msg{Subject: subject, Data: v.encode()})
	default:
		_, err = sess.publishBatch(ctx, []*nats.Msg{{Subject: subject, Data: v.encode()}, s.fenceMsg(name, op)})
	}
	if err != nil {
		return s.translate(ctx, op, sess, err)
	}
	sess.known.Store(subject, struct{}{})
	return nil
}

// fenceMsg is a message to name's fence, written by op. A batch that may
// add a shard writes it after the shard, so that the fence's sequence is
// above that of every shard it let in (see [OffsetStore.listProjection]).
func (s *OffsetStore) fenceMsg(name, op string) *nats.Msg {
	return &nats.Msg{Subject: s.keys.fence(name), Data: []byte(op), Header: nats.Header{}}
}

// writeMonotonic writes v to name's shard unless a higher value is stored,
// on the condition that the shard's message is still the one it compared
// with (Nats-Expected-Last-Subject-Sequence), which every reset and
// deletion of the shard replaces: so no write, reset or deletion, from
// this process or another, can come in between. The shard is read from
// the stream's leader without verifying it, since the condition checks
// what was read; a value that would refuse the write is read again,
// verified, so that a refusal never rests on a leader's stale state.
func (s *OffsetStore) writeMonotonic(ctx context.Context, sess *session, name string, shard uint64, v shardValue) error {
	ctx, cancel := withCallTimeout(ctx)
	defer cancel()
	subject := s.keys.shard(name, shard)
	confirm := false
	for {
		m, err := s.read(ctx, sess, subject, confirm)
		if err != nil {
			return err
		}
		stored, ok, err := valueOf(m)
		if err != nil {
			return err
		}
		if ok && v.value < stored.value {
			if confirm {
				return belowStored(name, shard, v.value, stored.value)
			}
			confirm = true
			continue
		}
		msg := &nats.Msg{Subject: subject, Data: v.encode(), Header: nats.Header{}}
		msg.Header.Set(hdrExpectedSubjSeq, seqOf(m))
		if m == nil {
			// No message yet: the write may add a shard.
			_, err = sess.publishBatch(ctx, []*nats.Msg{msg, s.fenceMsg(name, "WriteOffset")})
		} else {
			_, err = sess.publish(ctx, msg)
		}
		if !conflict(err) {
			return err
		}
		confirm = false
	}
}

// conflict reports whether err says that a write's condition failed: the
// subject it named changed since it was read, or is about to. The caller
// reads again and tries again.
func conflict(err error) bool {
	code := errCode(err)
	return code == errCodeWrongLastSequence || code == errCodeWrongLastSeqConst
}

func seqOf(m *message) string {
	if m == nil {
		return "0"
	}
	return strconv.FormatUint(m.seq, 10)
}

// read returns the last message of subject, from the stream's leader,
// verified if linearizable is set (see [session.verify]), and remembers
// that the key holds one.
func (s *OffsetStore) read(ctx context.Context, sess *session, subject string, linearizable bool) (m *message, err error) {
	if linearizable {
		m, err = sess.lastLinearizable(ctx, subject, s.keys.anyBucket(subject))
	} else {
		m, err = sess.last(ctx, subject)
	}
	if m != nil {
		sess.known.Store(subject, struct{}{})
	}
	return m, err
}

// GetCurrentOffset returns the offset stored for projectionID, or nil, nil
// when none is, which eGo reads as "start from the beginning".
//
// It is linearizable: it returns every write, reset and deletion
// acknowledged before it was called, through any server. It stores a
// message on the bucket's barrier key, which only a leader in touch with
// a majority of the replicas can get acknowledged, then reads the shard's
// key from a server that has applied it: two round trips, one after the
// other (see the package documentation). Through a leader cut off from
// the others it waits, and fails with ctx, rather than return what that
// leader holds. A request that gets no answer within a second, as when
// its leader vanished, is sent again.
func (s *OffsetStore) GetCurrentOffset(ctx context.Context, projectionID *egopb.ProjectionId) (*egopb.Offset, error) {
	const op = "GetCurrentOffset"
	if err := check(ctx, op, errors.Join(s.optErr, checkID(projectionID))); err != nil {
		return nil, err
	}
	sess, err := s.session(op)
	if err != nil {
		return nil, err
	}
	defer sess.leave()
	name, shard := projectionID.ProjectionName, projectionID.ShardNumber
	rctx, cancel := withCallTimeout(ctx)
	defer cancel()
	m, err := s.read(rctx, sess, s.keys.shard(name, shard), true)
	if err != nil {
		return nil, s.translate(ctx, op, sess, err)
	}
	v, ok, err := valueOf(m)
	switch {
	case err != nil:
		return nil, s.translate(ctx, op, sess, err)
	case !ok:
		return nil, nil
	}
	return &egopb.Offset{ProjectionName: name, ShardNumber: shard, Value: v.value, Timestamp: v.timestamp}, nil
}

func (s *OffsetStore) clock() time.Time {
	if s.now == nil {
		return time.Now()
	}
	return s.now()
}

func (s *OffsetStore) lockConnecting(ctx context.Context) error {
	select {
	case s.connecting <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *OffsetStore) unlockConnecting() { <-s.connecting }

// withCallTimeout gives ctx a deadline of [callTimeout] if it has none.
func withCallTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, callTimeout)
}
