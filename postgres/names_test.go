package postgres_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/postgres"
)

// TestCheckProjectionName checks each limit of a projection name, and
// that names just within them pass: PostgreSQL counts characters, not
// bytes, so 255 four-byte characters fit.
func TestCheckProjectionName(t *testing.T) {
	for _, tc := range []struct {
		name string
		says string // "" for a name the table holds
	}{
		{"accounts", ""},
		{strings.Repeat("p", 255), ""},
		{strings.Repeat("𝄞", 255), ""},
		{"with space and é", ""},
		{"", "empty"},
		{"bad\xffname", "not valid UTF-8"},
		{"bad\x00name", "NUL byte"},
		{"\x00", "NUL byte"},
		{strings.Repeat("p", 256), "256 characters long"},
		{strings.Repeat("é", 256), "256 characters long"},
	} {
		err := postgres.CheckProjectionName(tc.name)
		switch {
		case tc.says == "" && err != nil:
			t.Errorf("CheckProjectionName(%.20q...) = %v; want <nil>: projection_name VARCHAR(255) holds it", tc.name, err)
		case tc.says != "" && (!errors.Is(err, offsetstore.ErrInvalidArgument) || !strings.Contains(err.Error(), tc.says)):
			t.Errorf("CheckProjectionName(%.20q...) = %v; want an error wrapping offsetstore.ErrInvalidArgument that says %q", tc.name, err, tc.says)
		}
	}
}

func ExampleCheckProjectionName() {
	for _, name := range []string{"accounts", "", "a\x00b", strings.Repeat("x", 300)} {
		fmt.Println(postgres.CheckProjectionName(name))
	}
	// Output:
	// <nil>
	// invalid argument: projection name is empty
	// invalid argument: projection name "a\x00b" contains a NUL byte, which PostgreSQL text cannot hold
	// invalid argument: projection name is 300 characters long; the projection_name column, VARCHAR(255), holds at most 255
}
