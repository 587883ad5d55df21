package main

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxNameChars is what eGo's projection_name column, VARCHAR(255), holds:
// PostgreSQL counts characters, not bytes. Package postgres refuses longer
// names too; offsetctl checks first so that a bad name is reported before
// anything is sent, and, in an import file, with its line number.
const maxNameChars = 255

// checkName says what is wrong with a projection name the table cannot
// hold, or returns nil.
func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("projection name is empty")
	case !utf8.ValidString(name):
		return fmt.Errorf("projection name %q is not valid UTF-8", name)
	case strings.IndexByte(name, 0) >= 0:
		return fmt.Errorf("projection name %q contains a NUL byte, which PostgreSQL text cannot hold", name)
	}
	if n := utf8.RuneCountInString(name); n > maxNameChars {
		return fmt.Errorf("projection name is %d characters long; the projection_name column holds at most %d", n, maxNameChars)
	}
	return nil
}

// plural returns "1 shard", "2 shards".
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
