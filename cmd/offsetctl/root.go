package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ego-contrib/offsetstore/nats"
)

// An env is what every command runs with: where it reads and writes, its
// clock, and the flags that say which store to work on.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	now            func() time.Time
	// url, schema, table, bucket and timeout are the flags that say
	// where the offsets are; urlFrom is where url came from, --url or an
	// environment variable, for messages.
	url, schema, table, bucket string
	urlFrom                    string
	timeout                    time.Duration
	// nats are the flags of NATS's credentials and TLS.
	nats natsOptions
	// replicas is import's --replicas, 0 if not given; replicasGiven
	// says whether it was, so that a 0 given is refused, not taken for
	// the store's default.
	replicas      int
	replicasGiven bool
	// ran is set once a command's own code runs: an error before that is
	// the command line's.
	ran bool
	// choose picks the backend of --url; tests replace it with a fake.
	choose func() (*backend, error)
}

const rootHelp = `offsetctl shows and changes the projection offsets eGo keeps in PostgreSQL
(--url postgres://...) or NATS JetStream (--url nats://...).

eGo writes an event's time into the value, in Unix nanoseconds: a value
from 2000-01-01 up to, not including, 2100-01-01 UTC is shown as that time
too, with its AGE, now minus that time; any other value (0, a counter, a
time in milliseconds) shows no time. AGE is not lag: a projection that is
caught up but idle ages. True lag, how far the events are ahead of the
offsets, comes from eGo's events table: --events-table of projections and
offsets.

reset, delete and import print what they would change, and change nothing
without --execute. Stop a projection before, and start it after: eGo reads
offsets only when a projection starts. The --output json of reset and
delete is an undo: import puts back the offsets as they were before.

Exit status: 0 success, 1 failure, 2 usage error; errors go to stderr, one
line each, as do the notes after a plan.

Environment (a flag given wins over its variable):
  ` + urlVariable + `            the default of --url
  ` + postgresURLVariable + `   the default of --url when ` + urlVariable + ` is unset
  ` + natsURLVariable + `       the default of --url when both above are unset
  ` + credsVariable + `     the default of --creds
  ` + nkeyVariable + `      the default of --nkey
  ` + tlsCertVariable + `  the default of --tls-cert
  ` + tlsKeyVariable + `   the default of --tls-key
  ` + tlsCAVariable + `    the default of --tls-ca
  ` + nowVariable + `              for tests and reproducible output only: an RFC 3339
                             time offsetctl takes as now`

// newRootCommand returns offsetctl's command line, running with e.
func newRootCommand(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "offsetctl",
		Short: "show and change the projection offsets eGo keeps",
		Long:  rootHelp,
		Example: `  export ` + urlVariable + `='postgres://user@db.example.com:5432/app'
  offsetctl projections --events-table events_store
  offsetctl reset accounts --by-duration 1h --execute -o json > undo.jsonl
  offsetctl import undo.jsonl --execute`,
		Version:       versionText(debug.ReadBuildInfo()),
		SilenceErrors: true,
		SilenceUsage:  true,
		// The connection flags may come before the command, as in
		// offsetctl --url nats://localhost:4222 projections.
		Args: subcommandArgs("command"),
		RunE: func(*cobra.Command, []string) error { return nil },
		// A typo of a command is answered by the nearest names, as
		// kubectl and gh answer; cobra's default, said here because
		// unknownCommand relies on it.
		SuggestionsMinimumDistance: 2,
	}
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(flagError)
	root.SetVersionTemplate("{{.Version}}")
	// offsetctl runs only to say that a command is missing: its usage is
	// its commands'.
	root.SetUsageTemplate(strings.Replace(root.UsageTemplate(), "{{if .Runnable}}", "{{if and .Runnable .HasParent}}", 1))
	fs := root.PersistentFlags()
	fs.StringVar(&e.url, "url", "", "the store's `URL`: postgres://, postgresql:// or a key=value string for PostgreSQL, nats:// or tls:// for NATS JetStream (default $"+urlVariable+", then $"+postgresURLVariable+", then $"+natsURLVariable+")")
	fs.StringVar(&e.schema, "schema", "", "PostgreSQL: `SCHEMA` of the table (default: the first schema of the search_path)")
	fs.StringVar(&e.table, "table", "offsets_store", "PostgreSQL: `TABLE` of the offsets")
	fs.StringVar(&e.bucket, "bucket", nats.DefaultBucket, "NATS: key-value `BUCKET` of the offsets")
	e.nats.addFlags(fs)
	fs.DurationVar(&e.timeout, "timeout", 30*time.Second, "give up on the store after `DURATION`; 0 for never")
	root.AddCommand(
		newProjectionsCommand(e),
		newOffsetsCommand(e),
		newResetCommand(e),
		newDeleteCommand(e),
		newExportCommand(e),
		newImportCommand(e),
		newVersionCommand(),
	)
	root.SetHelpCommand(&cobra.Command{
		Use:     "help [COMMAND]",
		Short:   "show offsetctl's help, or a command's",
		Example: "  offsetctl help reset",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if c, _, _ := root.Find(args); c != root || len(args) == 0 {
				return c.Help()
			}
			return unknownCommand(root, args[0])
		},
		ValidArgsFunction: func(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var names []cobra.Completion
			for _, c := range root.Commands() {
				if c.IsAvailableCommand() && strings.HasPrefix(c.Name(), toComplete) {
					names = append(names, cobra.CompletionWithDesc(c.Name(), c.Short))
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
	})
	root.InitDefaultVersionFlag()
	root.Flags().Lookup("version").Usage = "print offsetctl's version and revision, as the version command does"
	root.InitDefaultCompletionCmd()
	// A shell cobra has no script for is a usage error, not help.
	completion, _, _ := root.Find([]string{"completion"})
	completion.Args = subcommandArgs("shell")
	// The shells' names are short: two edits reach most of them.
	completion.SuggestionsMinimumDistance = 1
	completion.RunE = func(*cobra.Command, []string) error { return nil }
	completion.Example = "  offsetctl completion bash > ~/.local/share/bash-completion/completions/offsetctl\n  source <(offsetctl completion zsh)"
	return root
}

// start marks the start of a command's own code, and gives it the
// command's context.
func (e *env) start(cmd *cobra.Command) context.Context {
	e.ran = true
	return cmd.Context()
}

// subcommandArgs refuses the arguments of a command that only has
// subcommands, what they are: none, or one it does not have.
func subcommandArgs(what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return usagef("no %s given: one of %s", what, commandNames(cmd))
		}
		return unknownCommand(cmd, args[0])
	}
}

