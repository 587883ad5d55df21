package nats

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
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
// such a condition, stores a message first, then reads them all in one
// direct get, from a server that had stored that message (see
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
			msgs, upTo, err := sess.directLastOf(ctx, []string{subject, sess.barrierSubject})
			m := msgs[subject]
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

// maxDirectKeys is the most messages a server returns for one direct get
// of many subjects (maxAllowedResponses in server/stream.go).
const maxDirectKeys = 1024

// errAnswerCut says that a server cut a direct get's answer short, once
// it reached the server's max_pending bytes.
var errAnswerCut = errors.New("nats server: a read of many keys was cut short")

// errTooManyKeys says that a direct get matched more keys than a server
// returns in one answer.
var errTooManyKeys = fmt.Errorf("nats server: more than %d keys match one read", maxDirectKeys)

// directLastOf asks, with one direct get (a multi_last batch), for the
// last message of every subject matching filters, and returns them by
// subject, with the sequence up to which the server that answered read
// them, 0 if it did not say. A server reads them at one instant: it holds
// the stream's lock, which every write and atomic batch takes to store,
// while it reads (getDirectMulti in server/stream.go, from 2.12 on).
func (sess *session) directLastOf(ctx context.Context, filters []string) (msgs map[string]*message, upTo uint64, err error) {
	body, err := json.Marshal(struct {
		MultiLast []string `json:"multi_last"`
	}{filters})
	if err != nil {
		return nil, 0, err
	}
	// Each message of the answer, and its end.
	capacity := maxDirectKeys + 1
	if !slices.ContainsFunc(filters, func(f string) bool { return strings.ContainsAny(f, "*>") }) {
		capacity = len(filters) + 1
	}
	err = sess.retry(ctx, true, func(ctx context.Context) error {
		msgs, upTo = make(map[string]*message), 0
		inbox := sess.nc.NewInbox()
		// A channel of its own, sized for the answer (the client drops
		// what does not fit, as a slow consumer's): a synchronous
		// subscription's holds 65,536 for any read.
		replies := make(chan *nats.Msg, capacity)
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
			switch status := msg.Header.Get("Status"); status {
			case "":
				subject := msg.Header.Get("Nats-Subject")
				seq, err := strconv.ParseUint(msg.Header.Get("Nats-Sequence"), 10, 64)
				if err != nil {
					return fmt.Errorf("nats server: direct get answered without a sequence: %w", err)
				}
				msgs[subject] = &message{subject: subject, seq: seq, op: msg.Header.Get(hdrOperation), data: msg.Data}
			case "204": // end of the batch
				// A server stops once its answer reaches max_pending
				// bytes, and says how many it left out.
				if left := msg.Header.Get("Nats-Num-Pending"); left != "" && left != "0" {
					return fmt.Errorf("%w: it answered %d keys and left %s out: raise the servers' max_pending", errAnswerCut, len(msgs), left)
				}
				upTo, _ = strconv.ParseUint(msg.Header.Get("Nats-UpTo-Sequence"), 10, 64)
				return nil
			case "404": // no message matches, or one failed to load: ask again
				clear(msgs)
				return nil
			case "413":
				return errTooManyKeys
			case "503":
				return errNoDirect
			default:
				return fmt.Errorf("nats server: direct get: status %s %s", status, msg.Header.Get("Description"))
			}
		}
	})
	return msgs, upTo, err
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
// and the return. It asks every server that holds the stream, with one
// direct get, for them, until one answers that it read them up to the
// barrier's sequence or later, as [session.lastLinearizable] does: a
// server reads them at one instant, which, being at or after the
// barrier, is after the call. Writes made meanwhile do not hold it up. A
// stream that takes no direct gets, or more than 1024 keys matching
// filter, fail it (see [errNoDirect], [errTooManyKeys]).
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
	return sess.lastAfter(ctx, filter, b)
}

// lastAfter returns the last message of every subject matching filter,
// in the order of their sequences, as a server that had stored the
// message of sequence b read them (see [session.scanAfter]).
func (sess *session) lastAfter(ctx context.Context, filter string, b uint64) ([]*message, error) {
	// The barrier key too, which a server recent enough holds, so that
	// one has something to answer for a filter that matches nothing.
	filters := []string{filter, sess.barrierSubject}
	if strings.HasSuffix(filter, ">") {
		filters = filters[:1]
	}
	for wait := time.Millisecond; ; wait = min(2*wait, retryWait) {
		msgs, upTo, err := sess.directLastOf(ctx, filters)
		switch {
		case errors.Is(err, errNoDirect):
			// No replica answers direct gets: they are turned off, or
			// the replicas are changing or recovering, for a moment.
		case err != nil:
			return nil, err
		case upTo >= b:
			out := slices.Collect(maps.Values(msgs))
			slices.SortFunc(out, func(a, b *message) int { return cmp.Compare(a.seq, b.seq) })
			return out, nil
		}
		select {
		case <-ctx.Done():
			if errors.Is(err, errNoDirect) {
				return nil, fmt.Errorf("%w: reads of many keys need them; if allow_direct is off, turn it back on (nats stream edit --allow-direct): %w", err, ctx.Err())
			}
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}
