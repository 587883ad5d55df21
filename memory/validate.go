package memory

import (
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
