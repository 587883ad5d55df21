package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/postgres"
)

// parsePlan reads the JSON lines of a reset or import plan.
func parsePlan(t *testing.T, out string) []changeJSON {
	t.Helper()
	var plan []changeJSON
	for line := range strings.Lines(out) {
		var c changeJSON
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatalf("plan line %q: %v", line, err)
		}
		plan = append(plan, c)
	}
	return plan
}

// parseOffsetLines reads JSON lines of offsets, as export and offsets
// --output json print them.
func parseOffsetLines(t *testing.T, out string) []*egopb.Offset {
	t.Helper()
	offsets, problems := parseOffsets([]byte(out), postgres.CheckProjectionName)
	if len(problems) > 0 {
		t.Fatalf("offset lines %q: line %d: %s", out, problems[0].line, problems[0].msg)
	}
	return offsets
}

// applyPlan returns before with plan applied: what the table must hold
// after an --execute that printed plan.
func applyPlan(t *testing.T, before []*egopb.Offset, plan []changeJSON) []*egopb.Offset {
	t.Helper()
	after := make(map[key]*egopb.Offset)
	for _, o := range before {
		after[keyOf(o)] = o
	}
	for _, c := range plan {
		k := key{c.ProjectionName, c.ShardNumber}
		if c.After == nil {
			delete(after, k)
			continue
		}
		after[k] = &egopb.Offset{ProjectionName: k.name, ShardNumber: k.shard, Value: c.After.Value, Timestamp: c.After.Timestamp}
	}
	var offsets []*egopb.Offset
	for _, o := range after {
		offsets = append(offsets, o)
	}
	sortOffsets(offsets)
	return offsets
}

func TestReset_DryRunChangesNothing(t *testing.T) {
	t.Parallel()
	schema, store := fixtureSchema(t, fixture())
	for _, args := range [][]string{
		{"reset", "accounts", "--to", "0"},
		{"reset", "accounts", "--to", "-62135596800000", "--shard", "17", "--shard", "270"},
		{"reset", "orders", "--to", "5", "--shard", "9223372036854775813", "--output", "json"},
		{"reset", "accounts", "--to-time", "2026-11-26T11:00:00Z"},
		{"reset", "accounts", "--by-duration", "1h", "--shard", "17"},
		{"reset", "orders", "--shift-by", "-7", "--output", "json"},
		{"delete", "accounts"},
		{"delete", "orders", "--shard", "3"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			before := snapshot(t, store)
			args = append(args, "--schema", schema)
			r := offsetctl(t, "", args...)
			wantCode(t, r, exitOK, args...)
			if r.stdout == "" {
				t.Errorf("stdout is empty; want the plan")
			}
			if !strings.HasPrefix(r.stderr, "dry run: ") || !strings.Contains(r.stderr, "add --execute") {
				t.Errorf("stderr = %q; want a note that this was a dry run, and how to apply it", r.stderr)
			}
			wantUnchanged(t, store, before, "offsetctl "+strings.Join(args, " "))
		})
	}
}

func TestReset_ExecuteChangesWhatThePlanPrinted(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"reset", "accounts", "--to", "0"},
		{"reset", "accounts", "--to", "-62135596800000", "--shard", "270,17"},
		// A shard named twice is reset, and shown, once.
		{"reset", "accounts", "--to", "3", "--shard", "17,17", "--shard", "17"},
		{"reset", "orders", "--to", "5", "--shard", "9223372036854775813"},
		{"reset", "tab\tname", "--to", "8"},
		{"reset", "accounts", "--to-time", "2026-11-26T11:00:00.123456789+05:45"},
		{"reset", "accounts", "--by-duration", "90m"},
		{"reset", "accounts", "--by-duration", "1h", "--shard", "270,0"},
		{"reset", "orders", "--shift-by", "-1000"},
		{"reset", "orders", "--shift-by", "9223372036854775807", "--shard", "9223372036854775813"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			schema, store := fixtureSchema(t, fixture())
			before := snapshot(t, store)
			args = append(args, "--schema", schema, "--output", "json")
			dry := offsetctl(t, "", args...)
			wantCode(t, dry, exitOK, args...)
			plan := parsePlan(t, dry.stdout)
			if len(plan) == 0 {
				t.Fatalf("the dry run printed no plan: %v", dry)
			}
			for _, c := range plan {
				if c.After == nil || c.After.Timestamp != now.UnixMilli() {
					t.Errorf("plan line %+v: want the reset stamped %d, the time of %s", c, now.UnixMilli(), nowVariable)
				}
			}

			args = append(args, "--execute")
			r := offsetctl(t, "", args...)
			wantCode(t, r, exitOK, args...)
			if r.stdout != dry.stdout {
				t.Errorf("--execute printed\n%s\nthe dry run printed\n%s\nwant the same plan", r.stdout, dry.stdout)
			}
			if !strings.HasPrefix(r.stderr, "reset ") {
				t.Errorf("stderr = %q; want a note of what was reset", r.stderr)
			}
			if same, diff := sameOffsets(snapshot(t, store), applyPlan(t, before, plan)); !same {
				t.Errorf("after offsetctl %s, the table differs from the plan applied to it: %s", strings.Join(args, " "), diff)
			}
		})
	}
}

