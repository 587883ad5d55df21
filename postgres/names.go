package postgres

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
)

// maxNameChars is what projection_name VARCHAR(255) holds: PostgreSQL
// counts characters, not bytes.
const maxNameChars = 255

// maxIdentifierBytes is PostgreSQL's NAMEDATALEN - 1: longer identifiers
// are cut short silently, so a store would use another table than named.
const maxIdentifierBytes = 63

// CheckProjectionName returns nil if the table can hold name as a
// projection's name exactly, and otherwise an error wrapping
// [offsetstore.ErrInvalidArgument] that says what is wrong with it: it is
// empty, is not valid UTF-8, contains a NUL byte (which PostgreSQL text
// cannot hold), or is longer than the 255 characters of eGo's
// projection_name column, VARCHAR(255) (PostgreSQL counts characters, not
// bytes). Every method of the store checks its names so before sending
// anything; a tool can check a name the same way before it connects.
func CheckProjectionName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: projection name is empty", offsetstore.ErrInvalidArgument)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: projection name %q is not valid UTF-8", offsetstore.ErrInvalidArgument, name)
	case strings.IndexByte(name, 0) >= 0:
		return fmt.Errorf("%w: projection name %q contains a NUL byte, which PostgreSQL text cannot hold",
			offsetstore.ErrInvalidArgument, name)
	}
	if n := utf8.RuneCountInString(name); n > maxNameChars {
		return fmt.Errorf("%w: projection name is %d characters long; the projection_name column, VARCHAR(%d), holds at most %d",
			offsetstore.ErrInvalidArgument, n, maxNameChars, maxNameChars)
	}
	return nil
}

func checkOffset(offset *egopb.Offset) error {
	if offset == nil {
		return fmt.Errorf("%w: offset is nil", offsetstore.ErrInvalidArgument)
	}
	return CheckProjectionName(offset.ProjectionName)
}

func checkID(id *egopb.ProjectionId) error {
	if id == nil {
		return fmt.Errorf("%w: projection id is nil", offsetstore.ErrInvalidArgument)
	}
	return CheckProjectionName(id.ProjectionName)
}

// checkIdentifier checks a schema or table name, what for, that the store
// will quote.
func checkIdentifier(what, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: %s name is empty", offsetstore.ErrInvalidArgument, what)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: %s name %q is not valid UTF-8", offsetstore.ErrInvalidArgument, what, name)
	case strings.IndexByte(name, 0) >= 0:
		return fmt.Errorf("%w: %s name %q contains a NUL byte", offsetstore.ErrInvalidArgument, what, name)
	case len(name) > maxIdentifierBytes:
		return fmt.Errorf("%w: %s name %q is %d bytes long; PostgreSQL would cut it to %d",
			offsetstore.ErrInvalidArgument, what, name, len(name), maxIdentifierBytes)
	}
	return nil
}
