package nats

import (
	"context"
	"errors"
	"fmt"

	"github.com/ego-contrib/offsetstore"
)

var (
	// ErrServerVersion is returned by [OffsetStore.Connect] and
	// [OffsetStore.Ping] when the server they reach is older than
	// nats-server 2.12, which lacks the atomic batches the store's resets
	// and multi-shard changes rely on. The error names the version.
	ErrServerVersion = errors.New("nats-server too old for the offset store")

	// ErrBucketSettings is returned by [OffsetStore.Connect] and
	// [OffsetStore.Ping] when the bucket's stream has a setting under
	// which an acknowledged offset could be lost or go back, or without
	// which the store cannot keep its promises (see the package
	// documentation for the list). The error names the setting and what
	// to change.
	ErrBucketSettings = errors.New("bucket settings unfit for offsets")

	// ErrWritesInDoubt is returned by [OffsetStore.Disconnect] when a
	// write, reset or deletion the store sent was never acknowledged, and
	// the store could not make sure that it will not be stored after
	// Disconnect returns. The error says how many and why.
	ErrWritesInDoubt = errors.New("writes sent but not acknowledged may still be stored")
)

// opError puts the package and the method in front of err, so that a
// caller's log says where an error came from; errors.Is still sees err.
func opError(op string, err error) error {
	return fmt.Errorf("nats: %s: %w", op, err)
}

// check returns the error op must return before doing anything, in the
// contract's order: ctx's if it is done, else argErr, what checking op's
// arguments found.
func check(ctx context.Context, op string, argErr error) error {
	if err := ctx.Err(); err != nil {
		return opError(op, err)
	}
	if argErr != nil {
		return opError(op, argErr)
	}
	return nil
}

// belowStored is the error of a write of value to name's shard that
// would lower the stored value (see [WithMonotonicWrites]).
func belowStored(name string, shard uint64, value, stored int64) error {
	return fmt.Errorf("%w: projection %q shard %d: value %d is below the stored value %d",
		offsetstore.ErrOffsetRegression, name, shard, value, stored)
}

// translate turns err, met by op, into the contract's errors, keeping err
// wrapped: ctx's error if ctx is done, since then the client gave up
// because of it; [offsetstore.ErrNotConnected] if the store was
// disconnected meanwhile.
func (s *OffsetStore) translate(ctx context.Context, op string, sess *session, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return opError(op, fmt.Errorf("%w: %w", ctxErr, err))
	}
	if sess != nil && s.sess.Load() != sess {
		return opError(op, fmt.Errorf("%w: disconnected during the call: %w", offsetstore.ErrNotConnected, err))
	}
	return opError(op, err)
}
