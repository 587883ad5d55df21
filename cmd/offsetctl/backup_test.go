package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/pgtest"
	"github.com/ego-contrib/offsetstore/postgres"
)

// emptyStore returns a store on a schema that does not exist yet, and so
// holds no table; the test drops the schema when it ends.
func emptyStore(t *testing.T) (string, *postgres.OffsetStore) {
	t.Helper()
	schema := pgtest.Schema(t)
	store := postgres.NewOffsetStore(pgtest.URL(t), postgres.WithSchema(schema))
	t.Cleanup(func() { _ = store.Disconnect(context.Background()) })
	return schema, store
}

func TestExportImport_RoundTripIntoAnEmptySchema(t *testing.T) {
	t.Parallel()
	from, source := fixtureSchema(t, fixture())
	want := snapshot(t, source)
	file := filepath.Join(t.TempDir(), "offsets.jsonl")

	args := []string{"export", "--schema", from, "--file", file}
	r := offsetctl(t, "", args...)
	wantCode(t, r, exitOK, args...)
	if r.stdout != "" {
		t.Errorf("stdout = %q; want nothing with --file", r.stdout)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	stdout := offsetctl(t, "", "export", "--schema", from)
	wantCode(t, stdout, exitOK, "export")
	if stdout.stdout != string(data) {
		t.Errorf("export to stdout printed\n%s\nexport --file wrote\n%s\nwant the same", stdout.stdout, data)
	}
	// Each line is the protobuf JSON of an Offset: protojson reads it back
	// as the offset exported.
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("export wrote %d lines; want %d, one per offset", len(lines), len(want))
	}
	for i, line := range lines {
		var o egopb.Offset
		if err := protojson.Unmarshal([]byte(line), &o); err != nil {
			t.Errorf("line %d, %s: protojson.Unmarshal = %v; want <nil>", i+1, line, err)
		} else if !proto.Equal(&o, want[i]) {
			t.Errorf("line %d, %s: protojson reads %v; want %v", i+1, line, &o, want[i])
		}
	}

	// The schema does not exist: import creates it, and the table, as the
	// issue's "import into an empty schema" needs, with no flag to know.
	to, target := emptyStore(t)
	table := `"` + to + `"."offsets_store"`
	args = []string{"import", file, "--schema", to}
	r = offsetctl(t, "", args...)
	wantCode(t, r, exitOK, args...)
	for _, want := range []string{
		"dry run: would write 7 offsets of 4 projections (7 new, 0 changed, 0 as they are)",
		"table " + table + " does not exist in database",
		"--execute creates it",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("offsetctl %s: stderr = %q; want a dry run that says %q", strings.Join(args, " "), r.stderr, want)
		}
	}
	if err := target.Connect(t.Context()); !missingTable(err) {
		t.Errorf("after a dry run of import into a missing table, Connect(ctx) = %v; want the table missing still", err)
	}
	args = append(args, "--execute")
	r = offsetctl(t, "", args...)
	wantCode(t, r, exitOK, args...)
	if want := "created table " + table; !strings.Contains(r.stderr, want) {
		t.Errorf("offsetctl %s: stderr = %q; want it to say %q", strings.Join(args, " "), r.stderr, want)
	}
	if err := target.Connect(t.Context()); err != nil {
		t.Fatalf("Connect(ctx) to the imported schema = %v; want <nil>", err)
	}
	if same, diff := sameOffsets(snapshot(t, target), want); !same {
		t.Errorf("after export then import into an empty schema: %s; want the same offsets", diff)
	}
}

