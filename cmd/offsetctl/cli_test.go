package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ego-contrib/offsetstore/internal/pgtest"
	"github.com/ego-contrib/offsetstore/postgres"
)

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{nil, []string{"no command given", "(see 'offsetctl --help')"}},
		{[]string{"list"}, []string{`unknown command "list"`, "projections, offsets, reset"}},
		// A typo: the nearest commands, as cobra finds them.
		{[]string{"projectons"}, []string{`unknown command "projectons": did you mean projections?`}},
		{[]string{"--url", noServer, "ofsets", "accounts"}, []string{`unknown command "ofsets": did you mean offsets?`}},
		{[]string{"help", "exprot"}, []string{`unknown command "exprot": did you mean export?`}},
		{[]string{"completion", "bsh"}, []string{`completion: unknown command "bsh": did you mean bash or zsh?`}},
		{[]string{"version", "now"}, []string{`unknown command "now" for "offsetctl version"`}},
		{[]string{"--bogus", "projections"}, []string{"unknown flag: --bogus"}},
		{[]string{"projections", "extra"}, []string{"projections: accepts 0 arg(s), received 1", "(see 'offsetctl projections --help')"}},
		{[]string{"projections", "--output", "yaml"}, []string{`--output "yaml": want table, wide or json`}},
		{[]string{"projections", "-o", "yaml"}, []string{`--output "yaml": want table, wide or json`}},
		{[]string{"projections", "--timeout", "soon"}, []string{`--timeout "soon"`, "duration"}},
		{[]string{"projections", "--timeout", "-1s"}, []string{"--timeout -1s"}},
		{[]string{"offsets"}, []string{"offsets: accepts 1 arg(s), received 0", "(see 'offsetctl offsets --help')"}},
		{[]string{"offsets", "a", "b"}, []string{"offsets: accepts 1 arg(s), received 2"}},
		// Names are checked as the backend of --url checks them, before
		// it is dialled: the cases need no server, and no variable of the
		// environment.
		{[]string{"offsets", "", "--url", noServer}, []string{"projection name is empty"}},
		{[]string{"offsets", strings.Repeat("x", 256), "--url", noServer}, []string{"256 characters"}},
		{[]string{"reset", "accounts"}, []string{"reset: at least one of the flags in the group [to to-time by-duration shift-by] is required", "(see 'offsetctl reset --help')"}},
		{[]string{"reset", "accounts", "--to", "0", "--by-duration", "1h"}, []string{"if any flags in the group [to to-time by-duration shift-by] are set none of the others can be; [by-duration to] were all set"}},
		{[]string{"reset", "accounts", "--shift-by", "-5", "--to-time", "2026-11-26T11:00:00Z"}, []string{"[shift-by to-time] were all set"}},
		{[]string{"reset", "accounts", "--to-time", "yesterday"}, []string{`--to-time "yesterday": want an RFC 3339 time such as 2026-11-26T14:05:00Z`}},
		{[]string{"reset", "accounts", "--to-time", "2026-11-26 11:00:00"}, []string{`--to-time "2026-11-26 11:00:00": want an RFC 3339 time`}},
		{[]string{"reset", "accounts", "--to-time", "2263-01-01T00:00:00Z"}, []string{`--to-time "2263-01-01T00:00:00Z": want a time from 1677-09-21 to 2262-04-11`}},
		{[]string{"reset", "accounts", "--by-duration", "1d"}, []string{`--by-duration "1d": want a duration such as 90m`}},
		{[]string{"reset", "accounts", "--by-duration", "-1h"}, []string{"--by-duration -1h0m0s: want a duration above 0"}},
		{[]string{"reset", "accounts", "--by-duration", "0s"}, []string{"--by-duration 0s: want a duration above 0"}},
		{[]string{"reset", "accounts", "--shift-by", "1.5"}, []string{`--shift-by "1.5": want an integer`}},
		{[]string{"reset", "accounts", "--to"}, []string{"flag needs an argument: --to"}},
		{[]string{"reset", "accounts", "--to", "zero"}, []string{`--to "zero": want an integer`}},
		{[]string{"reset", "accounts", "--to", "9223372036854775808"}, []string{`--to "9223372036854775808"`}},
		{[]string{"reset", "accounts", "--to", "0", "--shard", "-1"}, []string{`--shard "-1": want shard numbers`}},
		{[]string{"reset", "accounts", "--to", "0", "--execute=maybe"}, []string{`--execute "maybe"`}},
		{[]string{"delete", "accounts", "--to", "0"}, []string{"delete: unknown flag: --to"}},
		{[]string{"export", "--output", "yaml"}, []string{`export: --output "yaml": want table, wide or json`}},
		{[]string{"export", "--output", ""}, []string{`export: --output "": want table, wide or json`}},
		// Before the command, --output is checked as after it.
		{[]string{"--output", "yaml", "projections"}, []string{`projections: --output "yaml": want table, wide or json`}},
		{[]string{"--output", "", "export"}, []string{`export: --output "": want table, wide or json`}},
		// help prints no rows: --output is as unknown to it before the
		// command as after.
		{[]string{"help", "--output", "json"}, []string{"help: unknown flag: --output", "(see 'offsetctl help --help')"}},
		{[]string{"--output", "json", "help"}, []string{"help: unknown flag: --output", "(see 'offsetctl help --help')"}},
		{[]string{"--output", "json", "help", "offsets"}, []string{"help: unknown flag: --output"}},
		{[]string{"import"}, []string{"import: accepts 1 arg(s), received 0"}},
		// import creates a missing table by itself now; the flag that asked
		// for it is gone.
		{[]string{"import", "offsets.jsonl", "--create-table"}, []string{"import: unknown flag: --create-table"}},
		// Refused before anything is sent: the address is never dialled,
		// so the case needs no server.
		{[]string{"projections", "--table", "", "--url", "postgres://nobody@127.0.0.1:1/none"}, []string{"table name is empty"}},
		{[]string{"help", "nosuch"}, []string{`unknown command "nosuch"`}},
		{[]string{"projections", "--url", "mysql://user:secret@host/db"}, []string{`--url scheme "mysql": want postgres://, postgresql://, nats:// or tls://`}},
		{[]string{"projections", "--bucket", "b", "--url", "postgres://user:secret@host/db"}, []string{"--bucket is for NATS"}},
		{[]string{"projections", "--table", "t", "--url", "nats://user:secret@127.0.0.1:1"}, []string{"--schema and --table are for PostgreSQL"}},
		{[]string{"offsets", "a", "--bucket", "a.b", "--url", "nats://user:secret@127.0.0.1:1"}, []string{`bucket name "a.b"`}},
		{[]string{"completion", "tcsh"}, []string{"completion: unknown command \"tcsh\": one of bash, zsh, fish, powershell"}},
		// The events table: its flags, checked before anything is sent.
		{[]string{"projections", "--events-schema", "s", "--url", noServer}, []string{"give --events-table too"}},
		{[]string{"offsets", "a", "--events-url", noServer, "--url", noServer}, []string{"give --events-table too"}},
		{[]string{"projections", "--events-table", "events_store", "--url", "nats://user:secret@127.0.0.1:1"}, []string{"the offsets are in NATS; give --events-url"}},
		{[]string{"offsets", "a", "--events-table", "e", "--events-url", "postgres://user:secret@host:notaport/db", "--url", noServer}, []string{"cannot use --events-url", "invalid port"}},
		{[]string{"offsets", "a", "--events-table", "e", "--url", "postgres://user:secret@host/db?sslmode=bogus"}, []string{"cannot use --url", "sslmode is invalid"}},
		// NATS's credentials and TLS: for NATS only, and checked first.
		{[]string{"projections", "--creds", "user.creds", "--url", noServer}, []string{"--creds is for NATS"}},
		{[]string{"projections", "--tls-ca", "ca.pem", "--url", noServer}, []string{"--tls-ca is for NATS"}},
		{[]string{"import", "offsets.jsonl", "--replicas", "3", "--url", noServer}, []string{"--replicas is for NATS"}},
		// 0 is given, not the flag's default: refused as any other value.
		{[]string{"import", "offsets.jsonl", "--replicas", "0", "--url", noServer}, []string{"--replicas is for NATS"}},
		{[]string{"import", "offsets.jsonl", "--replicas", "-1", "--url", "nats://127.0.0.1:1"}, []string{"--replicas -1: want 1 or more"}},
		{[]string{"projections", "--creds", "/nonexistent/user.creds", "--url", "nats://127.0.0.1:1"}, []string{"--creds /nonexistent/user.creds: no such file or directory"}},
		{[]string{"projections", "--nkey", "/nonexistent/user.nk", "--url", "nats://127.0.0.1:1"}, []string{"--nkey /nonexistent/user.nk: no such file or directory"}},
		{[]string{"projections", "--nkey", os.DevNull, "--url", "nats://127.0.0.1:1"}, []string{"--nkey " + os.DevNull + ": "}},
		{[]string{"projections", "--creds", os.DevNull, "--nkey", os.DevNull, "--url", "nats://127.0.0.1:1"}, []string{"--creds and --nkey: give one"}},
		{[]string{"projections", "--tls-cert", "client.pem", "--url", "nats://127.0.0.1:1"}, []string{"--tls-cert and --tls-key go together"}},
		{[]string{"projections", "--tls-cert", os.DevNull, "--tls-key", os.DevNull, "--url", "nats://127.0.0.1:1"}, []string{"--tls-cert " + os.DevNull + " and --tls-key " + os.DevNull + ": "}},
		{[]string{"projections", "--tls-ca", os.DevNull, "--url", "tls://127.0.0.1:1"}, []string{"--tls-ca " + os.DevNull + ": no PEM certificate in it"}},
		{[]string{"completion"}, []string{"completion: no shell given: one of bash, zsh, fish, powershell"}},
		{[]string{"projections", "--url", "postgres://user:secret@host:notaport/db"}, []string{"cannot use --url", "invalid port"}},
		// The string parses, but names what the driver cannot use: the
		// error says what, not that the string is not a connection string.
		{[]string{"projections", "--url", "postgres://user:secret@host/db?sslmode=bogus"}, []string{"cannot use --url", "sslmode is invalid"}},
		{[]string{"projections", "--url", "postgres://user:secret@host/db?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem"},
			[]string{"cannot use --url", "/nonexistent/ca.pem: no such file or directory"}},
		{[]string{"projections", "--url", "host=host password=secret port=notaport"}, []string{"cannot use --url", "invalid port"}},
		// A pool setting the store would refuse is refused before anything
		// is sent, and without the string the driver's error quotes.
		{[]string{"projections", "--url", "postgres://user:secret@host/db?pool_max_conns=many"}, []string{"cannot use --url", `pool_max_conns (strconv.ParseInt: parsing "many"`}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			r := offsetctl(t, "", tc.args...)
			wantCode(t, r, exitUsage, tc.args...)
			wantOneLineError(t, r, tc.want...)
			if strings.Contains(r.stderr, "secret") {
				t.Errorf("stderr = %q; want no password in it", r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q; want nothing", r.stdout)
			}
		})
	}
}

