package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestProjections_Golden(t *testing.T) {
	t.Parallel()
	schema, _ := fixtureSchema(t, fixture())
	for _, tc := range []struct {
		name   string
		args   []string
		golden string
	}{
		{"table", []string{"projections", "--output", "table"}, "projections.golden"},
		{"json", []string{"projections", "--output", "json"}, "projections.json.golden"},
		// Before the command, as the connection flags may be.
		{"json before the command", []string{"--output", "json", "projections"}, "projections.json.golden"},
		// Given twice, the last one counts, as for every flag.
		{"json before, table after", []string{"--output", "json", "projections", "--output", "table"}, "projections.golden"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append(tc.args, "--schema", schema)
			r := offsetctl(t, "", args...)
			wantCode(t, r, exitOK, args...)
			if r.stderr != "" {
				t.Errorf("stderr = %q; want nothing", r.stderr)
			}
			golden(t, tc.golden, r.stdout)
		})
	}
}

func TestProjections_EmptyTableSaysSo(t *testing.T) {
	t.Parallel()
	schema, _ := fixtureSchema(t, nil)
	args := []string{"projections", "--schema", schema}
	r := offsetctl(t, "", args...)
	wantCode(t, r, exitOK, args...)
	if r.stdout != "" {
		t.Errorf("stdout = %q; want nothing", r.stdout)
	}
	if want := "no projection has offsets in table \"" + schema + "\".\"offsets_store\""; !strings.Contains(r.stderr, want) {
		t.Errorf("stderr = %q; want it to say %q", r.stderr, want)
	}
}

func TestOffsets_Golden(t *testing.T) {
	t.Parallel()
	schema, _ := fixtureSchema(t, fixture())
	for _, tc := range []struct {
		name, output, golden string
	}{
		{"accounts", "table", "offsets-accounts.golden"},
		{"orders", "table", "offsets-orders.golden"},
		{"orders", "json", "offsets-orders.json.golden"},
		{"tab\tname", "table", "offsets-tab.golden"},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			t.Parallel()
			// Flags after the name, as the issue writes the synopsis.
			args := []string{"offsets", tc.name, "--schema", schema, "--output", tc.output}
			r := offsetctl(t, "", args...)
			wantCode(t, r, exitOK, args...)
			if r.stderr != "" {
				t.Errorf("stderr = %q; want nothing", r.stderr)
			}
			golden(t, tc.golden, r.stdout)
		})
	}
}

func TestOffsets_UnknownProjectionFails(t *testing.T) {
	t.Parallel()
	schema, _ := fixtureSchema(t, fixture())
	// Names are case-sensitive: Accounts is not accounts.
	args := []string{"offsets", "Accounts", "--schema", schema}
	r := offsetctl(t, "", args...)
	wantCode(t, r, exitFailure, args...)
	wantOneLineError(t, r, `projection "Accounts" has no offsets`)
	if r.stdout != "" {
		t.Errorf("stdout = %q; want nothing", r.stdout)
	}
}

// TestExport_Golden checks both formats of export: JSON lines, its
// default, as export has always written them (export.json.golden was
// written by export before it took --output), and the table, which
// lists every projection's offsets as offsets lists one projection's.
func TestExport_Golden(t *testing.T) {
	t.Parallel()
	schema, _ := fixtureSchema(t, fixture())
	for _, tc := range []struct {
		name          string
		before, flags []string
		golden        string
	}{
		{"default", nil, nil, "export.json.golden"},
		{"json", nil, []string{"--output", "json"}, "export.json.golden"},
		{"table", nil, []string{"--output", "table"}, "export.golden"},
		{"table before the command", []string{"--output", "table"}, nil, "export.golden"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append(append(slices.Clip(tc.before), "export", "--schema", schema), tc.flags...)
			r := offsetctl(t, "", args...)
			wantCode(t, r, exitOK, args...)
			golden(t, tc.golden, r.stdout+"-- stderr --\n"+r.stderr)

			// --file writes what stdout shows.
			file := filepath.Join(t.TempDir(), "offsets")
			args = append(args, "--file", file)
			r2 := offsetctl(t, "", args...)
			wantCode(t, r2, exitOK, args...)
			if got, err := os.ReadFile(file); err != nil || string(got) != r.stdout {
				t.Errorf("offsetctl %s wrote %q, %v; want what stdout showed without --file:\n%s", strings.Join(args, " "), got, err, r.stdout)
			}
		})
	}
}

func TestExport_EmptyTablePrintsNoRows(t *testing.T) {
	t.Parallel()
	schema, _ := fixtureSchema(t, nil)
	for _, output := range []string{"table", "json"} {
		args := []string{"export", "--schema", schema, "--output", output}
		r := offsetctl(t, "", args...)
		wantCode(t, r, exitOK, args...)
		if r.stdout != "" {
			t.Errorf("offsetctl %s: stdout = %q; want nothing, not even a header", strings.Join(args, " "), r.stdout)
		}
		if want := "exported 0 offsets of 0 projections to stdout"; !strings.Contains(r.stderr, want) {
			t.Errorf("offsetctl %s: stderr = %q; want it to say %q", strings.Join(args, " "), r.stderr, want)
		}
	}
}
