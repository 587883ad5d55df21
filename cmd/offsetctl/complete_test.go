package main

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// completions runs offsetctl __complete, the entry point the shells'
// scripts call, with args, and returns the candidates it printed, each
// "value\tdescription", and the directive.
func completions(t *testing.T, env []string, args ...string) ([]string, string) {
	t.Helper()
	args = append([]string{"__complete"}, args...)
	r := runBinary(t, env, "", args...)
	wantCode(t, r, exitOK, args...)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	return lines[:len(lines)-1], lines[len(lines)-1]
}

// values returns the values of candidates, without their descriptions.
func values(candidates []string) []string {
	var vs []string
	for _, c := range candidates {
		v, _, _ := strings.Cut(c, "\t")
		vs = append(vs, v)
	}
	return vs
}

// TestCompletion_FromTheStore completes what operators type, on each
// backend, through __complete: projection names from the store of the
// flags or of the environment, the shards of the projection named for
// --shard, and the values of --output.
func TestCompletion_FromTheStore(t *testing.T) {
	t.Parallel()
	backup := exportedBackup(t)
	for _, b := range testBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			flags := b.flags(t)
			args := append([]string{"import", "-", "--execute"}, flags...)
			wantCode(t, offsetctl(t, backup, args...), exitOK, args...)
			env := []string{nowVariable + "=" + now.Format(time.RFC3339)}
			for _, tc := range []struct {
				args []string
				// want are the candidates, or their values only if
				// values.
				want   []string
				values bool
				// directive is cobra's: 4 no file names, 1 an error.
				directive string
			}{
				// A name that a shell would get changed, with a tab, is left out.
				{[]string{"offsets", ""}, []string{"Audit\t1 shard", "accounts\t3 shards", "orders\t2 shards"}, false, ":4"},
				{[]string{"reset", "acc"}, []string{"accounts\t3 shards"}, false, ":4"},
				{[]string{"offsets", "accounts", ""}, nil, false, ":4"},
				{[]string{"export", "orders", ""}, []string{"Audit\t1 shard", "accounts\t3 shards"}, false, ":4"},
				{[]string{"reset", "accounts", "--to", "0", "--shard", ""}, []string{"0", "17", "270"}, true, ":4"},
				{[]string{"delete", "accounts", "--shard", "0", "--shard", ""}, []string{"17", "270"}, true, ":4"},
				{[]string{"delete", "accounts", "--shard", "270,"}, []string{"270,0", "270,17"}, true, ":4"},
				{[]string{"delete", "accounts", "--shard", "0"}, []string{"0\tvalue 1795694395000000000, 2026-11-26T11:59:55.000Z"}, false, ":4"},
				{[]string{"reset", "--shard", ""}, nil, false, ":4"},
				// A store that is not there: no candidates, and an error
				// the script heeds.
				{[]string{"offsets", "--url", "postgres://nobody@127.0.0.1:" + closedPort(t) + "/none", ""}, nil, false, ":1"},
			} {
				args := append(slices.Clip(flags), tc.args...)
				t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
					t.Parallel()
					got, directive := completions(t, env, args...)
					if tc.values {
						got = values(got)
					}
					if !slices.Equal(got, tc.want) || directive != tc.directive {
						t.Errorf("offsetctl __complete %s = %q, %s; want %q, %s", strings.Join(args, " "), got, directive, tc.want, tc.directive)
					}
				})
			}
			// The store of the environment, when no flag names it: the
			// URL of the backend's own variable.
			variable, url := postgresURLVariable, flags[1]
			if b.name == "nats" {
				variable = natsURLVariable
			}
			args = append([]string{"reset"}, flags[2:]...)
			got, directive := completions(t, append(env, variable+"="+url), append(args, "o")...)
			if !slices.Equal(got, []string{"orders\t2 shards"}) || directive != ":4" {
				t.Errorf("%s=%s offsetctl __complete %s o = %q, %s; want orders, :4", variable, url, strings.Join(args, " "), got, directive)
			}
		})
	}
}

// TestCompletion_OfTheCommandLine completes what needs no store: the
// values of --output after -o as after --output, commands, and flags,
// whose descriptions read as text, without the backquotes that name a
// flag's value in --help.
func TestCompletion_OfTheCommandLine(t *testing.T) {
	t.Parallel()
	outputs := []string{"table\ta table that fits 100 columns", "wide\ta table of every column", "json\tJSON lines, for programs"}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"projections", "--output", ""}, outputs},
		{[]string{"offsets", "accounts", "-o", ""}, outputs},
		{[]string{"export", "-o", "w"}, outputs[1:2]},
		{[]string{"--output", ""}, nil},
		{[]string{"help", "pro"}, []string{"projections\tlist projections: shard count, lowest value's time and age, last update; with --events-table, true lag"}},
	} {
		got, directive := completions(t, nil, tc.args...)
		if !slices.Equal(got, tc.want) || (tc.want != nil && directive != ":4") {
			t.Errorf("offsetctl __complete %s = %q, %s; want %q, :4", strings.Join(tc.args, " "), got, directive, tc.want)
		}
	}
	for _, args := range [][]string{{"projections", "-"}, {"import", "f", "--"}, {"reset", "a", "--to", "0", "--"}} {
		got, _ := completions(t, nil, args...)
		if len(got) < 5 {
			t.Fatalf("offsetctl __complete %s = %q; want every flag", strings.Join(args, " "), got)
		}
		for _, c := range got {
			name, desc, _ := strings.Cut(c, "\t")
			if desc == "" || strings.Contains(desc, "`") {
				t.Errorf("offsetctl __complete %s: %s has description %q; want one, without backquotes", strings.Join(args, " "), name, desc)
			}
		}
	}
	// --help itself keeps naming the values.
	r := offsetctl(t, "", "projections", "--help")
	if !strings.Contains(r.stdout, "--url URL") || !strings.Contains(r.stdout, "-o, --output FORMAT") {
		t.Errorf("offsetctl projections --help printed\n%s\nwant --url URL and -o, --output FORMAT", r.stdout)
	}
}
