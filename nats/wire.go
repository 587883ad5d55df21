package nats

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
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
	hdrMsgID            = "Nats-Msg-Id"
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
	// Total is how many subjects match the filter; a server lists
	// 100,000 at most in one answer (JSMaxSubjectDetails), from Offset.
	Total  int `json:"total"`
	Offset int `json:"offset"`
}

// streamInfo asks for the stream's information with the subjects that
// match filter, which its leader answers from what it has applied. The
// state is the first answer's; the subjects, every answer's, asked page
// by page until none is left out: the store removes no key, so a key
// added between two pages is listed, if anything, twice, never skipped.
func (sess *session) streamInfo(ctx context.Context, filter string) (*streamInfoResponse, error) {
	var out *streamInfoResponse
	for {
		offset := 0
		if out != nil {
			offset = len(out.State.Subjects)
		}
		page, err := sess.streamInfoPage(ctx, filter, offset)
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = page
		} else {
			maps.Copy(out.State.Subjects, page.State.Subjects)
		}
		if len(page.State.Subjects) == 0 || len(out.State.Subjects) >= page.Total {
			return out, nil
		}
	}
}

func (sess *session) streamInfoPage(ctx context.Context, filter string, offset int) (*streamInfoResponse, error) {
	body, err := json.Marshal(struct {
		SubjectsFilter string `json:"subjects_filter"`
		Offset         int    `json:"offset,omitempty"`
	}{filter, offset})
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
//
// An answer that refuses the batch is not proof that it was not stored:
// a server cut off from the others that still believes it leads the
// stream keeps listening on the bucket's subjects, and once the cut
// heals it gets the batch too and answers first, from its stale state
// (a failed condition, an incomplete batch), while the real leader
// stores the batch. So each try carries a message id of its own
// (Nats-Msg-Id, on its last message), and after any refusal publishBatch
// asks the stream whether that id was stored (see [session.landed]):
// if it was, the batch landed and publishBatch returns its sequence; if
// not, the id is taken, so that the batch can no longer land, and the
// refusal stands: a conflict is returned, for the caller to read again,
// and a refusal the servers would not repeat is tried again with a new
// id.
func (sess *session) publishBatch(ctx context.Context, msgs []*nats.Msg) (uint64, error) {
	var seq uint64
	err := sess.retry(ctx, false, func(ctx context.Context) error {
		id := batchID()
		sent, epoch := time.Now(), sess.nc.Stats().Reconnects
		var err error
		seq, err = sess.publishBatchOnce(ctx, msgs, id)
		if sess.batchAnswer != nil {
			seq, err = sess.batchAnswer(seq, err)
		}
		var refused *apiError
		if !errors.As(err, &refused) {
			return err
		}
		stored, ok, lerr := sess.landed(ctx, id, sent)
		switch {
		case lerr != nil:
			// The batch may still be on its way to being stored; the
			// refusal is not wrapped, so that it is not taken for one
			// the servers would not repeat and sent again.
			sess.doubt(epoch)
			return fmt.Errorf("a batch was refused (%v), and whether it was stored anyway, as when a server cut off from the others answers first, is unknown: %w", err, lerr)
		case ok:
			seq = stored
			return nil
		}
		return err
	})
	return seq, err
}

// publishBatchOnce stores msgs in the stream as one atomic batch: all of
// them, in order, or none, and no reader sees some and not the others.
// It sends all but the last without waiting, and the last as the commit,
// whose acknowledgement carries the last message's sequence; the last
// carries id as its message id, for [session.landed]. After a lost
// acknowledgement the batch may or may not be stored.
func (sess *session) publishBatchOnce(ctx context.Context, msgs []*nats.Msg, id string) (uint64, error) {
	for i, m := range msgs {
		if m.Header == nil {
			m.Header = nats.Header{}
		}
		m.Header.Set(hdrBatchID, id)
		m.Header.Set(hdrBatchSeq, strconv.Itoa(i+1))
		if i == len(msgs)-1 {
			m.Header.Set(hdrBatchCommit, "1")
			m.Header.Set(hdrMsgID, id)
			break
		}
		if err := sess.nc.PublishMsg(m); err != nil {
			return 0, sendError(err)
		}
	}
	return sess.publishOnce(ctx, msgs[len(msgs)-1])
}

// landed reports whether a message with the message id id, the last of
// a batch sent at sent, was stored, and its sequence if so. It asks with
// a message to the barrier key that carries the same id: the stream's
// leader, which checks ids before conditions and keeps every id stored
// within the stream's duplicate window, answers that it is a duplicate,
// with the sequence of the message that holds the id, or stores it, so
// that a message with that id can no longer be stored (the batch, sent
// before on the same connection, reached every leader before it). Only a
// leader that a majority of the replicas follow acknowledges a message,
// so an answer a stale server gives cannot pass for one: such answers
// are errors, and landed asks again, as it does when no answer comes
// within [tryTimeout] or the id is still being stored. It gives up, with
// an error, once half of the duplicate window has passed since sent,
// after which the leader may have forgotten the id.
func (sess *session) landed(ctx context.Context, id string, sent time.Time) (uint64, bool, error) {
	probe := &nats.Msg{Subject: sess.barrierSubject, Header: nats.Header{}}
	probe.Header.Set(hdrMsgID, id)
	ctx, cancel := context.WithDeadline(ctx, sent.Add(sess.window/2))
	defer cancel()
	// mayHold is set once a probe may have been stored, though its
	// answer never came: a later answer that the id is held may then
	// point to the probe, not the batch.
	mayHold := false
	for {
		tctx, tcancel := context.WithTimeout(ctx, tryTimeout)
		reply, err := sess.nc.RequestMsgWithContext(tctx, probe)
		tcancel()
		var ack pubAck
		if err == nil {
			if err = json.Unmarshal(reply.Data, &ack); err == nil && ack.Error != nil {
				err = ack.Error
			}
		}
		if err == nil {
			if !ack.Duplicate {
				return 0, false, nil
			}
			if !mayHold {
				return ack.Sequence, true, nil
			}
			m, err := sess.get(ctx, msgGetRequest{Seq: ack.Sequence})
			switch {
			case err != nil:
				return 0, false, err
			case m == nil:
				return 0, false, fmt.Errorf("message %d, which holds the id, is gone: it was the batch's or an earlier ask's", ack.Sequence)
			}
			return ack.Sequence, m.subject != sess.barrierSubject, nil
		}
		if !unsent(err) {
			mayHold = true
		}
		select {
		case <-ctx.Done():
			return 0, false, fmt.Errorf("%w: the stream did not say whether it holds id %s: %w", ctx.Err(), id, err)
		case <-time.After(retryWait):
		}
	}
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
