package nats

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// This file speaks JetStream's API on the wire, where the jetstream
// package would answer from any replica (direct gets) or hide what the
// store needs (which server answered, the error code).

// Error codes of JetStream's API that the store acts on.
const (
	errCodeClusterNotAvailable  = 10008 // no leader right now
	errCodeNoMessage            = 10037
	errCodeWrongLastSequence    = 10071
	errCodeWrongLastSeqConst    = 10164 // a condition on a subject a write in flight will change
	errCodeBatchIncomplete      = 10176 // the batch's first messages were refused or lost, and it was dropped
	errCodeBatchTooManyInFlight = 10210
)

// Headers the store sets.
const (
	hdrOperation        = "KV-Operation"
	opDelete            = "DEL"
	opPurge             = "PURGE"
	hdrExpectedSubjSeq  = "Nats-Expected-Last-Subject-Sequence"
	hdrExpectedSubjSubj = "Nats-Expected-Last-Subject-Sequence-Subject"
	hdrBatchID          = "Nats-Batch-Id"
	hdrBatchSeq         = "Nats-Batch-Sequence"
	hdrBatchCommit      = "Nats-Batch-Commit"
)

// apiError is an error JetStream's API returned.
type apiError struct {
	Code        int    `json:"code"`
	ErrCode     int    `json:"err_code"`
	Description string `json:"description"`
}

func (e *apiError) Error() string {
	return fmt.Sprintf("nats server: %s (status %d, error code %d)", e.Description, e.Code, e.ErrCode)
}

func errCode(err error) int {
	var apiErr *apiError
	if errors.As(err, &apiErr) {
		return apiErr.ErrCode
	}
	return 0
}

// retryable reports whether err says that the server did not take the
// request, so that sending it again is safe: the connection is down,
// reconnecting (with no reconnect buffer, nothing was sent), nobody
// listens on the subject (no server up, or the stream not yet back), the
// stream has no leader for now, or an atomic batch was dropped whole
// before it was stored, since its first messages were refused (too many
// batches in flight) or lost.
func retryable(err error) bool {
	if errors.Is(err, nats.ErrReconnectBufExceeded) || errors.Is(err, nats.ErrNoResponders) {
		return true
	}
	switch errCode(err) {
	case errCodeClusterNotAvailable, errCodeBatchIncomplete, errCodeBatchTooManyInFlight:
		return true
	}
	return false
}

// sendError says what err, returned by a publish or a request, means
// when nats.go's words would not.
func sendError(err error) error {
	if errors.Is(err, nats.ErrReconnectBufExceeded) {
		return fmt.Errorf("the connection to the servers is down, reconnecting; nothing was sent: %w", err)
	}
	return err
}