func TestUsageError_NoDatabase(t *testing.T) {
	t.Parallel()
	// No --url, no OFFSETSTORE_URL and no OFFSETSTORE_POSTGRES_URL.
	args := []string{"projections"}
	r := runBinary(t, nil, "", args...)
	wantCode(t, r, exitUsage, args...)
	wantOneLineError(t, r, "no store given", "--url", urlVariable, postgresURLVariable)
}

func TestUsageError_BadClock(t *testing.T) {
	t.Parallel()
	args := []string{"projections"}
	r := runBinary(t, []string{nowVariable + "=yesterday"}, "", args...)
	wantCode(t, r, exitUsage, args...)
	wantOneLineError(t, r, nowVariable, "RFC 3339")
}

func TestHelp_EveryCommandHasAnExample(t *testing.T) {
	t.Parallel()
	root := newRootCommand(&env{})
	var names []string
	for _, c := range root.Commands() {
		names = append(names, c.Name())
	}
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		r := offsetctl(t, "", args...)
		wantCode(t, r, exitOK, args...)
		for _, want := range append(names, "Examples:", "--url", "Exit status", "stop", nowVariable, urlVariable, postgresURLVariable, natsURLVariable,
			credsVariable, nkeyVariable, tlsCertVariable, tlsKeyVariable, tlsCAVariable, "--creds", "--nkey", "--tls-cert", "--tls-key", "--tls-ca", "--version",
			"--events-table", "AGE is not lag", "undo", "2000-01-01", "2100-01-01") {
			if !strings.Contains(strings.ToLower(r.stdout), strings.ToLower(want)) {
				t.Errorf("offsetctl %s printed\n%s\nwant it to mention %q", strings.Join(args, " "), r.stdout, want)
			}
		}
		// offsetctl alone is a usage error: its help shows no such line.
		if !strings.Contains(r.stdout, "Usage:\n  offsetctl [command]\n") || strings.Contains(r.stdout, "offsetctl [flags]") {
			t.Errorf("offsetctl %s printed\n%s\nwant the usage offsetctl [command] alone", strings.Join(args, " "), r.stdout)
		}
		if r.stderr != "" {
			t.Errorf("offsetctl %s: stderr = %q; want nothing", strings.Join(args, " "), r.stderr)
		}
	}
	for _, c := range root.Commands() {
		// Read before the subtests run in parallel: cobra makes a
		// command's flag set on first use.
		name, rows := c.Name(), c.Flags().Lookup("output") != nil
		for _, args := range [][]string{{name, "--help"}, {"help", name}, {name, "-h", "--to", "x"}} {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				t.Parallel()
				r := offsetctl(t, "", args...)
				wantCode(t, r, exitOK, args...)
				for _, want := range []string{"Usage:\n  offsetctl " + name, "Examples:\n  offsetctl " + name, "Flags:", "--url URL"} {
					if !strings.Contains(r.stdout, want) {
						t.Errorf("printed\n%s\nwant it to say %q", r.stdout, want)
					}
				}
				// Every command that prints rows takes --output, and says
				// which format it prints without it.
				if rows {
					want := "(default table)"
					if name == "export" {
						want = "(default json)"
					}
					if !strings.Contains(r.stdout, "--output FORMAT") || !strings.Contains(r.stdout, want) {
						t.Errorf("printed\n%s\nwant --output FORMAT, %s", r.stdout, want)
					}
				}
				if r.stderr != "" {
					t.Errorf("stderr = %q; want nothing", r.stderr)
				}
			})
		}
	}
}

