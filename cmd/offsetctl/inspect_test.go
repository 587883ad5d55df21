package main

import (
	"testing"
)

func TestProjections_Golden(t *testing.T) {
	t.Parallel()
	schema, _ := fixtureSchema(t, fixture())
	for _, tc := range []struct {
		output, golden string
	}{
		{"table", "projections.golden"},
		{"json", "projections.json.golden"},
	} {
		t.Run(tc.output, func(t *testing.T) {
			t.Parallel()
			args := []string{"projections", "--schema", schema, "--output", tc.output}
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
	if want := "no projection has offsets in table \"" + schema + "\".\"offsets_store\""; !contains(r.stderr, want) {
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
