package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/ego-contrib/offsetstore/egopb"
)

// timeLayout is RFC 3339 in UTC with milliseconds, at a fixed width so
// that columns line up.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// The values taken for times in Unix nanoseconds: from 2000-01-01 up to,
// not including, 2100-01-01 UTC. The window leaves out the small integers
// of a counter, 0 and eGo's -62135596800000 (a replay from the start),
// times in milliseconds or microseconds, which fall in 1970, and values
// too large to be an event's time.
var (
	minValueTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	maxValueTime = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
)

// valueTime returns the time value stands for, if it is one.
func valueTime(value int64) (time.Time, bool) {
	return time.Unix(0, value).UTC(), value >= minValueTime && value < maxValueTime
}

// formatValueTime is value's time in layout, or none if it is not one.
func formatValueTime(value int64, layout, none string) string {
	if t, ok := valueTime(value); ok {
		return t.Format(layout)
	}
	return none
}

// formatLag says how far value's time is behind now, as time.Duration
// prints it, to the second (to the millisecond under a second), or "-".
func formatLag(now time.Time, value int64) string {
	t, ok := valueTime(value)
	if !ok {
		return "-"
	}
	d := now.Sub(t)
	if d.Abs() < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// formatTime formats a timestamp in Unix milliseconds.
func formatTime(ms int64) string {
	return time.UnixMilli(ms).UTC().Format(timeLayout)
}

// displayName is name as a table shows it: as it is, unless it holds
// characters that would break the columns or reach the terminal as
// control sequences, in which case it is quoted as Go quotes strings.
func displayName(name string) string {
	if strings.ContainsFunc(name, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) {
		return strconv.Quote(name)
	}
	return name
}

// A row is one row of output, as a table shows it and as JSON.
type row struct {
	cells []string
	json  any
}

// render prints rows in format: aligned under header, or as JSON lines.
// No rows print nothing, not even a header.
func render(w io.Writer, format string, header []string, rows []row) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		// The lines are read by programs and people, not put in HTML.
		enc.SetEscapeHTML(false)
		for _, r := range rows {
			if err := enc.Encode(r.json); err != nil {
				return err
			}
		}
		return nil
	}
	if len(rows) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r.cells, "\t"))
	}
	return tw.Flush()
}

// offsetJSON is an offset as export writes it: the protobuf JSON mapping
// of [egopb.Offset], every field present, 64-bit integers as strings;
// offsets and delete add valueTime, which import skips.
type offsetJSON struct {
	ProjectionName string `json:"projectionName"`
	ShardNumber    uint64 `json:"shardNumber,string"`
	Value          int64  `json:"value,string"`
	Timestamp      int64  `json:"timestamp,string"`
	ValueTime      string `json:"valueTime,omitempty"`
}

// printOffsets prints offsets to w in format, with a column of projection
// names if withName; the JSON lines carry their values' times if withTime.
func printOffsets(w io.Writer, format string, now time.Time, offsets []*egopb.Offset, withName, withTime bool) error {
	rows := make([]row, len(offsets))
	for i, o := range offsets {
		line := offsetJSON{o.ProjectionName, o.ShardNumber, o.Value, o.Timestamp, ""}
		if withTime {
			line.ValueTime = formatValueTime(o.Value, time.RFC3339Nano, "")
		}
		rows[i] = row{named(withName, o.ProjectionName, fmt.Sprint(o.ShardNumber), fmt.Sprint(o.Value),
			formatValueTime(o.Value, timeLayout, "-"), formatLag(now, o.Value), formatTime(o.Timestamp)), line}
	}
	return render(w, format, named(withName, "PROJECTION", "SHARD", "VALUE", "TIME", "LAG", "TIMESTAMP"), rows)
}

// named puts name first in cells, if with: the column of projection names
// of the commands that print several projections.
func named(with bool, name string, cells ...string) []string {
	if with {
		return append([]string{displayName(name)}, cells...)
	}
	return cells
}

// A change is what a reset, a delete or an import does to one offset:
// before is nil for an offset that is created, after for one deleted.
type change struct {
	before, after *egopb.Offset
}

// stateJSON is an offset's value, its time, and its timestamp in a
// changeJSON.
type stateJSON struct {
	Value     int64  `json:"value,string"`
	ValueTime string `json:"valueTime,omitempty"`
	Timestamp int64  `json:"timestamp,string"`
}

// changeJSON is a change as --output json prints it: before or after is
// null when the offset is created or deleted.
type changeJSON struct {
	ProjectionName string     `json:"projectionName"`
	ShardNumber    uint64     `json:"shardNumber,string"`
	Before         *stateJSON `json:"before"`
	After          *stateJSON `json:"after"`
}

// printChanges prints changes in format, with a column of projection
// names if withName.
func printChanges(w io.Writer, format string, changes []change, withName bool) error {
	rows := make([]row, len(changes))
	for i, c := range changes {
		o := cmp.Or(c.before, c.after)
		line := changeJSON{o.ProjectionName, o.ShardNumber, state(c.before), state(c.after)}
		vb, tb, sb := columns(c.before)
		va, ta, sa := columns(c.after)
		rows[i] = row{named(withName, o.ProjectionName, fmt.Sprint(o.ShardNumber), vb, tb, va, ta, sb, sa), line}
	}
	header := named(withName, "PROJECTION", "SHARD", "VALUE BEFORE", "TIME BEFORE", "VALUE AFTER", "TIME AFTER", "TIMESTAMP BEFORE", "TIMESTAMP AFTER")
	return render(w, format, header, rows)
}

func state(o *egopb.Offset) *stateJSON {
	if o == nil {
		return nil
	}
	return &stateJSON{o.Value, formatValueTime(o.Value, time.RFC3339Nano, ""), o.Timestamp}
}

// columns returns o's value, its time and its timestamp as a table shows
// them, or dashes for no offset.
func columns(o *egopb.Offset) (string, string, string) {
	if o == nil {
		return "-", "-", "-"
	}
	return fmt.Sprint(o.Value), formatValueTime(o.Value, timeLayout, "-"), formatTime(o.Timestamp)
}

// plural returns "1 shard", "2 shards".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
