package nats

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
)

// This file speaks JetStream's API on the wire, where the jetstream
// package would answer from any replica (direct gets) or hide what the
// store needs (which server answered, the error code).

// Error codes of JetStream's API that the store acts on.
const (
	errCodeClusterNotAvailable = 10008 // no leader right now
	errCodeNoMessage           = 10037
	errCodeWrongLastSequence   = 10071
	errCodeWrongLastSeqConst   = 10164 // a condition on a subject a write in flight will change
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

// retryable reports whether err says that the request was not taken, so
// that sending it again is safe: the connection is down, reconnecting
// (with no reconnect buffer, nothing was sent), nobody listens on the
// subject (no server up, or the stream not yet back), or the stream has
// no leader for now.
func retryable(err error) bool {
	return errors.Is(err, nats.ErrReconnectBufExceeded) || errors.Is(err, nats.ErrNoResponders) ||
		errCode(err) == errCodeClusterNotAvailable
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
// which includes every write it acknowledged. A stream of one replica has
// no other server to answer: its direct gets, lighter for the server, are
// asked instead. A missing message is nil, nil.
func (sess *session) get(ctx context.Context, req msgGetRequest) (*message, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	if sess.directSubject != "" {
		return sess.directGet(ctx, body)
	}
	var resp msgGetResponse
	if err := sess.api(ctx, sess.getSubject, body, &resp); err != nil {
		return nil, err
	}
	switch {
	case resp.Error != nil && resp.Error.ErrCode == errCodeNoMessage:
		return nil, nil
	case resp.Error != nil:
		return nil, resp.Error
	case resp.Message == nil:
		return nil, errors.New("nats server: message get answered without a message")
	}
	m := resp.Message
	return &message{subject: m.Subject, seq: m.Sequence, op: headerValue(m.Header, hdrOperation), data: m.Data}, nil
}

// directGet asks $JS.API.DIRECT.GET, which answers with the message
// itself, its subject and sequence in headers.
func (sess *session) directGet(ctx context.Context, body []byte) (*message, error) {
	var out *message
	err := sess.retry(ctx, func(ctx context.Context) error {
		msg, err := sess.nc.RequestWithContext(ctx, sess.directSubject, body)
		if err != nil {
			return err
		}
		switch status := msg.Header.Get("Status"); status {
		case "":
		case "404":
			out = nil
			return nil
		default:
			return fmt.Errorf("nats server: direct get: status %s %s", status, msg.Header.Get("Description"))
		}
		seq, err := strconv.ParseUint(msg.Header.Get("Nats-Sequence"), 10, 64)
		if err != nil {
			return fmt.Errorf("nats server: direct get answered without a sequence: %w", err)
		}
		out = &message{subject: msg.Header.Get("Nats-Subject"), seq: seq, op: msg.Header.Get(hdrOperation), data: msg.Data}
		return nil
	})
	return out, err
}

// last returns the last message on subject, or nil.
func (sess *session) last(ctx context.Context, subject string) (*message, error) {
	return sess.get(ctx, msgGetRequest{LastFor: subject})
}

// scan returns the last message of every subject matching filter, in the
// order of their sequences, read from the leader one message at a time.
// The result is the state at one instant: the answer that found no more
// messages. Every message stored then with a sequence up to the last one
// read was read, in order, and none was stored after it, since sequences
// only grow; a subject read twice keeps its later message.
func (sess *session) scan(ctx context.Context, filter string) ([]*message, error) {
	var out []*message
	at := make(map[string]int)
	for seq := uint64(1); ; {
		m, err := sess.get(ctx, msgGetRequest{Seq: seq, NextFor: filter})
		if err != nil {
			return nil, err
		}
		if m == nil {
			break
		}
		if i, ok := at[m.subject]; ok {
			out[i] = nil
		}
		at[m.subject] = len(out)
		out = append(out, m)
		seq = m.seq + 1
	}
	kept := out[:0]
	for _, m := range out {
		if m != nil {
			kept = append(kept, m)
		}
	}
	return kept, nil
}

// api sends a request to JetStream's API and decodes the answer into
// resp, retrying while no server listens or the stream has no leader.
func (sess *session) api(ctx context.Context, subject string, body []byte, resp any) error {
	return sess.retry(ctx, func(ctx context.Context) error {
		msg, err := sess.nc.RequestWithContext(ctx, subject, body)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(msg.Data, resp); err != nil {
			return fmt.Errorf("nats server: cannot read the answer to %s: %w", subject, err)
		}
		var probe struct {
			Error *apiError `json:"error"`
		}
		if json.Unmarshal(msg.Data, &probe) == nil && probe.Error != nil && retryable(probe.Error) {
			return probe.Error
		}
		return nil
	})
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
	err := sess.retry(ctx, func(ctx context.Context) error {
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

// publishBatch stores msgs in the stream as one atomic batch: all of them,
// in order, or none, and no reader sees some and not the others. It sends
// all but the last without waiting, and the last as the commit, whose
// acknowledgement carries the last message's sequence. A batch is sent
// once: after a lost acknowledgement it may or may not be stored.
func (sess *session) publishBatch(ctx context.Context, msgs []*nats.Msg) (uint64, error) {
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

// retry calls try until it succeeds, fails with an error that is not
// [retryable], or ctx ends. A ctx without a deadline gets [callTimeout].
func (sess *session) retry(ctx context.Context, try func(context.Context) error) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, callTimeout)
		defer cancel()
	}
	for {
		err := try(ctx)
		if err == nil || !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ctx.Err(), err)
		case <-time.After(retryWait):
		}
	}
}
