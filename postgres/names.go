package postgres

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"

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
// projection's name exactly on a database of any encoding that counts
// characters, and otherwise an error wrapping
// [offsetstore.ErrInvalidArgument] that says what is wrong with it: it is
// empty, is not valid UTF-8, contains a NUL byte (which PostgreSQL text
// cannot hold), or is longer than the 255 characters of eGo's
// projection_name column, VARCHAR(255). Every method of the store checks
// its names so before sending anything; a tool can check a name the same
// way before it connects.
//
// It is the part of the store's check that does not depend on the
// database. A connected store also refuses, before sending it, a name
// that the connection's encodings, read at Connect, would store otherwise
// than given: on a SQL_ASCII database, where VARCHAR(255) counts bytes, a
// name longer than 255 bytes; and, when the connection's client_encoding
// is neither UTF8 nor SQL_ASCII (pgx leaves it at the database's, LATIN1
// say), any name beyond ASCII, whose UTF-8 bytes the server would read as
// other characters; add client_encoding=UTF8 to the connection string to
// store such names there. With client_encoding UTF8 the server converts
// names to its encoding, and refuses, changing nothing, a character that
// encoding lacks; the store refuses the one character that the server
// would store as another: U+00A6 on EUC_JP.
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

// A nameRule says which names a table holds exactly, on a connection of a
// given client and server encoding: PostgreSQL reads the bytes of a name
// in the client encoding, converts them to the server's, and counts the
// column's length in the server's characters. The zero rule adds nothing
// to [CheckProjectionName].
type nameRule struct {
	// encoding names the encodings, for errors.
	encoding string
	// asciiOnly is set when the client encoding is neither UTF8 nor
	// SQL_ASCII: the server would read a name's UTF-8 bytes as other
	// characters (pgx leaves client_encoding at the database's).
	asciiOnly bool
	// maxBytes, if not 0, is how many bytes the column holds: on SQL_ASCII
	// (and when only ASCII is sent) a character is a byte.
	maxBytes int
	// changed lists the characters the server converts to its encoding
	// and back to UTF8 as others.
	changed []rune
}

// changedOnTheWay lists, by server encoding, the characters that the
// server, given them by a client_encoding UTF8 connection, stores as
// characters it gives back as others: PostgreSQL 15's conversion maps
// U+00A6 (broken bar) to EUC_JP's JIS X 0212 broken bar, which it reads
// back as U+FFE4 (fullwidth broken bar), so that "x¦" would overwrite the
// offsets of "x￤". Every code point up to U+323AF was converted to each
// server encoding and back: these are all that came back changed.
var changedOnTheWay = map[string][]rune{
	"EUC_JP": {'\u00A6'},
}

// newNameRule returns the rule of the connection conn for a
// projection_name column of type modifier typmod (VARCHAR(n) has n+4, TEXT
// and an unbounded VARCHAR -1).
func newNameRule(conn *pgconn.PgConn, typmod int32) nameRule {
	client, server := conn.ParameterStatus("client_encoding"), conn.ParameterStatus("server_encoding")
	r := nameRule{encoding: fmt.Sprintf("client_encoding %s, server_encoding %s", client, server)}
	switch {
	case client == "UTF8" && server != "SQL_ASCII":
		// The server converts, counts characters, and refuses those its
		// encoding lacks (SQLSTATE 22P05): CheckProjectionName suffices,
		// but for the few characters it converts to others.
		if changed := changedOnTheWay[server]; changed != nil {
			return nameRule{encoding: r.encoding, changed: changed}
		}
		return nameRule{}
	case client != "UTF8" && client != "SQL_ASCII":
		r.asciiOnly = true
	}
	if typmod >= 4 {
		r.maxBytes = int(typmod) - 4
	}
	return r
}

// check returns an error wrapping [offsetstore.ErrInvalidArgument] if the
// column cannot hold name exactly under r. name has passed
// [CheckProjectionName].
func (r nameRule) check(name string) error {
	if r.asciiOnly {
		for i := range len(name) {
			if name[i] >= utf8.RuneSelf {
				return fmt.Errorf("%w: projection name %q has characters beyond ASCII, which the connection (%s) would store as other characters; add client_encoding=UTF8 to the connection string",
					offsetstore.ErrInvalidArgument, name, r.encoding)
			}
		}
	}
	for _, c := range r.changed {
		if strings.ContainsRune(name, c) {
			return fmt.Errorf("%w: projection name %q has %U, which the database (%s) stores as another character",
				offsetstore.ErrInvalidArgument, name, c, r.encoding)
		}
	}
	if r.maxBytes > 0 && len(name) > r.maxBytes {
		return fmt.Errorf("%w: projection name is %d bytes long; the projection_name column holds %d, counted in bytes on this database (%s)",
			offsetstore.ErrInvalidArgument, len(name), r.maxBytes, r.encoding)
	}
	return nil
}
