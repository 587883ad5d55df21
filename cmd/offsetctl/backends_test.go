package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ego-contrib/offsetstore/internal/natstest"
	"github.com/ego-contrib/offsetstore/internal/pgtest"
)

// A testBackend is a store the binary runs against: the flags that name
// it, a store of the test's own, and what the messages call it.
type testBackend struct {
	name string
	// flags make the binary use a store of the test's own, which does not
	// exist yet.
	flags  func(t *testing.T) []string
	holder string
}

var testBackends = []testBackend{
	{"postgres", func(t *testing.T) []string {
		return []string{"--url", pgtest.URL(t), "--schema", pgtest.Schema(t)}
	}, "table"},
	{"nats", func(t *testing.T) []string {
		// A server of the test's own, in the test process; the bucket is
		// not the default, so that --bucket is what the binary uses.
		return []string{"--url", natstest.RunServer(t).URL(), "--bucket", "test_offsets"}
	}, "bucket"},
}

// exportedBackup returns the offsets export.json.golden holds, the
// export of the PostgreSQL tests' seed, without the stderr the golden
// file keeps after them.
func exportedBackup(t *testing.T) string {
	t.Helper()
	backup, err := os.ReadFile(filepath.Join("testdata", "export.json.golden"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(backup)
	return s[:strings.Index(s, "-- stderr --")]
}

// runner returns a function that runs offsetctl with args then flags,
// stdin as its input, and fails t unless it exits with code.
func runner(t *testing.T, flags []string) func(stdin string, code int, args ...string) result {
	return func(stdin string, code int, args ...string) result {
		t.Helper()
		args = append(args, flags...)
		r := offsetctl(t, stdin, args...)
		wantCode(t, r, code, args...)
		return r
	}
}

// TestBackends_SameSessionOnEach runs one session on PostgreSQL and on
// NATS JetStream, through the binary: a restore into a new store, which
// creates its table or bucket, then every command. Each must print what
// the goldens of the PostgreSQL tests hold, and leave the same offsets.
func TestBackends_SameSessionOnEach(t *testing.T) {
	t.Parallel()
	backup := exportedBackup(t)
	finals := make([]string, len(testBackends))
	t.Run("each", func(t *testing.T) {
		for i, b := range testBackends {
			t.Run(b.name, func(t *testing.T) {
				t.Parallel()
				flags := b.flags(t)
				run := runner(t, flags)
				r := run("", exitFailure, "projections")
				wantOneLineError(t, r, b.holder, "does not exist")
				r = run(backup, exitOK, "import", "-")
				if !strings.Contains(r.stderr, b.holder) || !strings.Contains(r.stderr, "--execute creates it") {
					t.Errorf("import - (dry run): stderr = %q; want it to say the %s is missing and --execute creates it", r.stderr, b.holder)
				}
				r = run(backup, exitOK, "import", "-", "--execute")
				if !strings.Contains(r.stderr, "created "+b.holder) {
					t.Errorf("import - --execute: stderr = %q; want it to say it created the %s", r.stderr, b.holder)
				}
				for _, g := range []struct {
					args   []string
					golden string
				}{
					{[]string{"projections"}, "projections.golden"},
					{[]string{"projections", "--output", "json"}, "projections.json.golden"},
					{[]string{"offsets", "accounts"}, "offsets-accounts.golden"},
					{[]string{"offsets", "orders", "--output", "json"}, "offsets-orders.json.golden"},
				} {
					golden(t, g.golden, run("", exitOK, g.args...).stdout)
				}
				golden(t, "export.json.golden", func() string { r := run("", exitOK, "export"); return r.stdout + "-- stderr --\n" + r.stderr }())
				golden(t, "reset-accounts.golden", func() string {
					r := run("", exitOK, "reset", "accounts", "--to", "0")
					return r.stdout + "-- stderr --\n" + r.stderr
				}())
				wantOneLineError(t, run("", exitFailure, "offsets", "nosuch"), `projection "nosuch" has no offsets in `+b.holder)
				wantOneLineError(t, run("", exitFailure, "reset", "orders", "--by-duration", "1h"), "which is not a time")
				run("", exitOK, "reset", "accounts", "--by-duration", "90m", "--shard", "0,270", "--execute")
				run("", exitOK, "reset", "accounts", "--to-time", "2026-11-26T11:00:00Z", "--shard", "17", "--execute")
				run("", exitOK, "reset", "orders", "--shift-by", "-8", "--execute")
				run("", exitOK, "reset", "tab\tname", "--to", "3", "--execute")
				run("", exitOK, "delete", "Audit", "--execute")
				finals[i] = run("", exitOK, "export").stdout
				if b.name == "nats" {
					// The offsets are in --bucket's bucket: the default one
					// was never made.
					args := []string{"projections", "--url", flags[1]}
					r := offsetctl(t, "", args...)
					wantCode(t, r, exitFailure, args...)
					wantOneLineError(t, r, `bucket "offsets_store" does not exist`)
				}
			})
		}
	})
	if finals[0] == "" || finals[1] == "" {
		return
	}
	if finals[0] != finals[1] {
		t.Errorf("after the same session, PostgreSQL holds\n%s\nNATS holds\n%s\nwant the same", finals[0], finals[1])
	}
	if finals[0] == backup {
		t.Errorf("after the session's resets and delete, the offsets are those restored; want them changed")
	}
}
