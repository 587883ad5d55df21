package main

import (
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

// timeLayout is RFC 3339 in UTC with the milliseconds offsets carry, at a
// fixed width so that columns line up.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// formatTime formats a timestamp in Unix milliseconds.
func formatTime(ms int64) string {
	return time.UnixMilli(ms).UTC().Format(timeLayout)
}

// formatAge says how long before now the timestamp ms was, to the second,
// in the two largest units: 42s, 5m3s, 26h5m, 3d4h. A timestamp after now
// gets a minus sign.
func formatAge(now time.Time, ms int64) string {
	d := now.Sub(time.UnixMilli(ms))
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	s := int64(d / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%s%ds", sign, s)
	case s < 3600:
		return fmt.Sprintf("%s%dm%ds", sign, s/60, s%60)
	case s < 48*3600:
		return fmt.Sprintf("%s%dh%dm", sign, s/3600, s%3600/60)
	}
	return fmt.Sprintf("%s%dd%dh", sign, s/86400, s%86400/3600)
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

// A table writes aligned columns.
type table struct {
	tw *tabwriter.Writer
}

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)}
	t.row(header...)
	return t
}

func (t *table) row(cells ...string) {
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

// offsetJSON is an offset as export writes it: the protobuf JSON mapping
// of [egopb.Offset], every field present, 64-bit integers as strings.
type offsetJSON struct {
	ProjectionName string `json:"projectionName"`
	ShardNumber    string `json:"shardNumber"`
	Value          string `json:"value"`
	Timestamp      string `json:"timestamp"`
}

func toJSON(o *egopb.Offset) offsetJSON {
	return offsetJSON{
		ProjectionName: o.GetProjectionName(),
		ShardNumber:    strconv.FormatUint(o.GetShardNumber(), 10),
		Value:          strconv.FormatInt(o.GetValue(), 10),
		Timestamp:      strconv.FormatInt(o.GetTimestamp(), 10),
	}
}

// jsonLines writes values as JSON lines.
type jsonLines struct {
	enc *json.Encoder
}

func newJSONLines(w io.Writer) *jsonLines {
	enc := json.NewEncoder(w)
	// The lines are read by programs and people, not put in HTML.
	enc.SetEscapeHTML(false)
	return &jsonLines{enc: enc}
}

func (j *jsonLines) write(v any) error { return j.enc.Encode(v) }

func int64String(v int64) string { return strconv.FormatInt(v, 10) }

// plural returns "1 shard", "2 shards".
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