// closedPort returns a port of 127.0.0.1 that nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	return port
}

// silentServer returns the address of a server that accepts connections
// and never answers, as a server behind a dropped network route or a
// stopped process does.
func silentServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

func TestUnreachableServer(t *testing.T) {
	t.Parallel()
	refused := "127.0.0.1:" + closedPort(t)
	refused2 := "127.0.0.1:" + closedPort(t)
	silent := silentServer(t)
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"refused", []string{"projections", "--url", "postgres://postgres@" + refused + "/app"},
			[]string{"cannot connect to database app on " + refused + ": connection refused"}},
		{"refused, every command", []string{"reset", "accounts", "--to", "0", "--execute", "--url", "postgres://postgres@" + refused + "/app"},
			[]string{"reset: cannot connect to database app on " + refused}},
		{"refused, two addresses", []string{"projections", "--url", "postgres://postgres@" + refused + "," + refused2 + "/app"},
			[]string{"cannot connect to database app on " + refused + " or " + refused2 + ": " + refused + ": connection refused; " + refused2 + ": connection refused"}},
		{"refused, NATS", []string{"projections", "--url", "nats://user:secret@" + refused},
			[]string{"cannot connect to NATS at " + refused + ": no server answered"}},
		{"silent, NATS", []string{"projections", "--timeout", "1s", "--url", "nats://user:secret@" + silent}, []string{"no answer from NATS at " + silent}},
		{"silent, NATS, after the client's own timeout", []string{"offsets", "accounts", "--timeout", "20s", "--url", "nats://" + silent},
			[]string{"no answer from NATS at " + silent + ": the connection timed out"}},
		{"no such host", []string{"offsets", "accounts", "--url", "postgres://postgres@nosuchhost.invalid:5432/app"},
			[]string{"nosuchhost.invalid:5432", "cannot resolve host nosuchhost.invalid"}},
		{"silent", []string{"projections", "--timeout", "1s", "--url", "postgres://postgres@" + silent + "/app"},
			[]string{"no answer from database app on " + silent + " within 1s (--timeout)"}},
		{"silent, before the command", []string{"--timeout", "500ms", "--url", "postgres://postgres@" + silent + "/app", "export"},
			[]string{"export: no answer from database app on " + silent + " within 500ms"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// runBinary fails the test if the command does not end by
			// itself.
			r := offsetctl(t, "", tc.args...)
			wantCode(t, r, exitFailure, tc.args...)
			wantOneLineError(t, r, tc.want...)
			if r.stdout != "" {
				t.Errorf("stdout = %q; want nothing", r.stdout)
			}
			if strings.Contains(r.stderr, "secret") {
				t.Errorf("stderr = %q; want no password in it", r.stderr)
			}
		})
	}
	// Each command starts the timeout itself, when it connects: every one
	// must give up on a server that never answers.
	for _, args := range [][]string{
		{"projections"},
		{"offsets", "accounts"},
		{"reset", "accounts", "--to", "0", "--execute"},
		{"delete", "accounts", "--execute"},
		{"export", "accounts"},
		{"import", "-", "--execute"},
	} {
		t.Run("silent, "+args[0], func(t *testing.T) {
			t.Parallel()
			args := append(args, "--timeout", "1s", "--url", "postgres://postgres@"+silent+"/app")
			r := offsetctl(t, `{"projectionName":"accounts"}`, args...)
			wantCode(t, r, exitFailure, args...)
			wantOneLineError(t, r, args[0]+": no answer from database app on "+silent+" within 1s (--timeout)")
		})
	}
}

