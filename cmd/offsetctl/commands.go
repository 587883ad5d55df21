package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// A command is one of offsetctl's subcommands.
type command struct {
	name string
	// args is the positional part of the synopsis, such as "NAME".
	args string
	// nargs checks the number of positional arguments.
	nargs func(n int) bool
	// summary is the line the command list shows.
	summary string
	// help is the rest of the command's --help, its example included.
	help string
	// flags defines the command's own flags beyond the connection's.
	flags func(fs *flag.FlagSet, o *options)
	// output is the format of the rows the command prints when --output
	// is not given, table or json; "" for a command that prints no rows,
	// and so takes no --output.
	output string
	run    func(ctx context.Context, inv *invocation) error
}

// options are the values of every flag a command may take.
type options struct {
	url, schema, table string
	timeout            time.Duration
	output             string
	// outputGiven tells --output "" from no --output.
	outputGiven bool

	to      optionalInt64
	shards  shardList
	execute bool
	file    string
}

// An invocation is a parsed command line and what it runs with.
type invocation struct {
	*streams
	getenv func(string) string
	now    func() time.Time
	opts   options
	args   []string
}

// errHelpShown ends an invocation that asked for help, which was printed.
var errHelpShown = errors.New("help shown")

var commands []*command

func init() {
	// helpCommand's run reads commands: assigning it here breaks the
	// initialization cycle.
	commands = []*command{
		projectionsCommand,
		offsetsCommand,
		resetCommand,
		deleteCommand,
		exportCommand,
		importCommand,
		helpCommand,
	}
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

func exactly(k int) func(int) bool { return func(n int) bool { return n == k } }
func atMost(k int) func(int) bool  { return func(n int) bool { return n <= k } }
func anyNumber(int) bool           { return true }

// parse reads args, the command line without the program's name, and
// returns the command to run. It returns errHelpShown once it has printed
// help that was asked for, and a usage error naming the command, when it
// knows it, for anything else.
func (inv *invocation) parse(args []string) (*command, error) {
	// The connection flags and --output may come before the command too,
	// as in offsetctl --output json projections.
	top := inv.flagSet("offsetctl", nil)
	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			inv.mainHelp(inv.stdout)
			return nil, errHelpShown
		}
		return nil, &usageError{msg: err.Error()}
	}
	args = top.Args()
	if len(args) == 0 {
		return nil, usagef("no command given: one of %s", strings.Join(commandNames(), ", "))
	}
	cmd := lookup(args[0])
	if cmd == nil {
		return nil, usagef("unknown command %q: one of %s", args[0], strings.Join(commandNames(), ", "))
	}
	// Only now is it known whether --output, taken before the command,
	// applies: refuse it as the command's own flags would.
	if cmd.output == "" && inv.opts.outputGiven {
		return cmd, usagef("unknown flag --output")
	}
	fs := inv.flagSet(cmd.name, cmd)
	positional, err := parseInterspersed(fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		inv.commandHelp(inv.stdout, cmd)
		return cmd, errHelpShown
	}
	if err != nil {
		return cmd, &usageError{msg: err.Error()}
	}
	if !cmd.nargs(len(positional)) {
		if cmd.args == "" {
			return cmd, usagef("takes no arguments, got %q", strings.Join(positional, " "))
		}
		got := "none"
		if len(positional) > 0 {
			got = strconv.Quote(strings.Join(positional, " "))
		}
		return cmd, usagef("wrong number of arguments, got %s: usage is offsetctl %s %s", got, cmd.name, cmd.args)
	}
	inv.args = positional
	if cmd.output != "" {
		if !inv.opts.outputGiven {
			inv.opts.output = cmd.output
		}
		if inv.opts.output != "table" && inv.opts.output != "json" {
			return cmd, usagef("--output %q: want table or json", inv.opts.output)
		}
	}
	if inv.opts.timeout < 0 {
		return cmd, usagef("--timeout %v: want a positive duration, or 0 for none", inv.opts.timeout)
	}
	return cmd, nil
}

