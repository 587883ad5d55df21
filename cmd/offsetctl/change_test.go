package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

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
		shard, err := strconv.ParseUint(c.ShardNumber, 10, 64)
		if err != nil {
			t.Fatalf("plan shard %q: %v", c.ShardNumber, err)
		}
		k := key{c.ProjectionName, shard}
		if c.After == nil {
			delete(after, k)
			continue
		}
		o := &egopb.Offset{ProjectionName: k.name, ShardNumber: k.shard}
		if o.Value, err = strconv.ParseInt(c.After.Value, 10, 64); err != nil {
			t.Fatalf("plan value %q: %v", c.After.Value, err)
		}
		if o.Timestamp, err = strconv.ParseInt(c.After.Timestamp, 10, 64); err != nil {
			t.Fatalf("plan timestamp %q: %v", c.After.Timestamp, err)
		}
		after[k] = o
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
				if c.After == nil || c.After.Timestamp != strconv.FormatInt(now.UnixMilli(), 10) {
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
				plan = append(plan, changeJSON{ProjectionName: o.ProjectionName, ShardNumber: strconv.FormatUint(o.ShardNumber, 10)})
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