// TestTimeout_ReturnsAtTheDeadline checks that --timeout bounds a command
// whose server never answers. It measures no speed: the bound it checks,
// twenty times the timeout, only tells a command that ends at its deadline
// from one that waits for the server (runBinary's own bound, a minute, is
// for commands that hang). It runs alone, so that the other tests' load
// does not stretch the process's start.
func TestTimeout_ReturnsAtTheDeadline(t *testing.T) {
	silent := silentServer(t)
	args := []string{"projections", "--timeout", "1s", "--url", "postgres://postgres@" + silent + "/app"}
	start := time.Now()
	r := offsetctl(t, "", args...)
	if elapsed := time.Since(start); elapsed > 20*time.Second {
		t.Errorf("offsetctl %s took %v; want it to give up after about 1s", strings.Join(args, " "), elapsed)
	}
	wantCode(t, r, exitFailure, args...)
}

// TestTimeout_LockedTableIsNotAnUnansweredServer holds a lock that the
// command waits for, as an open transaction of another session does: the
// server answers, and the error must say so, not send the operator
// looking for a network fault.
func TestTimeout_LockedTableIsNotAnUnansweredServer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// lock is what the other session runs in its open transaction.
		lock string
		args []string
	}{
		// A row of the projection written and not yet committed, by a
		// writer that takes no lock of the store's: the reset's UPDATE
		// waits for it.
		{"row written", `UPDATE %s SET current_offset = 1 WHERE projection_name = 'accounts'`, []string{"reset", "accounts", "--to", "0", "--execute"}},
		// A migration: even Connect's check of the table waits.
		{"table locked", `LOCK TABLE %s IN ACCESS EXCLUSIVE MODE`, []string{"projections"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			schema, store := fixtureSchema(t, fixture())
			before := snapshot(t, store)
			conn, err := pgx.Connect(t.Context(), pgtest.URL(t))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(context.Background())
			tx, err := conn.Begin(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			table := pgx.Identifier{schema, postgres.DefaultTable}.Sanitize()
			if _, err := tx.Exec(t.Context(), fmt.Sprintf(tc.lock, table)); err != nil {
				t.Fatal(err)
			}
			args := append(tc.args, "--schema", schema, "--timeout", "1s")
			r := offsetctl(t, "", args...)
			if err := tx.Rollback(context.Background()); err != nil {
				t.Fatal(err)
			}
			wantCode(t, r, exitFailure, args...)
			wantOneLineError(t, r, "answered, but a statement on table "+table+" did not finish within 1s (--timeout)", "lock")
			if strings.Contains(r.stderr, "no answer") {
				t.Errorf("stderr = %q; want no claim that the server did not answer", r.stderr)
			}
			wantUnchanged(t, store, before, "offsetctl "+strings.Join(args, " ")+" that timed out")
		})
	}
}