// flagSet returns the flags of cmd, or, for a nil cmd, those that may
// precede the command: the connection's and --output. Both bind the same
// options, so that either place sets them.
func (inv *invocation) flagSet(name string, cmd *command) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	// Errors are reported by run, in one line; help by parse.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	o := &inv.opts
	if cmd == nil {
		// Before the command, only the defaults are set; the command's own
		// FlagSet must not reset what was given there.
		fs.StringVar(&o.url, "url", inv.getenv(urlVariable), "PostgreSQL `URL` or key=value connection string (default $"+urlVariable+")")
		fs.StringVar(&o.schema, "schema", "", "`schema` of the table (default: the first schema of the search_path)")
		fs.StringVar(&o.table, "table", "offsets_store", "`table` of the offsets")
		fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "give up on the database after `duration`; 0 for never")
		fs.Func("output", "`format` of the rows, for a command that prints rows", setOutput(o))
		return fs
	}
	fs.Func("url", "PostgreSQL `URL` or key=value connection string (default $"+urlVariable+")", setString(&o.url))
	fs.Func("schema", "`schema` of the table (default: the first schema of the search_path)", setString(&o.schema))
	fs.Func("table", "`table` of the offsets (default offsets_store)", setString(&o.table))
	fs.Func("timeout", "give up on the database after `duration`, such as 10s; 0 for never (default 30s)", func(s string) error {
		d, err := time.ParseDuration(s)
		if err != nil {
			return errors.New("want a duration such as 10s or 1m")
		}
		o.timeout = d
		return nil
	})
	if cmd.output != "" {
		fs.Func("output", "`format` of the rows: table, or json for JSON lines (default "+cmd.output+")", setOutput(o))
	}
	if cmd.flags != nil {
		cmd.flags(fs, o)
	}
	return fs
}

// flagErrors match the flag package's errors, which spell flags with one
// dash; offsetctl's help and examples spell them with two.
var flagErrors = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`^flag provided but not defined: -+(.*)$`), "unknown flag --$1"},
	{regexp.MustCompile(`^flag needs an argument: -+(.*)$`), "flag --$1 needs a value"},
	{regexp.MustCompile(`^invalid value (".*") for flag -+([^:]*): (.*)$`), "--$2 $1: $3"},
	{regexp.MustCompile(`^invalid boolean value (".*") for -+(.*): .*$`), "--$2 $1: want true or false, or no value"},
}

// flagMessage rewrites msg, if it is one of the flag package's errors, in
// offsetctl's words.
func flagMessage(msg string) string {
	for _, e := range flagErrors {
		if e.re.MatchString(msg) {
			return e.re.ReplaceAllString(msg, e.repl)
		}
	}
	return msg
}

func setString(p *string) func(string) error {
	return func(s string) error { *p = s; return nil }
}

// setOutput sets --output, which parse checks once it knows the command.
func setOutput(o *options) func(string) error {
	return func(s string) error {
		o.output, o.outputGiven = s, true
		return nil
	}
}

// parseInterspersed parses args with fs, allowing flags after positional
// arguments (offsetctl reset NAME --to 0), which the flag package alone
// stops at, and returns the positional arguments. Everything after "--"
// is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

func commandNames() []string {
	var names []string
	for _, c := range commands {
		names = append(names, c.name)
	}
	return names
}