// unsent reports whether err, returned by a request, shows that the
// request never left the client, or that no server took it.
func unsent(err error) bool {
	for _, target := range []error{nats.ErrReconnectBufExceeded, nats.ErrNoResponders, nats.ErrMaxPayload,
		nats.ErrBadSubject, nats.ErrHeadersNotSupported, nats.ErrConnectionDraining, nats.ErrInvalidMsg} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// A message is a stored message: what a get returns.
type message struct {
	subject string
	seq     uint64
	// op is the message's KV-Operation header, "" for a value.
	op   string
	data []byte
}

// deleted reports whether m is a KV delete or purge marker.
func (m *message) deleted() bool {
	return m.op == opDelete || m.op == opPurge
}

// headerValue returns the value of key in a raw header block, or "".
func headerValue(header []byte, key string) string {
	for line := range bytes.SplitSeq(header, []byte("\r\n")) {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if ok && string(bytes.TrimSpace(k)) == key {
			return string(bytes.TrimSpace(v))
		}
	}
	return ""
}

type msgGetRequest struct {
	Seq     uint64 `json:"seq,omitempty"`
	LastFor string `json:"last_by_subj,omitempty"`
	NextFor string `json:"next_by_subj,omitempty"`
}

type msgGetResponse struct {
	Error   *apiError `json:"error"`
	Message *struct {
		Subject  string `json:"subject"`
		Sequence uint64 `json:"seq"`
		Header   []byte `json:"hdrs"`
		Data     []byte `json:"data"`
	} `json:"message"`
}

// get asks the stream's leader, never a replica, for one message: only
// the leader answers $JS.API.STREAM.MSG.GET, from what it has applied,
// which includes every write it acknowledged. Direct gets, which any
// replica answers from what it has applied, are never used. A missing
// message is nil, nil. A get is a read: it is sent again if it gets no
// answer within [tryTimeout], as when its leader vanished.
//
// What it returns is at least as recent as every write acknowledged
// before it was sent only if the server that answers is still the
// leader: see [session.verify].
func (sess *session) get(ctx context.Context, req msgGetRequest) (*message, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	var out *message
	err = sess.retry(ctx, true, func(ctx context.Context) error {
		reply, err := sess.nc.RequestWithContext(ctx, sess.getSubject, body)
		if err != nil {
			return err
		}
		// Each answer is read into a value of its own, so that a try
		// that succeeds after one that failed returns what it read.
		var resp msgGetResponse
		if err := json.Unmarshal(reply.Data, &resp); err != nil {
			return fmt.Errorf("nats server: cannot read the answer to %s: %w", sess.getSubject, err)
		}
		switch {
		case resp.Error != nil && resp.Error.ErrCode == errCodeNoMessage:
			out = nil
			return nil
		case resp.Error != nil:
			return resp.Error
		case resp.Message == nil:
			return errors.New("nats server: message get answered without a message")
		}
		m := resp.Message
		out = &message{subject: m.Subject, seq: m.Sequence, op: headerValue(m.Header, hdrOperation), data: m.Data}
		return nil
	})
	return out, err
}

// lastOfEach returns the last message of each of subjects that has one,
// asking for all of them at once (at most 64 in flight).
func (sess *session) lastOfEach(ctx context.Context, subjects []string) ([]*message, error) {
	msgs := make([]*message, len(subjects))
	errs := make([]error, len(subjects))
	slots := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for i, subject := range subjects {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			msgs[i], errs[i] = sess.last(ctx, subject)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return slices.DeleteFunc(msgs, func(m *message) bool { return m == nil }), nil
}

type streamInfoResponse struct {
	Error *apiError `json:"error"`
	State struct {
		LastSeq  uint64            `json:"last_seq"`
		Subjects map[string]uint64 `json:"subjects"`
	} `json:"state"`
}

// streamInfo asks for the stream's information with the subjects that
// match filter, which its leader answers from what it has applied.
func (sess *session) streamInfo(ctx context.Context, filter string) (*streamInfoResponse, error) {
	body, err := json.Marshal(struct {
		SubjectsFilter string `json:"subjects_filter"`
	}{filter})
	if err != nil {
		return nil, err
	}
	var out *streamInfoResponse
	err = sess.retry(ctx, true, func(ctx context.Context) error {
		reply, err := sess.nc.RequestWithContext(ctx, sess.infoSubject, body)
		if err != nil {
			return err
		}
		var resp streamInfoResponse
		if err := json.Unmarshal(reply.Data, &resp); err != nil {
			return fmt.Errorf("nats server: cannot read the answer to %s: %w", sess.infoSubject, err)
		}
		if resp.Error != nil {
			return resp.Error
		}
		out = &resp
		return nil
	})
	return out, err
}

// last returns the last message on subject, or nil.
func (sess *session) last(ctx context.Context, subject string) (*message, error) {
	return sess.get(ctx, msgGetRequest{LastFor: subject})
}

type pubAck struct {
	Error     *apiError `json:"error"`
	Stream    string    `json:"stream"`
	Sequence  uint64    `json:"seq"`
	Duplicate bool      `json:"duplicate"`
	Count     int       `json:"count"`
}

// publish stores msg in the stream and returns its sequence once the
// stream acknowledged it, retrying while the stream cannot take it (see
// [retryable]), which is safe since the servers did not take it. After a
// lost acknowledgement it returns the error: the message may or may not
// be stored, and sending it again could store it after a later change.
func (sess *session) publish(ctx context.Context, msg *nats.Msg) (uint64, error) {
	var seq uint64
	err := sess.retry(ctx, false, func(ctx context.Context) error {
		var err error
		seq, err = sess.publishOnce(ctx, msg)
		return err
	})
	return seq, err
}

func (sess *session) publishOnce(ctx context.Context, msg *nats.Msg) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	// Read before sending: the message goes on this connection or a
	// later one.
	epoch := sess.nc.Stats().Reconnects
	reply, err := sess.nc.RequestMsgWithContext(ctx, msg)
	if err != nil {
		if !unsent(err) {
			sess.doubt(epoch)
		}
		return 0, sendError(err)
	}
	var ack pubAck
	if err := json.Unmarshal(reply.Data, &ack); err != nil {
		return 0, fmt.Errorf("nats server: cannot read the acknowledgement of a write: %w", err)
	}
	if ack.Error != nil {
		return 0, ack.Error
	}
	return ack.Sequence, nil
}

// publishBatch stores msgs in the stream as one atomic batch, as
// [session.publishBatchOnce] does, and sends it again while the servers
// did not take it (see [retryable]).
func (sess *session) publishBatch(ctx context.Context, msgs []*nats.Msg) (uint64, error) {
	var seq uint64
	err := sess.retry(ctx, false, func(ctx context.Context) error {
		var err error
		seq, err = sess.publishBatchOnce(ctx, msgs)
		return err
	})
	return seq, err
}

// publishBatchOnce stores msgs in the stream as one atomic batch: all of
// them, in order, or none, and no reader sees some and not the others.
// It sends all but the last without waiting, and the last as the commit,
// whose acknowledgement carries the last message's sequence. After a lost
// acknowledgement the batch may or may not be stored.
func (sess *session) publishBatchOnce(ctx context.Context, msgs []*nats.Msg) (uint64, error) {
	id := batchID()
	for i, m := range msgs {
		if m.Header == nil {
			m.Header = nats.Header{}
		}
		m.Header.Set(hdrBatchID, id)
		m.Header.Set(hdrBatchSeq, strconv.Itoa(i+1))
		if i == len(msgs)-1 {
			m.Header.Set(hdrBatchCommit, "1")
			break
		}
		if err := sess.nc.PublishMsg(m); err != nil {
			return 0, sendError(err)
		}
	}
	return sess.publishOnce(ctx, msgs[len(msgs)-1])
}

func batchID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// retryWait is the pause between two tries of a request the server did
// not take; short, since a new leader is usually elected within seconds.
const retryWait = 50 * time.Millisecond

// tryTimeout is how long a request that is safe to send again (a read, or
// a verification) waits for its answer before it is sent again. A request sent
// to a leader that vanishes gets no answer at all: sent again, it reaches
// the leader elected meanwhile, or learns that there is none yet, so that
// the call ends about when a new leader takes over, not when its context
// does. A server answers a healthy request in milliseconds.
const tryTimeout = time.Second

// retry calls try until it succeeds, fails with an error that is not
// [retryable], or ctx ends. With again, try is safe to send twice: each
// try then gets [tryTimeout], and one that got no answer within it is
// tried again. A ctx without a deadline gets [callTimeout].
func (sess *session) retry(ctx context.Context, again bool, try func(context.Context) error) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, callTimeout)
		defer cancel()
	}
	for {
		tctx, cancel := ctx, context.CancelFunc(func() {})
		if again {
			tctx, cancel = context.WithTimeout(ctx, tryTimeout)
		}
		err := try(tctx)
		cancel()
		switch {
		case err == nil:
			return nil
		case retryable(err):
		case again && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded):
			// No answer within tryTimeout: send it again at once.
			continue
		default:
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ctx.Err(), err)
		case <-time.After(retryWait):
		}
	}
}