func TestExport_NamedProjections(t *testing.T) {
	t.Parallel()
	schema, store := fixtureSchema(t, fixture())
	var want []*egopb.Offset
	for _, o := range snapshot(t, store) {
		if o.ProjectionName == "orders" || o.ProjectionName == "Audit" {
			want = append(want, o)
		}
	}
	args := []string{"export", "orders", "Audit", "orders", "--schema", schema}
	r := offsetctl(t, "", args...)
	wantCode(t, r, exitOK, args...)
	if same, diff := sameOffsets(parseOffsetLines(t, r.stdout), want); !same {
		t.Errorf("offsetctl %s printed %s: %s; want Audit's and orders' offsets, once each", strings.Join(args, " "), r.stdout, diff)
	}

	// After --, everything is a name, even what looks like a flag.
	args = []string{"export", "--schema", schema, "--", "orders", "--file"}
	r = offsetctl(t, "", args...)
	wantCode(t, r, exitFailure, args...)
	wantOneLineError(t, r, `projection "--file" has no offsets`)

	file := filepath.Join(t.TempDir(), "offsets.jsonl")
	args = []string{"export", "orders", "nosuch", "--schema", schema, "--file", file}
	r = offsetctl(t, "", args...)
	wantCode(t, r, exitFailure, args...)
	wantOneLineError(t, r, `projection "nosuch" has no offsets`, "nothing exported")
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("after a failed export, os.Stat(%s) = %v; want no file", file, err)
	}
}

// TestExport_FileThroughASymbolicLink exports to a link to the latest
// backup, and to a link to a file not yet written: the export must land
// in the file the link names, and the link stay a link, as with the
// shell's >.
func TestExport_FileThroughASymbolicLink(t *testing.T) {
	t.Parallel()
	schema, _ := fixtureSchema(t, fixture())
	want := offsetctl(t, "", "export", "--schema", schema)
	wantCode(t, want, exitOK, "export")
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "backups"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "backups", "old.jsonl"), "an old export\n")
	for _, target := range []string{"old.jsonl", "new.jsonl"} {
		link := filepath.Join(dir, "latest-"+target)
		if err := os.Symlink(filepath.Join("backups", target), link); err != nil {
			t.Fatal(err)
		}
		args := []string{"export", "--schema", schema, "--file", link}
		r := offsetctl(t, "", args...)
		wantCode(t, r, exitOK, args...)
		if fi, err := os.Lstat(link); err != nil {
			t.Errorf("after offsetctl %s, os.Lstat(%s) = %v; want the link still there", strings.Join(args, " "), link, err)
		} else if fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("after offsetctl %s, %s has mode %v; want the link still a link", strings.Join(args, " "), link, fi.Mode())
		}
		got, err := os.ReadFile(filepath.Join(dir, "backups", target))
		if err != nil || string(got) != want.stdout {
			t.Errorf("after offsetctl %s, backups/%s holds %q, %v; want the export\n%s", strings.Join(args, " "), target, got, err, want.stdout)
		}
	}
}

func TestExport_UnwritableFile(t *testing.T) {
	t.Parallel()
	schema, _ := fixtureSchema(t, fixture())
	file := filepath.Join(t.TempDir(), "nosuchdir", "offsets.jsonl")
	args := []string{"export", "--schema", schema, "--file", file}
	r := offsetctl(t, "", args...)
	wantCode(t, r, exitFailure, args...)
	wantOneLineError(t, r, "cannot write "+file+": no such file or directory")
}

func TestImport_PlanGolden(t *testing.T) {
	t.Parallel()
	schema, _ := fixtureSchema(t, fixture())
	file := filepath.Join(t.TempDir(), "offsets.jsonl")
	writeFile(t, file, strings.Join([]string{
		`{"projectionName":"accounts","shardNumber":"17","value":"1","timestamp":"1795694097000"}`,
		`{"projectionName":"orders","shardNumber":"3","value":"42","timestamp":"1795694341000"}`,
		``,
		`{"projection_name":"new","shard_number":2,"value":-1,"timestamp":0}`,
	}, "\n"))
	args := []string{"import", file, "--schema", schema}
	r := offsetctl(t, "", args...)
	wantCode(t, r, exitOK, args...)
	golden(t, "import-plan.golden", r.stdout+"-- stderr --\n"+r.stderr)
}

