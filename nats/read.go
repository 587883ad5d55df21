package nats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
)

// A read of one key asks the stream's leader for the key's last message,
// then verifies it: it stores a message on the bucket's barrier key, on
// the condition that the key's last sequence is still the one it read
// (Nats-Expected-Last-Subject-Sequence, with
// Nats-Expected-Last-Subject-Sequence-Subject naming the key). The
// server that checks the condition is one that believes it leads the
// stream, and it checks it against what it has applied; it proposes the
// message only if the condition holds, and acknowledges it only once a
// majority of the replicas stored it. So an acknowledgement means that
// the server was the leader when it checked, that it had applied every
// write acknowledged before (a leader answers only once it has applied
// every entry its predecessors committed, server/raft.go), and that what
// the read returns was, at that instant, what the keys held: the read
// takes effect then, between its call and its return.
//
// The answers the read verifies may come from anywhere, a leader cut off
// from the others included, which still believes it leads: that server
// cannot get the message acknowledged, and a leader that can sees, in
// the condition, whether the read missed anything. A read through a cut-
// off leader waits, and fails with its context, rather than return what
// that leader holds. When the condition fails, because the key has
// changed since, the read reads again.
//
// The condition names the keys read with a filter whose bucket token is
// a wildcard, $KV.*.<rest>: on the bucket's stream, which holds the
// bucket's subjects only, it matches the keys the read read and no other,
// and, not being the literal subject, it is checked against what the
// server has applied only, not against writes to the keys it has
// proposed and not yet applied, which come after the read. The barrier
// key matches no such filter, so that reads do not fail each other's
// conditions.
//
// A read of many keys, which writes made meanwhile would keep failing
// such a condition, stores a message first, then reads in the order of
// sequences until it reads one at least as recent (see
// [session.scanAfter]).

// verify returns nil once the stream's leader acknowledged a barrier on
// the condition that the last sequence of the messages matching filter
// is last (0: none), and the error of the condition otherwise (see
// [conflict]). The barrier changes nothing a reader sees, so it is sent
// again when it gets no answer within [tryTimeout].
func (sess *session) verify(ctx context.Context, filter string, last uint64) error {
	msg := &nats.Msg{Subject: sess.barrierSubject, Header: nats.Header{}}
	msg.Header.Set(hdrExpectedSubjSubj, filter)
	msg.Header.Set(hdrExpectedSubjSeq, strconv.FormatUint(last, 10))
	return sess.retry(ctx, true, func(ctx context.Context) error {
		_, err := sess.publishOnce(ctx, msg)
		return err
	})
}

// lastLinearizable returns the last message of subject, or nil, as it
// was at one instant between the call and the return. It stores a
// barrier, a message on the barrier key, which only a leader in touch
// with a majority of the replicas can get acknowledged, then asks every
// server that holds the stream, with one direct get, for the last
// message of subject and of the barrier key; the server that answers,
// whichever, says up to which sequence it read them. When that sequence
// is the barrier's or later, the server had applied the barrier, so
// every write acknowledged before it, and subject's message is the one
// it held at that sequence, which was committed after the call. An
// answer read up to an earlier sequence comes from a replica that lags,
// or a leader cut off from the others: the read asks again, until one
// is recent enough or ctx ends. No write made meanwhile holds it up. An
// answer without subject's message cannot tell whether the key had none
// or its message was replaced as the server read it, and a bucket whose
// stream does not allow direct gets has no one to answer them: the read
// is then verified instead (see [session.lastVerified]).
func (sess *session) lastLinearizable(ctx context.Context, subject, filter string) (*message, error) {
	if !sess.noDirect.Load() {
		var b uint64
		err := sess.retry(ctx, true, func(ctx context.Context) error {
			var err error
			b, err = sess.publishOnce(ctx, &nats.Msg{Subject: sess.barrierSubject})
			return err
		})
		if err != nil {
			return nil, err
		}
		// A replica that answers before it applied the barrier is usually
		// a follower a moment behind its leader: ask again soon, then less
		// and less often, as a leader cut off from the others never will.
		for wait := time.Millisecond; ; wait = min(2*wait, retryWait) {
			m, upTo, err := sess.directLast(ctx, subject)
			switch {
			case errors.Is(err, errNoDirect):
				sess.noDirect.Store(true)
			case err != nil:
				return nil, err
			case upTo >= b && m != nil:
				return m, nil
			case upTo < b:
				select {
				case <-ctx.Done():
					return nil, ctx.Err()
				case <-time.After(wait):
				}
				continue
			}
			break
		}
	}
	return sess.lastVerified(ctx, subject, filter)
}

