package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// Environment variables offsetctl reads; nats.go has those of NATS's
// credentials.
const (
	urlVariable         = "OFFSETSTORE_URL"
	postgresURLVariable = "OFFSETSTORE_POSTGRES_URL"
	// natsURLVariable is the one examples/nats reads.
	natsURLVariable = "OFFSETSTORE_NATS_URL"
	nowVariable     = "OFFSETCTL_NOW"
)

// urlVariables are the defaults of --url, first set first.
var urlVariables = []string{urlVariable, postgresURLVariable, natsURLVariable}

func main() {
	// Commands are listed in the order of a session, not alphabetically.
	cobra.EnableCommandSorting = false
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal asks the command to stop; a second one ends
	// offsetctl at once, as if no signal were caught, should the command
	// be stuck where it cannot heed the first.
	context.AfterFunc(ctx, stop)
	code := run(ctx, os.Args[1:], &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv})
	stop()
	os.Exit(code)
}

// An offsetctlError says in offsetctl's words what the error it wraps, if
// any, says in a driver's; a usage error is a command line offsetctl
// cannot run: exit code 2.
type offsetctlError struct {
	msg   string
	err   error
	usage bool
}

func (e *offsetctlError) Error() string { return e.msg }
func (e *offsetctlError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &offsetctlError{msg: fmt.Sprintf(format, args...), usage: true}
}

// run runs the command line args with e and returns the exit code.
func run(ctx context.Context, args []string, e *env) int {
	var err error
	if e.now, err = clock(e.getenv); err != nil {
		fmt.Fprintf(e.stderr, "offsetctl: %v\n", err)
		return exitUsage
	}
	root := newRootCommand(e)
	if len(args) > 0 && strings.HasPrefix(args[0], cobra.ShellCompRequestCmd) {
		plainUsages(root)
	}
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	if cmd == nil {
		cmd = root
	}
	prefix := strings.Replace(cmd.CommandPath(), " ", ": ", 1)
	// Whatever fails before a command runs is the command line's fault:
	// cobra's own errors (an unknown command, a flag group) included.
	var oe *offsetctlError
	if (errors.As(err, &oe) && oe.usage) || !e.ran {
		fmt.Fprintf(e.stderr, "%s: %s (see '%s --help')\n", prefix, oneLine(err.Error()), cmd.CommandPath())
		return exitUsage
	}
	fmt.Fprintf(e.stderr, "%s: %s\n", prefix, oneLine(err.Error()))
	return exitFailure
}

// flagError makes a flag's error a usage error, a bad value's in
// offsetctl's words; a command line that asked for help gets it, as
// it did from the flag package's parser.
func flagError(cmd *cobra.Command, err error) error {
	if h := cmd.Flags().Lookup("help"); h != nil && h.Changed {
		return pflag.ErrHelp
	}
	var invalid *pflag.InvalidValueError
	if errors.As(err, &invalid) {
		f := invalid.GetFlag()
		why := errors.Unwrap(err).Error()
		switch f.Value.Type() {
		case "bool":
			why = "want true or false, or no value"
		case "duration":
			why = "want a duration such as 90m, 1h30m or 36h (units ns, us, ms, s, m, h)"
		case "int64":
			why = fmt.Sprintf("want an integer from %d to %d", int64(math.MinInt64), int64(math.MaxInt64))
		}
		return usagef("--%s %q: %s", f.Name, invalid.GetValue(), why)
	}
	return usagef("%s", err)
}

// clock returns the clock of OFFSETCTL_NOW, or time.Now.
func clock(getenv func(string) string) (func() time.Time, error) {
	s := getenv(nowVariable)
	if s == "" {
		return time.Now, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil, fmt.Errorf("%s=%q is not an RFC 3339 time such as 2026-11-26T12:00:00Z", nowVariable, s)
	}
	return func() time.Time { return t }, nil
}

// oneLine joins the lines of a message, so that every error takes one
// line of stderr whatever the driver or the server put in it.
func oneLine(msg string) string {
	lines := strings.FieldsFunc(msg, func(r rune) bool { return r == '\n' || r == '\r' })
	for i, line := range lines {
		lines[i] = strings.TrimSpace(line)
	}
	return strings.Join(lines, "; ")
}
