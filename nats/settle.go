package nats

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// A write the store sent but never saw acknowledged nor refused (its
// context ended, or the connection closed, while it waited) may still be
// stored later: it may sit in a buffer of the client's, of the network's,
// or of a server's, or in the log of a stream leader that waits for a
// quorum. [OffsetStore.Disconnect] must not return nil while one can.
//
// The servers take the messages one connection sends to a stream in the
// order it sent them: the client's server reads them in order and routes
// them to the stream's leader on one route, whose leader stores, or
// proposes to its replicas, in that order, and acknowledges a message
// once it and the entries before it in its log are stored. So once a
// message sent after the doubtful writes, on the same connection, is
// acknowledged, each of them is stored or never will be: a leader that
// proposed one and lost its leadership before storing it cannot store it
// any more, since the replicas that acknowledged the later message would
// not elect it. That message is a barrier, as reads write (see
// [keys.barrier]). A connection that
// reconnected since proves nothing: a server may still receive the old
// connection's last bytes.

// barrierWait bounds each try of the barrier: one sent to a leader that
// then lost its leadership is dropped and never answered, and the next
// one goes to the new leader.
const barrierWait = time.Second

// doubt counts a write sent on the connection when its reconnect count
// was epoch, and never acknowledged nor refused.
func (sess *session) doubt(epoch uint64) {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.doubts == 0 || epoch < sess.doubtEpoch {
		sess.doubtEpoch = epoch
	}
	sess.doubts++
}

// settle returns nil once no write the session sent can be stored later:
// there is none in doubt, or a barrier sent after them on the same
// connection was acknowledged. Otherwise it returns an error wrapping
// [ErrWritesInDoubt]. It waits at most until ctx ends, or [callTimeout]
// if ctx has no deadline.
func (s *OffsetStore) settle(ctx context.Context, sess *session) error {
	sess.mu.Lock()
	doubts, epoch := sess.doubts, sess.doubtEpoch
	sess.mu.Unlock()
	if doubts == 0 {
		return nil
	}
	ctx, cancel := withCallTimeout(ctx)
	defer cancel()
	inDoubt := func(why string, err error) error {
		return fmt.Errorf("%w: %d writes sent to bucket %q were never acknowledged, and %s: %w", ErrWritesInDoubt, doubts, s.bucket, why, err)
	}
	for {
		if sess.nc.IsClosed() {
			return inDoubt("the connection is closed", nats.ErrConnectionClosed)
		}
		if sess.nc.Stats().Reconnects != epoch {
			return inDoubt("the connection was lost and opened again since, so a server may still receive them from the old one", errReconnected)
		}
		fctx, fcancel := context.WithTimeout(ctx, barrierWait)
		_, err := sess.publishOnce(fctx, &nats.Msg{Subject: s.keys.barrier()})
		fcancel()
		// The barrier orders them only if it went on their connection.
		if err == nil && sess.nc.Stats().Reconnects == epoch {
			return nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = errReconnected
			}
			return inDoubt("a write sent after them to order them was not acknowledged before the context ended", fmt.Errorf("%w: %w", ctx.Err(), err))
		case <-time.After(retryWait):
		}
	}
}

var errReconnected = errors.New("the connection reconnected")
