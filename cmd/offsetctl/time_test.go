package main

import (
	"strings"
	"testing"
	"time"

	"github.com/ego-contrib/offsetstore/egopb"
)

// timeFixture holds values as eGo writes them, event times in Unix
// nanoseconds to the nanosecond, behind now by less than a second to
// hours, one ahead of now, and values at both edges of the window of
// times, and outside it.
func timeFixture() []*egopb.Offset {
	ns := func(d time.Duration) int64 { return now.Add(-d).UnixNano() }
	ms := now.Add(-time.Minute).UnixMilli()
	return []*egopb.Offset{
		{ProjectionName: "ego", ShardNumber: 0, Value: ns(3*time.Minute + 12*time.Second + 970052395), Timestamp: ms},
		{ProjectionName: "ego", ShardNumber: 1, Value: ns(450 * time.Millisecond), Timestamp: ms},
		{ProjectionName: "ego", ShardNumber: 2, Value: ns(-2 * time.Second), Timestamp: ms},
		{ProjectionName: "ego", ShardNumber: 3, Value: minValueTime, Timestamp: ms},
		{ProjectionName: "ego", ShardNumber: 4, Value: minValueTime - 1, Timestamp: ms},
		{ProjectionName: "ego", ShardNumber: 5, Value: maxValueTime - 1, Timestamp: ms},
		{ProjectionName: "ego", ShardNumber: 6, Value: maxValueTime, Timestamp: ms},
		{ProjectionName: "ego", ShardNumber: 7, Value: now.UnixMilli(), Timestamp: ms},
		{ProjectionName: "lagging", ShardNumber: 0, Value: ns(2*time.Hour + 300*time.Millisecond), Timestamp: ms},
		{ProjectionName: "lagging", ShardNumber: 1, Value: ns(5 * time.Second), Timestamp: ms},
	}
}

func TestTimes_Golden(t *testing.T) {
	t.Parallel()
	schema, _ := fixtureSchema(t, timeFixture())
	for _, tc := range []struct {
		args   []string
		golden string
	}{
		{[]string{"offsets", "ego"}, "times-offsets.golden"},
		{[]string{"offsets", "ego", "--output", "json"}, "times-offsets.json.golden"},
		{[]string{"projections"}, "times-projections.golden"},
		{[]string{"projections", "--output", "json"}, "times-projections.json.golden"},
		{[]string{"reset", "ego", "--by-duration", "1h", "--shard", "0,1,2,3"}, "times-reset.golden"},
		{[]string{"reset", "lagging", "--to-time", "2026-11-26T09:00:00Z"}, "times-reset-to-time.golden"},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			t.Parallel()
			args := append(tc.args, "--schema", schema)
			r := offsetctl(t, "", args...)
			wantCode(t, r, exitOK, args...)
			golden(t, tc.golden, r.stdout+"-- stderr --\n"+r.stderr)
		})
	}
}

// TestImport_ReadsWhatOffsetsPrints pipes offsets --output json, which
// carries each value's time, into import: the times are skipped, and the
// offsets written as they were.
func TestImport_ReadsWhatOffsetsPrints(t *testing.T) {
	t.Parallel()
	from, source := fixtureSchema(t, timeFixture())
	to, target := fixtureSchema(t, nil)
	args := []string{"offsets", "ego", "--output", "json", "--schema", from}
	r := offsetctl(t, "", args...)
	wantCode(t, r, exitOK, args...)
	if !strings.Contains(r.stdout, `"valueTime":`) {
		t.Fatalf("offsetctl %s printed\n%s\nwant valueTime on the lines of times", strings.Join(args, " "), r.stdout)
	}
	args = []string{"import", "-", "--execute", "--schema", to}
	imp := offsetctl(t, r.stdout, args...)
	wantCode(t, imp, exitOK, args...)
	var want []*egopb.Offset
	for _, o := range snapshot(t, source) {
		if o.ProjectionName == "ego" {
			want = append(want, o)
		}
	}
	if same, diff := sameOffsets(snapshot(t, target), want); !same {
		t.Errorf("after offsets | import: %s; want the offsets of ego", diff)
	}
}

// TestJSONTime_EdgesOfRFC3339 checks jsonTime at the edges of the years
// RFC 3339 can write, 0000 to 9999: the first and the last millisecond
// are written, the one just outside each is left out.
func TestJSONTime_EdgesOfRFC3339(t *testing.T) {
	t.Parallel()
	first := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	last := time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC).UnixMilli()
	for _, tc := range []struct {
		ms   int64
		want string
	}{
		{first, "0000-01-01T00:00:00Z"},
		{first - 1, ""},
		{last, "9999-12-31T23:59:59.999Z"},
		{last + 1, ""},
		{0, "1970-01-01T00:00:00Z"},
	} {
		if got := jsonTime(tc.ms); got != tc.want {
			t.Errorf("jsonTime(%d) = %q; want %q: JSON writes the times of years 0000 to 9999, and leaves out the others", tc.ms, got, tc.want)
		}
	}
}