func TestDelete_ExecuteDeletesWhatThePlanPrinted(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"delete", "accounts"},
		{"delete", "accounts", "--shard", "0", "--shard", "270"},
		{"delete", "accounts", "--shard", "270", "--shard", "270"},
		{"delete", "orders", "--shard", "9223372036854775813"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			schema, store := fixtureSchema(t, fixture())
			before := snapshot(t, store)
			args = append(args, "--schema", schema, "--output", "json")
			dry := offsetctl(t, "", args...)
			wantCode(t, dry, exitOK, args...)
			planned := parseOffsetLines(t, dry.stdout)
			if len(planned) == 0 {
				t.Fatalf("the dry run printed no plan: %v", dry)
			}

			args = append(args, "--execute")
			r := offsetctl(t, "", args...)
			wantCode(t, r, exitOK, args...)
			if r.stdout != dry.stdout {
				t.Errorf("--execute printed\n%s\nthe dry run printed\n%s\nwant the same plan", r.stdout, dry.stdout)
			}
			var plan []changeJSON
			for _, o := range planned {
				plan = append(plan, changeJSON{ProjectionName: o.ProjectionName, ShardNumber: o.ShardNumber})
			}
			if same, diff := sameOffsets(snapshot(t, store), applyPlan(t, before, plan)); !same {
				t.Errorf("after offsetctl %s, the table differs from the plan applied to it: %s", strings.Join(args, " "), diff)
			}
		})
	}
}

func TestReset_NothingToChangeFails(t *testing.T) {
	t.Parallel()
	schema, store := fixtureSchema(t, fixture())
	before := snapshot(t, store)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"reset", "nosuch", "--to", "0", "--execute"}, []string{`projection "nosuch" has no offsets`, "nothing to reset"}},
		{[]string{"delete", "nosuch", "--execute"}, []string{`projection "nosuch" has no offsets`, "nothing to delete"}},
		// Shard 5 has no offset; shard 0 has one, and must not be reset
		// either: half of what the operator asked for is not what they
		// meant.
		{[]string{"reset", "accounts", "--to", "0", "--shard", "0,5", "--execute"}, []string{`projection "accounts" has no offset for shard 5`, "nothing changed"}},
		{[]string{"delete", "accounts", "--shard", "5", "--shard", "0", "--execute"}, []string{`projection "accounts" has no offset for shard 5`, "nothing changed"}},
		// orders' values are not times: moving them back by a duration
		// means nothing, and none of them moves.
		{[]string{"reset", "orders", "--by-duration", "1h", "--execute"}, []string{`shard 3 of projection "orders" has value 42, which is not a time`, "nothing changed"}},
		{[]string{"reset", "orders", "--shift-by", "-9223372036854775807", "--execute"}, []string{`shard 9223372036854775813 of projection "orders": -62135596800000 -9223372036854775807 is out of the range`, "nothing changed"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			args := append(tc.args, "--schema", schema)
			r := offsetctl(t, "", args...)
			wantCode(t, r, exitFailure, args...)
			wantOneLineError(t, r, tc.want...)
			if r.stdout != "" {
				t.Errorf("stdout = %q; want nothing", r.stdout)
			}
			wantUnchanged(t, store, before, "offsetctl "+strings.Join(args, " "))
		})
	}
}

func TestReset_TableGolden(t *testing.T) {
	t.Parallel()
	schema, _ := fixtureSchema(t, fixture())
	args := []string{"reset", "accounts", "--to", "0", "--schema", schema}
	r := offsetctl(t, "", args...)
	wantCode(t, r, exitOK, args...)
	golden(t, "reset-accounts.golden", r.stdout+"-- stderr --\n"+r.stderr)
}

// TestReset_PlanMovesEachShard checks the values a reset's plan moves
// each shard to, by each of the four ways to say where, against the
// arithmetic done here, and the times the plan shows for them.
func TestReset_PlanMovesEachShard(t *testing.T) {
	t.Parallel()
	schema, _ := fixtureSchema(t, fixture())
	deploy := time.Date(2026, 11, 26, 11, 0, 0, 123456789, time.UTC)
	for _, tc := range []struct {
		args []string
		// after is the value each shard must move to from before.
		after func(before int64) int64
	}{
		{[]string{"accounts", "--to", "-3"}, func(int64) int64 { return -3 }},
		{[]string{"accounts", "--to-time", "2026-11-26T16:45:00.123456789+05:45"}, func(int64) int64 { return deploy.UnixNano() }},
		{[]string{"accounts", "--by-duration", "1h30m"}, func(v int64) int64 { return v - int64(90*time.Minute) }},
		{[]string{"accounts", "--by-duration", "26h", "--shard", "270"}, func(v int64) int64 { return v - int64(26*time.Hour) }},
		{[]string{"accounts", "--shift-by", "-5000000000"}, func(v int64) int64 { return v - 5e9 }},
		{[]string{"orders", "--shift-by", "8"}, func(v int64) int64 { return v + 8 }},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			args := append([]string{"reset"}, append(tc.args, "--schema", schema, "--output", "json")...)
			r := offsetctl(t, "", args...)
			wantCode(t, r, exitOK, args...)
			plan := parsePlan(t, r.stdout)
			if len(plan) == 0 {
				t.Fatalf("offsetctl %s printed no plan: %v", strings.Join(args, " "), r)
			}
			for _, c := range plan {
				before, after := c.Before.Value, c.After.Value
				if want := tc.after(before); after != want {
					t.Errorf("shard %d: value %d -> %d; want -> %d", c.ShardNumber, before, after, want)
				}
				for _, s := range []*stateJSON{c.Before, c.After} {
					v, want := s.Value, ""
					if v >= minValueTime && v < maxValueTime {
						want = time.Unix(0, v).UTC().Format(time.RFC3339Nano)
					}
					if s.ValueTime != want {
						t.Errorf("shard %d: value %d has valueTime %q; want %q", c.ShardNumber, v, s.ValueTime, want)
					}
				}
			}
		})
	}
}
