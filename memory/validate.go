package memory

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
)

// opError puts the package and the method in front of err, so that a
// caller's log says where an error came from; errors.Is still sees err.
func opError(op string, err error) error {
	return fmt.Errorf("memory: %s: %w", op, err)
}

// check returns the error op must return before doing anything: ctx's if
// it is done, else argErr, what checking op's arguments found. The order is
// the contract's (rule 11): the not-connected error, found under the lock,
// comes last.
func check(ctx context.Context, op string, argErr error) error {
	if err := ctx.Err(); err != nil {
		return opError(op, err)
	}
	if argErr != nil {
		return opError(op, argErr)
	}
	return nil
}

// lock is [check], then takes s.mu if the store is connected. When it
// returns nil the caller holds s.mu; otherwise s.mu is not held.
func (s *OffsetStore) lock(ctx context.Context, op string, argErr error) error {
	if err := check(ctx, op, argErr); err != nil {
		return err
	}
	s.mu.Lock()
	if !s.connected {
		s.mu.Unlock()
		return opError(op, offsetstore.ErrNotConnected)
	}
	return nil
}

// rlock is [OffsetStore.lock] for calls that only read: it holds s.mu
// shared.
func (s *OffsetStore) rlock(ctx context.Context, op string, argErr error) error {
	if err := check(ctx, op, argErr); err != nil {
		return err
	}
	s.mu.RLock()
	if !s.connected {
		s.mu.RUnlock()
		return opError(op, offsetstore.ErrNotConnected)
	}
	return nil
}

// invalid returns an error wrapping [offsetstore.ErrInvalidArgument] that
// says what was wrong.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", offsetstore.ErrInvalidArgument, fmt.Sprintf(format, args...))
}

// nameProblem says what is wrong with name as a projection name, or ""
// when nothing is.
func nameProblem(name string) string {
	switch {
	case name == "":
		return "projection name is empty"
	case !utf8.ValidString(name):
		return fmt.Sprintf("projection name %q is not valid UTF-8", name)
	}
	return ""
}

// offsetProblem says what is wrong with offset, or "" when nothing is.
func offsetProblem(offset *egopb.Offset) string {
	if offset == nil {
		return "offset is nil"
	}
	return nameProblem(offset.ProjectionName)
}

func checkName(name string) error {
	if problem := nameProblem(name); problem != "" {
		return invalid("%s", problem)
	}
	return nil
}

func checkOffset(offset *egopb.Offset) error {
	if problem := offsetProblem(offset); problem != "" {
		return invalid("%s", problem)
	}
	return nil
}

func checkID(id *egopb.ProjectionId) error {
	if id == nil {
		return invalid("projection id is nil")
	}
	return checkName(id.ProjectionName)
}
