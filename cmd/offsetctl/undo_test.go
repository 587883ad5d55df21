package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestUndo_ImportOfAReportRestores feeds the --output json of resets and
// a delete, executed or dry runs, to import, on each backend: the offsets
// must be back as they were before the changes, timestamps included.
func TestUndo_ImportOfAReportRestores(t *testing.T) {
	t.Parallel()
	backup := exportedBackup(t)
	for _, b := range testBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			flags := b.flags(t)
			run := runner(t, flags)
			run(backup, exitOK, "import", "-", "--execute")
			original := run("", exitOK, "export").stdout
			// Changes of their own shards each, so that their reports,
			// put together, name each offset once: resets by the store's
			// ResetShards (--to, --to-time) and by WriteOffsets
			// (--by-duration, --shift-by), and deletes; executed with
			// -o json, or planned with -o json and then executed.
			var reports strings.Builder
			for _, c := range []struct {
				args []string
				dry  bool
			}{
				{[]string{"reset", "accounts", "--to", "0", "--shard", "0"}, false},
				{[]string{"reset", "accounts", "--by-duration", "90m", "--shard", "17,270"}, false},
				{[]string{"reset", "orders", "--shift-by", "-8"}, true},
				{[]string{"reset", "tab\tname", "--to-time", "2026-11-26T09:00:00Z"}, true},
				{[]string{"delete", "Audit"}, false},
			} {
				if c.dry {
					reports.WriteString(run("", exitOK, append(c.args, "-o", "json")...).stdout)
					run("", exitOK, append(c.args, "--execute")...)
				} else {
					reports.WriteString(run("", exitOK, append(c.args, "--execute", "-o", "json")...).stdout)
				}
			}
			changed := run("", exitOK, "export").stdout
			for line := range strings.Lines(original) {
				// Every offset was changed or deleted: the undo has all
				// to do.
				if strings.Contains(changed, line) {
					t.Fatalf("after the changes, %s is as it was: the test proves nothing of it", line)
				}
			}
			run(reports.String(), exitOK, "import", "-", "--execute")
			if got := run("", exitOK, "export").stdout; got != original {
				t.Errorf("after resets and deletes, then import of their reports\n%s\nthe offsets are\n%s\nwant them as before\n%s", reports.String(), got, original)
			}

			// The report of an import that created an offset cannot undo it:
			// import refuses that line, and writes nothing.
			report := run(`{"projectionName":"new","shardNumber":"2","value":"5"}`+"\n"+`{"projectionName":"orders","shardNumber":"3","value":"1"}`, exitOK, "import", "-", "--execute", "-o", "json").stdout
			r := run(report, exitFailure, "import", "-", "--execute")
			wantOneLineError(t, r, "stdin:1: ", `projection "new" shard 2 did not exist before this change`, "'offsetctl delete new --shard 2' does", "nothing imported")
			if got := run("", exitOK, "offsets", "orders", "-o", "json").stdout; !strings.Contains(got, `"shardNumber":"3","value":"1"`) {
				t.Errorf("after an import that was refused, orders is\n%s\nwant shard 3 as the first import left it, at 1", got)
			}
		})
	}
}

// TestImport_ChangeLines checks, without a server, what import takes
// from a line of a change and what it refuses.
func TestImport_ChangeLines(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		line string
		// want is the offset, or wantErr what the error says.
		want, wantErr string
	}{
		{`{"projectionName":"a","shardNumber":"3","before":{"value":"7","valueTime":"x","timestamp":"9","timestampTime":"y"},"after":{"value":"0","timestamp":"10"}}`, "a 3 7 9", ""},
		{`{"projection_name":"a","shard_number":3,"before":{"value":7},"after":null}`, "a 3 7 0", ""},
		{`{"projectionName":"a","shardNumber":"3","before":null,"after":{"value":"0","timestamp":"10"}}`, "", `projection "a" shard 3 did not exist before this change`},
		{`{"projectionName":"a","shardNumber":"3","before":{"value":"7","shard":1}}`, "", `before: unknown field "shard"`},
		{`{"projectionName":"a","shardNumber":"3","before":{"value":"7","value":"8"}}`, "", `before: duplicate field "value"`},
		{`{"projectionName":"a","shardNumber":"3","before":{"value":"seven"}}`, "", `invalid value for int64 field value: "seven"`},
		{`{"projectionName":"a","shardNumber":"3","before":[1]}`, "", "before: not a JSON object"},
		{`{"projectionName":"a","shardNumber":"3","before":{},"during":{}}`, "", `unknown field "during"`},
		{`{"projectionName":"a","shardNumber":"3","before":{},"before":{}}`, "", `duplicate field "before"`},
		// Notes of offsets and delete, beside an offset's fields.
		{`{"projectionName":"a","shardNumber":"3","value":"7","timestamp":"9","timestampTime":"x","age":"1s","ageNanos":"1","eventsBehind":"2","lag":"3s","lagNanos":"3"}`, "a 3 7 9", ""},
		{`{"projectionName":"a","shardNumber":"3","value":"7","age":"1s","shard":1}`, "", `unknown field "shard"`},
		// A shard of the events with no offset, as offsets --events-table
		// prints it: protojson would read its null value as 0.
		{`{"projectionName":"a","shardNumber":"3","value":null,"timestamp":null,"eventsBehind":"2","lag":"3s","lagNanos":"3"}`, "", `projection "a" shard 3 has no offset on this line`},
		{`{"projection_name":"a","shard_number":3,"value":null}`, "", `projection "a" shard 3 has no offset on this line`},
		{`{"projectionName":"a","shardNumber":"3","value":null,"lag":"3s","shard":1}`, "", `unknown field "shard"`},
	} {
		offsets, problems := parseOffsets([]byte(tc.line), func(string) error { return nil })
		switch {
		case tc.wantErr != "":
			if len(problems) != 1 || !strings.Contains(problems[0].msg, tc.wantErr) {
				t.Errorf("parseOffsets(%s) = %v, %v; want a problem saying %q", tc.line, offsets, problems, tc.wantErr)
			}
		case len(problems) != 0 || len(offsets) != 1:
			t.Errorf("parseOffsets(%s) = %v, %v; want one offset, %s", tc.line, offsets, problems, tc.want)
		default:
			o := offsets[0]
			if got := fmt.Sprint(o.ProjectionName, " ", o.ShardNumber, " ", o.Value, " ", o.Timestamp); got != tc.want {
				t.Errorf("parseOffsets(%s) = %s; want %s", tc.line, got, tc.want)
			}
		}
	}
}