// noServer is a --url that no test dials: the calls that use it fail
// before they connect.
const noServer = "postgres://nobody@127.0.0.1:1/none"

func TestFileErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want []string
	}{
		// A file name is the user's, and may hold a newline: the error
		// still takes one line.
		{[]string{"import", filepath.Join(dir, "no\nsuch.jsonl"), "--url", noServer}, []string{`cannot read "` + dir + `/no\nsuch.jsonl": no such file or directory`}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			r := offsetctl(t, "", tc.args...)
			wantCode(t, r, exitFailure, tc.args...)
			wantOneLineError(t, r, tc.want...)
		})
	}
}

// TestMissingTable runs the commands that only read or change offsets
// already there against a table that does not exist, in a schema that
// exists and in one that does not: each must fail, naming the table, and
// create nothing, so that a typo in --schema or --table is caught rather
// than served an empty table. import, which writes offsets, creates the
// table instead (TestExportImport_RoundTripIntoAnEmptySchema).
func TestMissingTable(t *testing.T) {
	t.Parallel()
	schema, _ := fixtureSchema(t, fixture())
	missingSchema := pgtest.Schema(t)
	// A pool, not a connection: the subtests, in parallel, use it after
	// this function has returned.
	conn, err := pgxpool.New(t.Context(), pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	// A table that is there but is not eGo's: --table names another one.
	other := pgx.Identifier{schema, "accounts"}.Sanitize()
	if _, err := conn.Exec(t.Context(), "CREATE TABLE "+other+" (id bigint PRIMARY KEY, owner text)"); err != nil {
		t.Fatal(err)
	}
	typo := pgx.Identifier{schema, "nosuch"}.Sanitize()
	inMissingSchema := pgx.Identifier{missingSchema, "offsets_store"}.Sanitize()
	for _, tc := range []struct {
		args []string
		want []string
		// absent is the table that must still not exist afterwards.
		absent string
	}{
		{[]string{"projections", "--schema", schema, "--table", "nosuch"},
			[]string{"table " + typo + " does not exist", "check --schema and --table", "import --execute creates it", "or run: CREATE SCHEMA IF NOT EXISTS", "CREATE TABLE IF NOT EXISTS " + typo + " ("}, typo},
		{[]string{"offsets", "accounts", "--schema", missingSchema},
			[]string{"table " + inMissingSchema + " does not exist"}, inMissingSchema},
		{[]string{"reset", "accounts", "--to", "0", "--execute", "--schema", missingSchema},
			[]string{"table " + inMissingSchema + " does not exist"}, inMissingSchema},
		{[]string{"reset", "accounts", "--to", "0", "--execute", "--schema", schema, "--table", "nosuch"},
			[]string{"table " + typo + " does not exist"}, typo},
		{[]string{"delete", "accounts", "--execute", "--schema", schema, "--table", "nosuch"},
			[]string{"table " + typo + " does not exist"}, typo},
		{[]string{"export", "--schema", missingSchema},
			[]string{"table " + inMissingSchema + " does not exist"}, inMissingSchema},
		{[]string{"projections", "--schema", schema, "--table", "accounts"},
			[]string{"table " + other + " in database", "is not an offsets table", `column "projection_name" does not exist`, "check --schema and --table"}, ""},
		// import creates a table that is missing, but one that is there
		// and is not eGo's it must leave alone.
		{[]string{"import", "-", "--execute", "--schema", schema, "--table", "accounts"},
			[]string{"table " + other + " in database", "is not an offsets table"}, ""},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			r := offsetctl(t, `{"projectionName":"a"}`, tc.args...)
			wantCode(t, r, exitFailure, tc.args...)
			wantOneLineError(t, r, tc.want...)
			if tc.absent == "" {
				return
			}
			var exists bool
			if err := conn.QueryRow(t.Context(), "SELECT to_regclass($1) IS NOT NULL", tc.absent).Scan(&exists); err != nil {
				t.Fatal(err)
			}
			if exists {
				t.Errorf("after offsetctl %s, table %s exists; want it not created", strings.Join(tc.args, " "), tc.absent)
			}
		})
	}
}

