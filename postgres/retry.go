package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// maxAttempts bounds how often a statement is run when the server rolls it
// back for a deadlock or a serialization failure.
const maxAttempts = 5

// A backoff spaces the attempts of [backoff.retry]: the pause after
// attempt n is a random time between half and all of first·2^(n-1), at
// most most. Without it the transactions that conflicted, run again at
// once, would likely conflict again; the randomness keeps two that retry
// together from meeting again in step.
type backoff struct {
	first, most time.Duration
}

// retryBackoff is the store's: the four pauses of five attempts add up to
// between 37.5 and 75 milliseconds, little beside the second the server
// waits (deadlock_timeout) before it reports a deadlock.
var retryBackoff = backoff{first: 5 * time.Millisecond, most: 40 * time.Millisecond}

// pause returns how long to wait after the attempt-th attempt failed.
func (b backoff) pause(attempt int) time.Duration {
	step := b.first
	for i := 1; i < attempt && step < b.most; i++ {
		step *= 2
	}
	step = min(step, b.most)
	return step/2 + rand.N(step/2+1)
}

// retry calls fn until it succeeds, fails for another reason than
// [retryable], ctx ends or it has run maxAttempts times, pausing after
// each failure as retryBackoff says. It returns fn's last error.
func retry(ctx context.Context, fn func() error) error {
	return retryBackoff.retry(ctx, fn)
}

func (b backoff) retry(ctx context.Context, fn func() error) error {
	for attempt := 1; ; attempt++ {
		err := fn()
		switch {
		case err == nil || !retryable(err):
			return err
		case attempt == maxAttempts:
			return fmt.Errorf("gave up after %d attempts, each rolled back by the server for a deadlock or a serialization failure, or refused by a server that could not write: %w", maxAttempts, err)
		}
		pause := time.NewTimer(b.pause(attempt))
		select {
		case <-pause.C:
		case <-ctx.Done():
			pause.Stop()
			return err
		}
	}
}