// errNoDirect says that no server answers the stream's direct gets: it
// does not allow them.
var errNoDirect = errors.New("nats server: the stream takes no direct gets")

// directLast asks, with one direct get (a multi_last batch), for the last
// message of subject and of the barrier key, and returns subject's, or
// nil, and the sequence up to which the server that answered read them,
// 0 if it did not say.
func (sess *session) directLast(ctx context.Context, subject string) (m *message, upTo uint64, err error) {
	body, err := json.Marshal(struct {
		MultiLast []string `json:"multi_last"`
	}{[]string{subject, sess.barrierSubject}})
	if err != nil {
		return nil, 0, err
	}
	err = sess.retry(ctx, true, func(ctx context.Context) error {
		m, upTo = nil, 0
		inbox := sess.nc.NewInbox()
		// A channel of its own, of the few messages the answer holds: a
		// synchronous subscription's holds 65,536.
		replies := make(chan *nats.Msg, 4)
		sub, err := sess.nc.ChanSubscribe(inbox, replies)
		if err != nil {
			return err
		}
		defer sub.Unsubscribe()
		if err := sess.nc.PublishRequest(sess.directSubject, inbox, body); err != nil {
			return err
		}
		for {
			var msg *nats.Msg
			select {
			case msg = <-replies:
			case <-ctx.Done():
				return ctx.Err()
			}
			if msg.Header.Get("Status") == "503" {
				return errNoDirect
			}
			switch status := msg.Header.Get("Status"); status {
			case "":
				if msg.Header.Get("Nats-Subject") != subject {
					continue
				}
				seq, err := strconv.ParseUint(msg.Header.Get("Nats-Sequence"), 10, 64)
				if err != nil {
					return fmt.Errorf("nats server: direct get answered without a sequence: %w", err)
				}
				m = &message{subject: subject, seq: seq, op: msg.Header.Get(hdrOperation), data: msg.Data}
			case "204": // end of the batch
				upTo, _ = strconv.ParseUint(msg.Header.Get("Nats-UpTo-Sequence"), 10, 64)
				return nil
			case "404": // no message of either, or one replaced as it was read
				return nil
			default:
				return fmt.Errorf("nats server: direct get: status %s %s", status, msg.Header.Get("Description"))
			}
		}
	})
	return m, upTo, err
}

// lastVerified returns the last message of subject, or nil, as it was
// at one instant between the call and the return (see [session.verify]).
func (sess *session) lastVerified(ctx context.Context, subject, filter string) (*message, error) {
	for {
		m, err := sess.last(ctx, subject)
		if err != nil {
			return nil, err
		}
		var seq uint64
		if m != nil {
			seq = m.seq
		}
		switch err := sess.verify(ctx, filter, seq); {
		case err == nil:
			return m, nil
		case !conflict(err):
			return nil, err
		}
	}
}

// scanAfter stores barrier, a message on a subject matching filter, then
// returns the last message of every subject matching filter, in the
// order of their sequences, as they were at one instant between the call
// and the return. It reads them one at a time, in the order of their
// sequences, from whichever server answers, until it reads one at least
// as recent as the barrier. A server's state is a prefix of the stream,
// so an answer never skips a message of the server's state, and every
// message of the filter up to that one was read, in order: the messages
// read are the filter's state at that one's sequence, which was
// committed after the call, since the barrier was. A server that answers
// that there is no such message has not applied the barrier, which every
// leader in touch with the others has: a leader cut off from them, which
// still believes it leads. The scan asks again until another answers,
// or ctx ends. Writes made meanwhile come after, and do not hold the
// scan up.
func (sess *session) scanAfter(ctx context.Context, filter string, barrier *nats.Msg) ([]*message, error) {
	var b uint64
	err := sess.retry(ctx, true, func(ctx context.Context) error {
		var err error
		b, err = sess.publishOnce(ctx, barrier)
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []*message
	at := make(map[string]int)
	for seq := uint64(1); ; {
		m, err := sess.get(ctx, msgGetRequest{Seq: seq, NextFor: filter})
		if err != nil {
			return nil, err
		}
		if m == nil {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(retryWait):
			}
			continue
		}
		if i, ok := at[m.subject]; ok {
			out[i] = nil
		}
		at[m.subject] = len(out)
		out = append(out, m)
		if m.seq >= b {
			break
		}
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
