package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ego-contrib/offsetstore/egopb"
)

// TestTables_FitHundredColumns runs every command that prints a table on
// offsets as eGo writes them, under names of 24 characters: each line of
// the default table must fit a terminal of 100 columns, and --output wide
// must show the columns left out.
func TestTables_FitHundredColumns(t *testing.T) {
	t.Parallel()
	const a, b = "accounts-receivable-euro", "inventory-by-warehouse-x"
	if utf8.RuneCountInString(a) != 24 || utf8.RuneCountInString(b) != 24 {
		t.Fatal("the names are not of 24 characters")
	}
	ns := func(d time.Duration) int64 { return now.Add(-d).UnixNano() }
	ms := func(d time.Duration) int64 { return now.Add(-d).UnixMilli() }
	var offsets []*egopb.Offset
	var events []testEvent
	for _, shard := range []uint64{0, 17, 93, 270} {
		offsets = append(offsets,
			&egopb.Offset{ProjectionName: a, ShardNumber: shard, Value: ns(26*time.Hour + 5*time.Minute + 3*time.Second), Timestamp: ms(time.Second)},
			&egopb.Offset{ProjectionName: b, ShardNumber: shard, Value: ns(3 * time.Second), Timestamp: ms(2 * time.Second)})
		events = append(events, testEvent{shard, time.Second}, testEvent{shard, 26 * time.Hour})
	}
	schema, _ := fixtureSchema(t, offsets)
	seedEvents(t, schema, events)
	backup := fmt.Sprintf(`{"projectionName":%q,"shardNumber":"17","value":"%d","timestamp":"%d"}`+"\n", a, ns(time.Hour), ms(time.Hour)) +
		fmt.Sprintf(`{"projectionName":"%s","shardNumber":"4","value":"%d","timestamp":"%d"}`+"\n", strings.Repeat("é", 24), ns(time.Minute), ms(time.Minute))
	lag := []string{"--events-table", "events_store", "--events-schema", schema}
	for _, tc := range []struct {
		args []string
		// wider is whether --output wide has columns the table has not.
		wider bool
	}{
		{[]string{"projections"}, true},
		{append([]string{"projections"}, lag...), true},
		{[]string{"offsets", a}, false},
		{append([]string{"offsets", a}, lag...), true},
		{[]string{"export", "-o", "table"}, true},
		{[]string{"reset", b, "--to-time", "2026-11-26T09:00:00Z"}, true},
		{[]string{"delete", b}, false},
		{[]string{"import", "-"}, true},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			args := append(tc.args, "--schema", schema)
			r := offsetctl(t, backup, args...)
			wantCode(t, r, exitOK, args...)
			if strings.Count(r.stdout, "\n") < 3 {
				t.Fatalf("offsetctl %s printed\n%s\nwant a table", strings.Join(args, " "), r.stdout)
			}
			for line := range strings.Lines(r.stdout) {
				if n := utf8.RuneCountInString(strings.TrimSuffix(line, "\n")); n > 100 {
					t.Errorf("offsetctl %s printed a line of %d columns; want at most 100:\n%s", strings.Join(args, " "), n, r.stdout)
				}
			}
			wide := append(args, "-o", "wide")
			w := offsetctl(t, backup, wide...)
			wantCode(t, w, exitOK, wide...)
			header, wideHeader := strings.Fields(firstLine(r.stdout)), strings.Fields(firstLine(w.stdout))
			if tc.wider != (len(wideHeader) > len(header)) {
				t.Errorf("offsetctl %s: header %q; offsetctl %s: %q; want wide to have more columns: %v", strings.Join(args, " "), header, strings.Join(wide, " "), wideHeader, tc.wider)
			}
		})
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