// mainHelp prints offsetctl's help.
func (inv *invocation) mainHelp(w io.Writer) {
	fmt.Fprint(w, `offsetctl shows and changes the projection offsets eGo keeps in PostgreSQL.

Usage:
  offsetctl COMMAND [ARGUMENTS] [FLAGS]

Commands:
`)
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(tw, "  %s\t%s\n", strings.TrimSpace(c.name+" "+c.args), c.summary)
	}
	tw.Flush()
	fmt.Fprint(w, `
Flags of every command (--output: of those that print rows), after the
command or before it, as in offsetctl --output json projections:
`)
	// The default of --output differs between commands: say so, rather
	// than one command's.
	inv.printFlags(w, inv.flagSet("offsetctl", &command{output: "table; json for export"}))
	fmt.Fprintf(w, `
reset, delete and import change nothing unless given --execute: without it
they print what they would change. Stop a projection before you reset,
delete or import its offsets, and start it after: eGo reads a projection's
offsets only when it starts, and a running projection overwrites them with
its next commit.

Exit status: 0 success, 1 failure, 2 usage error.

Environment:
  %s  the default of --url
  %s             for tests and reproducible output only: an RFC 3339
                            time offsetctl takes as now

Example:
  export %s='postgres://user@db.example.com:5432/app'
  offsetctl projections

Run 'offsetctl COMMAND --help' for a command's flags and an example.
`, urlVariable, nowVariable, urlVariable)
}

// commandHelp prints cmd's help.
func (inv *invocation) commandHelp(w io.Writer, cmd *command) {
	fmt.Fprintf(w, "Usage: offsetctl %s [FLAGS]\n\n%s.\n\n", strings.TrimSpace(cmd.name+" "+cmd.args), upperFirst(cmd.summary))
	fmt.Fprint(w, strings.TrimLeft(cmd.help, "\n"))
	fmt.Fprint(w, "\nFlags:\n")
	inv.printFlags(w, inv.flagSet(cmd.name, cmd))
}

// printFlags lists fs's flags, GNU style, which is how offsetctl's
// examples spell them (the flag package takes -flag and --flag alike).
func (inv *invocation) printFlags(w io.Writer, fs *flag.FlagSet) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		if name != "" {
			name = " " + strings.ToUpper(name)
		}
		// Bool flags defined with BoolVar say "" and take no value.
		fmt.Fprintf(tw, "  --%s%s\t%s\n", f.Name, name, usage)
	})
	tw.Flush()
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

var helpCommand = &command{
	name:    "help",
	args:    "[COMMAND]",
	nargs:   atMost(1),
	summary: "show offsetctl's help, or a command's",
	help: `
Example:
  offsetctl help reset
`,
	run: func(_ context.Context, inv *invocation) error {
		if len(inv.args) == 0 {
			inv.mainHelp(inv.stdout)
			return nil
		}
		cmd := lookup(inv.args[0])
		if cmd == nil {
			return usagef("unknown command %q: one of %s", inv.args[0], strings.Join(commandNames(), ", "))
		}
		inv.commandHelp(inv.stdout, cmd)
		return nil
	},
}

// optionalInt64 is an int64 flag that knows whether it was given.
type optionalInt64 struct {
	value int64
	set   bool
}

func (o *optionalInt64) String() string {
	if o == nil || !o.set {
		return ""
	}
	return strconv.FormatInt(o.value, 10)
}

func (o *optionalInt64) Set(s string) error {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return errors.New("want an integer from -9223372036854775808 to 9223372036854775807")
	}
	o.value, o.set = v, true
	return nil
}

// shardList collects the shards of --shard, given once per shard or as a
// comma-separated list, without repeats, in order. It stays nil without
// --shard, which is what package postgres takes for every shard: Set adds
// at least one shard or fails.
type shardList []uint64

func (l *shardList) String() string {
	if l == nil {
		return ""
	}
	var parts []string
	for _, s := range *l {
		parts = append(parts, strconv.FormatUint(s, 10))
	}
	return strings.Join(parts, ",")
}

func (l *shardList) Set(s string) error {
	for part := range strings.SplitSeq(s, ",") {
		shard, err := strconv.ParseUint(strings.TrimSpace(part), 10, 64)
		if err != nil {
			return fmt.Errorf("want shard numbers from 0 to %d", uint64(1<<64-1))
		}
		if !slices.Contains(*l, shard) {
			*l = append(*l, shard)
		}
	}
	return nil
}
