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

// The formats of --output.
const (
	formatTable = "table"
	formatWide  = "wide"
	formatJSON  = "json"
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

// age returns how long before now value's time is, if value is a time.
func age(now time.Time, value int64) (time.Duration, bool) {
	t, ok := valueTime(value)
	return now.Sub(t), ok
}

// formatAge says how far value's time is behind now, as formatDuration
// does, or "-" if value is no time.
func formatAge(now time.Time, value int64) string {
	d, ok := age(now, value)
	if !ok {
		return "-"
	}
	return formatDuration(d)
}

// formatDuration prints d as time.Duration prints it, to the second (to
// the millisecond under a second).
func formatDuration(d time.Duration) string {
	if d.Abs() < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// formatTime formats a timestamp in Unix milliseconds for a table.
func formatTime(ms int64) string {
	return time.UnixMilli(ms).UTC().Format(timeLayout)
}

// jsonTime formats a timestamp in Unix milliseconds for JSON: RFC 3339,
// exact; or "", for a field left out, if its year is before 0000 or after
// 9999, which RFC 3339 cannot write (time.Format would write one that
// parsers refuse).
func jsonTime(ms int64) string {
	t := time.UnixMilli(ms).UTC()
	if t.Year() < 0 || t.Year() > 9999 {
		return ""
	}
	return t.Format(time.RFC3339Nano)
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

// A column is a column of a table: its header, and whether only
// --output wide shows it, so that the default table fits 100 columns.
type column struct {
	header string
	wide   bool
}

// columns returns a column for each header, that every table shows.
func columns(headers ...string) []column {
	cols := make([]column, len(headers))
	for i, h := range headers {
		cols[i] = column{header: h}
	}
	return cols
}

// wideOnly returns a column for each header, that only --output wide
// shows.
func wideOnly(headers ...string) []column {
	cols := columns(headers...)
	for i := range cols {
		cols[i].wide = true
	}
	return cols
}

// A row is one row of output: a cell for each column, and what JSON
// prints.
type row struct {
	cells []string
	json  any
}

// render prints rows in format: aligned under the headers of cols (the
// wide ones only if format is wide), or as JSON lines. No rows print
// nothing, not even a header.
func render(w io.Writer, format string, cols []column, rows []row) error {
	if format == formatJSON {
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
	shown := func(cells []string) string {
		var out []string
		for i, c := range cols {
			if format == formatWide || !c.wide {
				out = append(out, cells[i])
			}
		}
		return strings.Join(out, "\t")
	}
	headers := make([]string, len(cols))
	for i, c := range cols {
		headers[i] = c.header
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, shown(headers))
	for _, r := range rows {
		fmt.Fprintln(tw, shown(r.cells))
	}
	return tw.Flush()
}

// offsetJSON is an offset as export writes it: the protobuf JSON mapping
// of [egopb.Offset], every field present, 64-bit integers as strings;
// offsets and delete add notes, which import skips.
type offsetJSON struct {
	ProjectionName string `json:"projectionName"`
	ShardNumber    uint64 `json:"shardNumber,string"`
	Value          int64  `json:"value,string"`
	Timestamp      int64  `json:"timestamp,string"`
	*offsetNotes
}

// noOffsetJSON is a shard of the events table that a projection has no
// offset for, as offsets --events-table prints it beside offsetJSON's
// lines: value and timestamp null, and its lag, from 0.
type noOffsetJSON struct {
	ProjectionName string `json:"projectionName"`
	ShardNumber    uint64 `json:"shardNumber,string"`
	Value          *int64 `json:"value,string"`
	Timestamp      *int64 `json:"timestamp,string"`
	*lagJSON
}

// offsetNotes are what offsets and delete say of an offset beyond its
// fields: its times in RFC 3339 (absent if the value is no time, or the
// timestamp none RFC 3339 can write), its age, and its lag if the events
// table was read. The JSON names of every note are in notes.
type offsetNotes struct {
	ValueTime     string `json:"valueTime,omitempty"`
	TimestampTime string `json:"timestampTime,omitempty"`
	// Age is how long before now the value's time is; absent if the
	// value is no time.
	Age      string `json:"age,omitempty"`
	AgeNanos *int64 `json:"ageNanos,omitempty,string"`
	*lagJSON
}

// lagJSON is a lag read from the events table.
type lagJSON struct {
	// WorstShard is the shard whose lag a projection's is.
	WorstShard   *uint64 `json:"worstShard,omitempty,string"`
	EventsBehind int64   `json:"eventsBehind,string"`
	Lag          string  `json:"lag"`
	LagNanos     int64   `json:"lagNanos,string"`
}

// notes are the JSON names of the fields of offsetNotes, stateJSON and
// lagJSON, which import skips: a line that offsets, delete, reset or
// import printed is read back as the offset it shows.
var notes = map[string]bool{
	"valueTime": true, "timestampTime": true, "age": true, "ageNanos": true,
	"worstShard": true, "eventsBehind": true, "lag": true, "lagNanos": true,
}

// notesOf returns the notes of o, an offset as of now, with its lag l if
// not nil.
func notesOf(o *egopb.Offset, now time.Time, l *lagJSON) *offsetNotes {
	n := &offsetNotes{
		ValueTime:     formatValueTime(o.Value, time.RFC3339Nano, ""),
		TimestampTime: jsonTime(o.Timestamp),
		lagJSON:       l,
	}
	if d, ok := age(now, o.Value); ok {
		n.Age, n.AgeNanos = formatDuration(d), ptr(int64(d))
	}
	return n
}

func ptr[T any](v T) *T { return &v }

// offsetColumns are the columns of a table of offsets, PROJECTION first
// if withName: --output wide adds TIMESTAMP when they are of several
// projections.
func offsetColumns(withName bool) []column {
	cols := columns("SHARD", "VALUE", "TIME", "AGE")
	timestamp := column{header: "TIMESTAMP", wide: withName}
	if withName {
		cols = append(columns("PROJECTION"), cols...)
	}
	return append(cols, timestamp)
}

// printOffsets prints offsets to w in format, with a column of projection
// names if withName; the JSON lines carry notes if withNotes.
func printOffsets(w io.Writer, format string, now time.Time, offsets []*egopb.Offset, withName, withNotes bool) error {
	rows := make([]row, len(offsets))
	for i, o := range offsets {
		line := offsetJSON{o.ProjectionName, o.ShardNumber, o.Value, o.Timestamp, nil}
		if withNotes {
			line.offsetNotes = notesOf(o, now, nil)
		}
		rows[i] = row{named(withName, o.ProjectionName, fmt.Sprint(o.ShardNumber), fmt.Sprint(o.Value),
			formatValueTime(o.Value, timeLayout, "-"), formatAge(now, o.Value), formatTime(o.Timestamp)), line}
	}
	return render(w, format, offsetColumns(withName), rows)
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

// stateJSON is an offset's value and its timestamp, with their times (as
// in offsetNotes, absent if none), in a changeJSON.
type stateJSON struct {
	Value         int64  `json:"value,string"`
	ValueTime     string `json:"valueTime,omitempty"`
	Timestamp     int64  `json:"timestamp,string"`
	TimestampTime string `json:"timestampTime,omitempty"`
}

// changeJSON is a change as --output json prints it: before or after is
// null when the offset is created or deleted. import reads it back as
// the offset before the change, which undoes it.
type changeJSON struct {
	ProjectionName string     `json:"projectionName"`
	ShardNumber    uint64     `json:"shardNumber,string"`
	Before         *stateJSON `json:"before"`
	After          *stateJSON `json:"after"`
}

// changeColumns are the columns of a table of changes, PROJECTION first
// if withName. The default table shows the values and the time they move
// to, and, without names, the time they move from; --output wide shows
// every time and the timestamps.
func changeColumns(withName bool) []column {
	cols := []column{{header: "SHARD"}, {header: "VALUE BEFORE"}, {header: "TIME BEFORE", wide: withName}, {header: "VALUE AFTER"}, {header: "TIME AFTER"}}
	cols = append(cols, wideOnly("TIMESTAMP BEFORE", "TIMESTAMP AFTER")...)
	if withName {
		cols = append(columns("PROJECTION"), cols...)
	}
	return cols
}

// printChanges prints changes in format, with a column of projection
// names if withName.
func printChanges(w io.Writer, format string, changes []change, withName bool) error {
	rows := make([]row, len(changes))
	for i, c := range changes {
		o := cmp.Or(c.before, c.after)
		line := changeJSON{o.ProjectionName, o.ShardNumber, state(c.before), state(c.after)}
		vb, tb, sb := stateCells(c.before)
		va, ta, sa := stateCells(c.after)
		rows[i] = row{named(withName, o.ProjectionName, fmt.Sprint(o.ShardNumber), vb, tb, va, ta, sb, sa), line}
	}
	return render(w, format, changeColumns(withName), rows)
}

func state(o *egopb.Offset) *stateJSON {
	if o == nil {
		return nil
	}
	return &stateJSON{o.Value, formatValueTime(o.Value, time.RFC3339Nano, ""), o.Timestamp, jsonTime(o.Timestamp)}
}

// stateCells returns o's value, its time and its timestamp as a table
// shows them, or dashes for no offset.
func stateCells(o *egopb.Offset) (string, string, string) {
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