func TestImport_ExecuteWritesWhatThePlanPrinted(t *testing.T) {
	t.Parallel()
	schema, store := fixtureSchema(t, fixture())
	before := snapshot(t, store)
	// The same file from stdin: a copy between databases is a pipe.
	stdin := strings.Join([]string{
		`{"projectionName":"accounts","shardNumber":"17","value":"1","timestamp":"2"}`,
		`{"projectionName":"new","shardNumber":"18446744073709551615","value":"-1","timestamp":"0"}`,
		`{"projectionName":"orders","shardNumber":"3","value":"42","timestamp":"1795694341000"}`,
	}, "\n") + "\n"
	args := []string{"import", "-", "--schema", schema, "--output", "json"}
	dry := offsetctl(t, stdin, args...)
	wantCode(t, dry, exitOK, args...)
	wantUnchanged(t, store, before, "a dry run")
	plan := parsePlan(t, dry.stdout)
	if len(plan) != 3 {
		t.Fatalf("the dry run printed %d changes; want 3, one per line: %v", len(plan), dry)
	}

	args = append(args, "--execute")
	r := offsetctl(t, stdin, args...)
	wantCode(t, r, exitOK, args...)
	if r.stdout != dry.stdout {
		t.Errorf("--execute printed\n%s\nthe dry run printed\n%s\nwant the same plan", r.stdout, dry.stdout)
	}
	if same, diff := sameOffsets(snapshot(t, store), applyPlan(t, before, plan)); !same {
		t.Errorf("after offsetctl %s, the table differs from the plan applied to it: %s", strings.Join(args, " "), diff)
	}
}

func TestImport_BadFileChangesNothingAndNamesTheLine(t *testing.T) {
	t.Parallel()
	good := `{"projectionName":"accounts","shardNumber":"0","value":"1","timestamp":"1"}`
	for _, tc := range []struct {
		name  string
		lines []string
		want  []string
	}{
		{"bad JSON", []string{good, `{"projectionName":"accounts",`}, []string{":2: ", "not an offset"}},
		{"not an object", []string{good, `[1, 2]`}, []string{":2: "}},
		{"unknown field", []string{`{"projectionName":"a","shard":1}`, good}, []string{":1: ", `unknown field "shard"`}},
		// valueTime, which offsets prints, is skipped; no other field is.
		{"unknown field beside valueTime", []string{good, `{"projectionName":"a","valueTime":"2026-11-26T11:00:00Z","shard":1}`}, []string{":2: ", `unknown field "shard"`}},
		{"field twice", []string{good, `{"projectionName":"a","value":"1","value":"2"}`}, []string{":2: ", `duplicate field "value"`}},
		{"shard out of range", []string{good, `{"projectionName":"a","shardNumber":"-1"}`}, []string{":2: ", "shardNumber"}},
		{"empty name", []string{good, `{"projectionName":"","value":"5"}`}, []string{":2: ", "projection name is empty"}},
		{"no name", []string{good, `{"value":"5"}`}, []string{":2: ", "projection name is empty"}},
		{"NUL in name", []string{good, `{"projectionName":"a\u0000b"}`}, []string{":2: ", "NUL"}},
		{"name too long", []string{good, `{"projectionName":"` + strings.Repeat("é", 256) + `"}`}, []string{":2: ", "256 characters", "at most 255"}},
		{"duplicate key", []string{good, `{"projectionName":"b"}`, good}, []string{":3: ", `projection "accounts" shard 0 is on line 1 already`}},
		{"invalid UTF-8", []string{good, "{\"projectionName\":\"\xff\"}"}, []string{":2: ", "UTF-8"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			schema, store := fixtureSchema(t, fixture())
			before := snapshot(t, store)
			file := filepath.Join(t.TempDir(), "bad.jsonl")
			writeFile(t, file, strings.Join(tc.lines, "\n")+"\n")
			args := []string{"import", file, "--schema", schema, "--execute"}
			r := offsetctl(t, "", args...)
			wantCode(t, r, exitFailure, args...)
			// One bad line is one error: one line, which names it and says
			// that nothing was imported.
			want := append([]string{"offsetctl: import: " + file + tc.want[0]}, tc.want[1:]...)
			wantOneLineError(t, r, append(want, ": nothing imported\n")...)
			if r.stdout != "" {
				t.Errorf("stdout = %q; want nothing", r.stdout)
			}
			wantUnchanged(t, store, before, "a bad import")
		})
	}
}

