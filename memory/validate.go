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
// it is done, else argErr, what checking op's arguments found.
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

func checkName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: projection name is empty", offsetstore.ErrInvalidArgument)
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("%w: projection name %q is not valid UTF-8", offsetstore.ErrInvalidArgument, name)
	}
	return nil
}

func checkOffset(offset *egopb.Offset) error {
	if offset == nil {
		return fmt.Errorf("%w: offset is nil", offsetstore.ErrInvalidArgument)
	}
	return checkName(offset.ProjectionName)
}

func checkID(id *egopb.ProjectionId) error {
	if id == nil {
		return fmt.Errorf("%w: projection id is nil", offsetstore.ErrInvalidArgument)
	}
	return checkName(id.ProjectionName)
}