// unknownCommand returns a usage error unless cmd has a command name:
// one that names the commands nearest to name, if any are near, or else
// all of them.
func unknownCommand(cmd *cobra.Command, name string) error {
	if c, _, _ := cmd.Find([]string{name}); c != cmd {
		return nil
	}
	if near := cmd.SuggestionsFor(name); len(near) > 0 {
		last := len(near) - 1
		if last > 0 {
			near = append([]string{strings.Join(near[:last], ", ")}, near[last])
		}
		return usagef("unknown command %q: did you mean %s?", name, strings.Join(near, " or "))
	}
	return usagef("unknown command %q: one of %s", name, commandNames(cmd))
}

// commandNames lists the commands of cmd that its help lists.
func commandNames(cmd *cobra.Command) string {
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	return strings.Join(names, ", ")
}

// outputs are the values of --output, and what each prints.
var outputs = []cobra.Completion{
	cobra.CompletionWithDesc(formatTable, "a table that fits 100 columns"),
	cobra.CompletionWithDesc(formatWide, "a table of every column"),
	cobra.CompletionWithDesc(formatJSON, "JSON lines, for programs"),
}

// addOutputFlag adds -o, --output, of default def, to cmd.
func addOutputFlag(cmd *cobra.Command, o *string, def string) {
	*o = def
	cmd.Flags().FuncP("output", "o", "`FORMAT` of the rows: table; wide, a table of every column; or json, JSON lines (default "+def+")", func(s string) error {
		if s != formatTable && s != formatWide && s != formatJSON {
			return errors.New("want table, wide or json")
		}
		*o = s
		return nil
	})
	_ = cmd.RegisterFlagCompletionFunc("output", func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var values []cobra.Completion
		for _, v := range outputs {
			if strings.HasPrefix(v, toComplete) {
				values = append(values, v)
			}
		}
		return values, cobra.ShellCompDirectiveNoFileComp
	})
}

// addShardFlag adds --shard, which collects shards without repeats, in
// order; shards stays nil without it, which the store takes for all.
// A shell completes it with the shards of the projection named.
func addShardFlag(e *env, cmd *cobra.Command, shards *[]uint64, doing string) {
	cmd.Flags().Func("shard", doing+" shard `N` only; repeat, or list them as 1,2,3 (default: every shard)", func(s string) error {
		for part := range strings.SplitSeq(s, ",") {
			shard, err := strconv.ParseUint(strings.TrimSpace(part), 10, 64)
			if err != nil {
				return fmt.Errorf("want shard numbers from 0 to %d", uint64(math.MaxUint64))
			}
			if !slices.Contains(*shards, shard) {
				*shards = append(*shards, shard)
			}
		}
		return nil
	})
	_ = cmd.RegisterFlagCompletionFunc("shard", e.completeShard(shards))
}