func TestImport_ReportsEveryBadLine(t *testing.T) {
	t.Parallel()
	// After a good line, 25 bad ones of every kind.
	good := `{"projectionName":"a"}`
	lines := []string{good}
	for i := range 25 {
		lines = append(lines, []string{`{"projectionName":`, `{"projectionName":""}`, good}[i%3])
	}
	file := filepath.Join(t.TempDir(), "bad.jsonl")
	writeFile(t, file, strings.Join(lines, "\n"))
	// The file is checked before anything connects: no server is needed.
	args := []string{"import", file, "--url", "postgres://nobody@127.0.0.1:1/none"}
	r := offsetctl(t, "", args...)
	wantCode(t, r, exitFailure, args...)
	got := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	if len(got) != maxProblems+2 {
		t.Fatalf("stderr has %d lines; want %d bad lines, a count of the others, and the verdict:\n%s", len(got), maxProblems, r.stderr)
	}
	for i := range maxProblems {
		if want := file + ":" + strconv.Itoa(i+2) + ": "; !strings.Contains(got[i], want) {
			t.Errorf("stderr line %d = %q; want it to name %q", i+1, got[i], want)
		}
	}
	if want := "5 more bad lines"; !strings.Contains(got[maxProblems], want) {
		t.Errorf("stderr line %d = %q; want %q", maxProblems+1, got[maxProblems], want)
	}
	if want := "has 25 bad lines: nothing imported"; !strings.Contains(got[maxProblems+1], want) {
		t.Errorf("last stderr line = %q; want %q", got[maxProblems+1], want)
	}
}

// TestImport_AllOrNothing makes the database refuse one line of a file
// that offsetctl finds good, with a constraint the test adds: the lines
// before it must not be written either.
func TestImport_AllOrNothing(t *testing.T) {
	t.Parallel()
	schema, store := fixtureSchema(t, fixture())
	conn, err := pgx.Connect(t.Context(), pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	table := pgx.Identifier{schema, postgres.DefaultTable}.Sanitize()
	if _, err := conn.Exec(t.Context(), "ALTER TABLE "+table+" ADD CONSTRAINT test_refuses_666 CHECK (current_offset <> 666)"); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, store)
	file := filepath.Join(t.TempDir(), "offsets.jsonl")
	writeFile(t, file, strings.Join([]string{
		`{"projectionName":"accounts","shardNumber":"0","value":"1","timestamp":"1"}`,
		`{"projectionName":"new","shardNumber":"0","value":"1","timestamp":"1"}`,
		`{"projectionName":"zzz","shardNumber":"0","value":"666","timestamp":"1"}`,
	}, "\n"))
	args := []string{"import", file, "--schema", schema, "--execute"}
	r := offsetctl(t, "", args...)
	wantCode(t, r, exitFailure, args...)
	wantOneLineError(t, r, "test_refuses_666")
	wantUnchanged(t, store, before, "an import the database refused")
}

// slowReader is an input that a pipe writes late, as a slow export into
// import - does: its first Read waits for delay.
type slowReader struct {
	delay time.Duration
	r     io.Reader
	once  sync.Once
}

func (s *slowReader) Read(p []byte) (int, error) {
	s.once.Do(func() { time.Sleep(s.delay) })
	return s.r.Read(p)
}

// TestImport_TimeoutStartsOnceTheInputIsRead feeds import - an input that
// arrives after --timeout has passed, as a pipe from a slow export does:
// --timeout bounds the work with the database, which answers at once, so
// the import must succeed, not blame the database for the pipe's delay.
func TestImport_TimeoutStartsOnceTheInputIsRead(t *testing.T) {
	t.Parallel()
	schema, store := fixtureSchema(t, fixture())
	line := `{"projectionName":"accounts","shardNumber":"0","value":"1","timestamp":"2"}` + "\n"
	env := []string{nowVariable + "=" + now.Format(time.RFC3339), urlVariable + "=" + pgtest.URL(t)}
	args := []string{"import", "-", "--schema", schema, "--execute", "--timeout", "3s"}
	r := runBinaryReading(t, env, &slowReader{delay: 6 * time.Second, r: strings.NewReader(line)}, args...)
	wantCode(t, r, exitOK, args...)
	got, err := store.GetCurrentOffset(t.Context(), &egopb.ProjectionId{ProjectionName: "accounts", ShardNumber: 0})
	if err != nil || got.GetValue() != 1 {
		t.Errorf("after offsetctl %s, GetCurrentOffset(ctx, {accounts 0}) = %v, %v; want value 1, <nil>", strings.Join(args, " "), got, err)
	}
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
