package postgres

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

var errDeadlock = &pgconn.PgError{Code: codeDeadlockDetected, Message: "deadlock detected"}

// TestRetry_GivesUpAfterMaxAttempts checks that a conflict the server
// keeps reporting is returned after maxAttempts attempts, saying so, with
// the server's error inside; and that any other error is returned at once.
func TestRetry_GivesUpAfterMaxAttempts(t *testing.T) {
	calls := 0
	err := backoff{first: time.Microsecond, most: time.Microsecond}.retry(t.Context(), func() error {
		calls++
		return errDeadlock
	})
	var pgErr *pgconn.PgError
	if calls != maxAttempts || !errors.As(err, &pgErr) || pgErr.Code != codeDeadlockDetected || !strings.Contains(err.Error(), "5 attempts") {
		t.Errorf("retry(ctx, fn) with fn always failing with a deadlock = %v after %d calls; want the deadlock, saying it was tried 5 times, after %d calls", err, calls, maxAttempts)
	}
	other := errors.New("other")
	calls = 0
	err = backoff{first: time.Microsecond, most: time.Microsecond}.retry(t.Context(), func() error {
		calls++
		return other
	})
	if calls != 1 || err != other {
		t.Errorf("retry(ctx, fn) with fn failing for another reason = %v after %d calls; want that error after 1 call", err, calls)
	}
}

// TestRetry_PausesBetweenAttempts checks that an attempt after a conflict
// waits at least half of its backoff's step: two transactions that
// conflicted, run again at once, would likely conflict again.
func TestRetry_PausesBetweenAttempts(t *testing.T) {
	const step = 20 * time.Millisecond
	var calls []time.Time
	err := backoff{first: step, most: step}.retry(t.Context(), func() error {
		calls = append(calls, time.Now())
		if len(calls) < 3 {
			return errDeadlock
		}
		return nil
	})
	if err != nil || len(calls) != 3 {
		t.Fatalf("retry(ctx, fn) with fn failing twice with a deadlock = %v after %d calls; want <nil> after 3", err, len(calls))
	}
	for i := 1; i < len(calls); i++ {
		if gap := calls[i].Sub(calls[i-1]); gap < step/2 {
			t.Errorf("attempt %d began %v after attempt %d failed with a deadlock; want at least %v", i+1, gap, i, step/2)
		}
	}
}

// TestRetry_ContextEndsThePause checks that the pause before another
// attempt ends with the caller's context, which gets the last error.
func TestRetry_ContextEndsThePause(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	calls := 0
	done := make(chan error, 1)
	go func() {
		done <- backoff{first: time.Hour, most: time.Hour}.retry(ctx, func() error {
			calls++
			return errDeadlock
		})
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, errDeadlock) || calls != 1 {
			t.Errorf("retry(ctx, fn), ctx cancelled in the pause after a deadlock = %v after %d calls; want the deadlock after 1 call", err, calls)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("retry(ctx, fn) has not returned 10s after ctx was cancelled in its pause of an hour; want it to return when ctx ends")
	}
}

// TestBackoff_Pause checks the pauses: between half and all of a step that
// doubles from first up to most, and not all alike.
func TestBackoff_Pause(t *testing.T) {
	b := backoff{first: 4 * time.Millisecond, most: 20 * time.Millisecond}
	for attempt, step := range map[int]time.Duration{1: 4 * time.Millisecond, 2: 8 * time.Millisecond, 3: 16 * time.Millisecond, 4: 20 * time.Millisecond, 80: 20 * time.Millisecond} {
		seen := map[time.Duration]bool{}
		for range 100 {
			p := b.pause(attempt)
			if p < step/2 || p > step {
				t.Errorf("backoff%+v.pause(%d) = %v; want between %v and %v", b, attempt, p, step/2, step)
				break
			}
			seen[p] = true
		}
		if len(seen) == 1 {
			t.Errorf("backoff%+v.pause(%d) returned %d distinct pauses in 100 calls; want them jittered", b, attempt, len(seen))
		}
	}
}
