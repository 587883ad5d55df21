package main

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ego-contrib/offsetstore/egopb"
)

// TestJSON_EveryTimeIsRFC3339 writes offsets whose timestamps are no
// time a program can parse (beyond the year 9999, before the year 0) and
// checks that every time field that offsets and projections print in JSON
// is RFC 3339, as their help and docs/operating.md promise programs: a
// field that cannot be one is left out, as valueTime is for a value that
// is no time.
func TestJSON_EveryTimeIsRFC3339(t *testing.T) {
	t.Parallel()
	offsets := []*egopb.Offset{
		{ProjectionName: "stamps", ShardNumber: 1, Value: 5, Timestamp: math.MaxInt64},
		{ProjectionName: "stamps", ShardNumber: 2, Value: 5, Timestamp: math.MinInt64},
		{ProjectionName: "stamps", ShardNumber: 3, Value: 5, Timestamp: 253402300800000}, // 10000-01-01
	}
	schema, _ := fixtureSchema(t, offsets)
	for _, args := range [][]string{
		{"offsets", "stamps", "-o", "json"},
		{"projections", "-o", "json"},
		{"reset", "stamps", "--to", "0", "-o", "json"},
		{"export"},
	} {
		args = append(args, "--schema", schema)
		r := offsetctl(t, "", args...)
		wantCode(t, r, exitOK, args...)
		for line := range strings.Lines(r.stdout) {
			var fields map[string]any
			if err := json.Unmarshal([]byte(line), &fields); err != nil {
				t.Fatalf("offsetctl %s: line %q: %v", strings.Join(args, " "), line, err)
			}
			checkTimes(t, strings.Join(args, " "), fields)
		}
	}
}

// checkTimes checks that every field of fields named for a time, and of
// the objects in it, parses as RFC 3339.
func checkTimes(t *testing.T, command string, fields map[string]any) {
	t.Helper()
	for name, v := range fields {
		switch v := v.(type) {
		case map[string]any:
			checkTimes(t, command, v)
		case string:
			if !strings.HasSuffix(name, "Time") && name != "lastUpdate" {
				continue
			}
			if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
				t.Errorf("offsetctl %s: %s = %q, which time.Parse(time.RFC3339Nano) refuses: %v; want RFC 3339 or no field: every time in JSON is RFC 3339", command, name, v, err)
			}
		}
	}
}