// TestMissingTable_TheStatementPrintedCreatesIt runs the statement that
// the error on a missing table prints, as an operator without the source
// tree pastes it into psql: the table it makes must be one offsetctl
// works on, in a schema that did not exist either.
func TestMissingTable_TheStatementPrintedCreatesIt(t *testing.T) {
	t.Parallel()
	schema := pgtest.Schema(t)
	args := []string{"projections", "--schema", schema, "--table", "my offsets"}
	r := offsetctl(t, "", args...)
	wantCode(t, r, exitFailure, args...)
	_, statement, ok := strings.Cut(strings.TrimSuffix(r.stderr, "\n"), "or run: ")
	if !ok {
		t.Fatalf("offsetctl %s: stderr = %q; want the statement that creates the table", strings.Join(args, " "), r.stderr)
	}
	conn, err := pgx.Connect(t.Context(), pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), statement); err != nil {
		t.Fatalf("Exec(%q) = %v; want the statement offsetctl printed to run", statement, err)
	}
	r = offsetctl(t, `{"projectionName":"accounts","shardNumber":"3","value":"7"}`, "import", "-", "--execute", "--schema", schema, "--table", "my offsets")
	wantCode(t, r, exitOK, "import")
	if strings.Contains(r.stderr, "created") {
		t.Errorf("import into the table the statement made: stderr = %q; want no table created, the statement's being there", r.stderr)
	}
	r = offsetctl(t, "", "offsets", "accounts", "--schema", schema, "--table", "my offsets", "-o", "json")
	wantCode(t, r, exitOK, "offsets")
	if !strings.Contains(r.stdout, `"shardNumber":"3","value":"7"`) {
		t.Errorf("offsets accounts in the table the statement made printed %q; want shard 3 at 7", r.stdout)
	}
}

// TestCompletion_PrintsAScript checks that offsetctl completion prints a
// script each shell loads, naming offsetctl, and nothing else.
func TestCompletion_PrintsAScript(t *testing.T) {
	t.Parallel()
	for shell, want := range map[string]string{
		"bash": "complete -o default -F __start_offsetctl offsetctl",
		"zsh":  "#compdef offsetctl",
		"fish": "complete -c offsetctl ",
	} {
		t.Run(shell, func(t *testing.T) {
			t.Parallel()
			r := offsetctl(t, "", "completion", shell)
			wantCode(t, r, exitOK, "completion", shell)
			if !strings.Contains(r.stdout, want) || r.stderr != "" {
				t.Errorf("offsetctl completion %s printed %d bytes, stderr %q; want a script with %q, and no stderr", shell, len(r.stdout), r.stderr, want)
			}
		})
	}
}
