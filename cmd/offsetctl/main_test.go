package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/pgtest"
	"github.com/ego-contrib/offsetstore/postgres"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/ with what offsetctl prints")

// binary is offsetctl, built by TestMain: the tests run it as a user does.
var binary string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "offsetctl-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "offsetctl")
	args := []string{"build", "-o", binary}
	if raceEnabled {
		args = append(args, "-race")
	}
	// go test puts its own go first on PATH.
	build := exec.Command("go", append(args, ".")...)
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "go %s: %v\n", strings.Join(args, " "), err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	dropBenchSchema()
	os.RemoveAll(dir)
	os.Exit(code)
}

// now is the clock every test gives offsetctl through OFFSETCTL_NOW.
var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// A result is what a run of offsetctl printed and its exit code.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// offsetctl runs the binary with args, OFFSETCTL_NOW set to now and
// OFFSETSTORE_URL to the test server's URL (or unset when there
// is none), and with stdin as its standard input.
func offsetctl(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	// A zone far from UTC, with a 45-minute offset, so that a time printed
	// in local time shows in the golden files.
	env := []string{nowVariable + "=" + now.Format(time.RFC3339), "TZ=Asia/Kathmandu"}
	if url := os.Getenv(pgtest.URLVariable); url != "" {
		env = append(env, urlVariable+"="+url)
	}
	return runBinary(t, env, stdin, args...)
}

// runBinary runs the binary with args and the environment of the test
// process, minus offsetctl's variables (every OFFSETSTORE_ one, so that
// no server or credentials of the machine's leak in), plus env.
func runBinary(t *testing.T, env []string, stdin string, args ...string) result {
	t.Helper()
	return runBinaryReading(t, env, strings.NewReader(stdin), args...)
}

// runBinaryReading is runBinary with stdin read from a reader.
func runBinaryReading(t *testing.T, env []string, stdin io.Reader, args ...string) result {
	t.Helper()
	// No command may hang: a run that takes this long has failed, however
	// slow the machine.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "OFFSETSTORE_") || strings.HasPrefix(kv, nowVariable+"=") || strings.HasPrefix(kv, "TZ=")
	})
	if raceEnabled && os.Getenv("GORACE") == "" {
		// The race detector sleeps a second before a program exits, for
		// its other goroutines to report: offsetctl's have all returned
		// by then, and the hundreds of runs would wait minutes. A race
		// found still fails the run, with exit status 66.
		cmd.Env = append(cmd.Env, "GORACE=atexit_sleep_ms=0")
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("offsetctl %s: still running after a minute; killed", strings.Join(args, " "))
	}
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		r.code = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("offsetctl %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// wantCode fails the test unless r exited with code.
func wantCode(t *testing.T, r result, code int, args ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("offsetctl %s: %v; want exit %d", strings.Join(args, " "), r, code)
	}
}

// wantOneLineError fails the test unless stderr is one line that starts
// with offsetctl's prefix and holds every string of want.
func wantOneLineError(t *testing.T, r result, want ...string) {
	t.Helper()
	if !strings.HasPrefix(r.stderr, "offsetctl: ") || strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") {
		t.Errorf("stderr = %q; want one line starting with %q", r.stderr, "offsetctl: ")
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr = %q; want it to say %q", r.stderr, w)
		}
	}
}

// golden compares got with testdata/name, or rewrites that file with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// fixture is the content of the golden files' table: eGo-shaped, sparse
// shards (3 of 271 partitions), values in Unix nanoseconds as eGo writes
// them, a shard from 2^63 up, the negative value eGo resets to when it
// rebuilds from the zero time, a name that needs quoting in a table, names
// that sort differently in byte order and in a collation, and ages from
// seconds to days, one of them in the future.
func fixture() []*egopb.Offset {
	ms := func(d time.Duration) int64 { return now.Add(-d).UnixMilli() }
	ns := func(d time.Duration) int64 { return now.Add(-d).UnixNano() }
	return []*egopb.Offset{
		{ProjectionName: "accounts", ShardNumber: 0, Value: ns(5 * time.Second), Timestamp: ms(5 * time.Second)},
		{ProjectionName: "accounts", ShardNumber: 17, Value: ns(5*time.Minute + 3*time.Second), Timestamp: ms(5*time.Minute + 3*time.Second)},
		{ProjectionName: "accounts", ShardNumber: 270, Value: ns(26*time.Hour + 5*time.Minute), Timestamp: ms(26*time.Hour + 5*time.Minute)},
		{ProjectionName: "Audit", ShardNumber: 4, Value: 0, Timestamp: ms(3*24*time.Hour + 4*time.Hour + 250*time.Millisecond)},
		{ProjectionName: "orders", ShardNumber: 3, Value: 42, Timestamp: ms(59 * time.Second)},
		{ProjectionName: "orders", ShardNumber: 1<<63 + 5, Value: -62135596800000, Timestamp: ms(-90 * time.Second)},
		{ProjectionName: "tab\tname", ShardNumber: 1, Value: 7, Timestamp: ms(time.Hour)},
	}
}

// fixtureSchema returns a schema of the test's own holding offsets, and
// its store, connected.
func fixtureSchema(t testing.TB, offsets []*egopb.Offset) (string, *postgres.OffsetStore) {
	t.Helper()
	schema := pgtest.Schema(t)
	store := postgres.NewOffsetStore(pgtest.URL(t), postgres.WithSchema(schema), postgres.WithCreateTable())
	if err := store.Connect(t.Context()); err != nil {
		t.Fatalf("Connect(ctx) = %v; want <nil>", err)
	}
	t.Cleanup(func() {
		if err := store.Disconnect(context.Background()); err != nil {
			t.Errorf("Disconnect(ctx) = %v; want <nil>", err)
		}
	})
	if err := store.WriteOffsets(t.Context(), offsets); err != nil {
		t.Fatalf("WriteOffsets(ctx, fixture) = %v; want <nil>", err)
	}
	return schema, store
}

// snapshot returns every offset of store, or ends the test.
func snapshot(t *testing.T, store *postgres.OffsetStore) []*egopb.Offset {
	t.Helper()
	offsets, err := store.Snapshot(t.Context())
	if err != nil {
		t.Fatalf("Snapshot(ctx) = %v; want <nil>", err)
	}
	return offsets
}

// sameOffsets reports whether a and b hold the same offsets in the same
// order, and if not, the first difference.
func sameOffsets(a, b []*egopb.Offset) (bool, string) {
	for i := range max(len(a), len(b)) {
		if i >= len(a) || i >= len(b) {
			return false, fmt.Sprintf("%d offsets against %d", len(a), len(b))
		}
		x, y := a[i], b[i]
		if x.ProjectionName != y.ProjectionName || x.ShardNumber != y.ShardNumber || x.Value != y.Value || x.Timestamp != y.Timestamp {
			return false, fmt.Sprintf("offset %d: %v against %v", i, x, y)
		}
	}
	return true, ""
}

// wantUnchanged fails the test unless store holds exactly before.
func wantUnchanged(t *testing.T, store *postgres.OffsetStore, before []*egopb.Offset, what string) {
	t.Helper()
	if same, diff := sameOffsets(snapshot(t, store), before); !same {
		t.Errorf("after %s, the table changed: %s; want it unchanged", what, diff)
	}
}
