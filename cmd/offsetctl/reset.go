package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/ego-contrib/offsetstore/egopb"
)

type resetOptions struct {
	*env
	output  outputFormat
	name    string
	shards  []uint64
	execute bool
	// targets are what the flags say to reset to: one, unless the
	// command line is wrong.
	targets []resetTarget
}

func newResetCommand(e *env) *cobra.Command {
	o := &resetOptions{env: e}
	cmd := &cobra.Command{
		Use:   "reset NAME (--to VALUE | --to-time TIME | --by-duration DURATION | --shift-by N)",
		Short: "rewind projection NAME: to a value, to a time, or back by a duration (dry run unless --execute)",
		Long: `Prints each shard's value, its time and its timestamp, before and after;
changes them only with --execute, stamped now. Only shards that have an
offset are reset: a projection with no offsets, or a --shard without one,
is an error, and nothing changes.

--to and --to-time set one value with the store's own reset (in
PostgreSQL, under the projection's lock): --execute prints what it replaced. --by-duration
(every value must be a time; see offsetctl --help) and --shift-by compute
each shard's value from a first read, then write them all or none: a write
in between is overwritten. Stop the projection, on every node, first:
eGo reads offsets only when a projection starts, and a running one
overwrites them with its next commit.`,
		Example: `  offsetctl reset accounts --to 0                             # dry run: prints the plan
  offsetctl reset accounts --to 0 --execute                   # does it
  offsetctl reset accounts --to-time 2026-11-26T14:05:00Z     # before the bad deploy
  offsetctl reset accounts --by-duration 1h --shard 17,93     # an hour back
  offsetctl reset accounts --shift-by -5000000000 --execute   # 5 s back`,
		Args: nargs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name = args[0]
			return runReset(o.start(cmd), o)
		},
	}
	addOutputFlag(cmd, &o.output, "table")
	fs := cmd.Flags()
	fs.Func("to", "set every shard to `VALUE`; negative values are allowed", o.addTarget("to", parseInt64))
	fs.Func("to-time", "set every shard to `TIME`, RFC 3339, as Unix nanoseconds", o.addTarget("to-time", parseTime))
	fs.Func("by-duration", "move each shard back `DURATION` from its own value's time, such as 1h or 90m", o.addTarget("by-duration", parseDuration))
	fs.Func("shift-by", "add `N` to each shard's value; negative rewinds", o.addTarget("shift-by", parseInt64))
	addShardFlag(cmd, &o.shards, "reset")
	fs.BoolVar(&o.execute, "execute", false, "reset; without it, only print what would change")
	return cmd
}

// A resetTarget is what a reset sets each shard to.
type resetTarget struct {
	// flag is the flag that gave it: to, to-time, by-duration or shift-by.
	flag string
	// n is the value of --to and --to-time, the nanoseconds of
	// --by-duration, the N of --shift-by.
	n int64
}

// addTarget returns the parser of flag, which adds the target it gives.
func (o *resetOptions) addTarget(flag string, parse func(string) (int64, error)) func(string) error {
	return func(s string) error {
		n, err := parse(s)
		if err == nil {
			// A flag given twice counts once, its last value.
			o.targets = append(slices.DeleteFunc(o.targets, func(t resetTarget) bool { return t.flag == flag }), resetTarget{flag, n})
		}
		return err
	}
}

// target returns the one target o's flags give.
func (o *resetOptions) target() (resetTarget, error) {
	switch {
	case len(o.targets) == 0:
		return resetTarget{}, usagef("one of --to, --to-time, --by-duration or --shift-by is required: what to reset to, such as --to 0 or --by-duration 1h")
	case len(o.targets) > 1:
		return resetTarget{}, usagef("--%s and --%s are both given: want exactly one of --to, --to-time, --by-duration or --shift-by", o.targets[0].flag, o.targets[1].flag)
	case o.targets[0].flag == "by-duration" && o.targets[0].n <= 0:
		return resetTarget{}, usagef("--by-duration %v: want a duration above 0, such as 1h; --shift-by moves forward", time.Duration(o.targets[0].n))
	}
	return o.targets[0], nil
}

// sameForAll reports whether t sets one value on every shard.
func (t resetTarget) sameForAll() bool { return t.flag == "to" || t.flag == "to-time" }

// String says what t does, after "reset 3 shards of projection x".
func (t resetTarget) String() string {
	switch t.flag {
	case "to-time":
		return fmt.Sprintf("to %s (%d)", time.Unix(0, t.n).UTC().Format(time.RFC3339Nano), t.n)
	case "by-duration":
		return "back by " + time.Duration(t.n).String()
	case "shift-by":
		return fmt.Sprintf("by %+d", t.n)
	}
	return fmt.Sprintf("to %d", t.n)
}

// apply returns the value t moves o's value to.
func (t resetTarget) apply(o *egopb.Offset) (int64, error) {
	switch t.flag {
	case "by-duration":
		if _, ok := valueTime(o.Value); !ok {
			return 0, fmt.Errorf("shard %d of projection %q has value %d, which is not a time (see 'offsetctl --help'): --by-duration moves times; use --shift-by or --to: nothing changed",
				o.ShardNumber, o.ProjectionName, o.Value)
		}
		// A time from 2000 on, less a positive int64, stays above
		// math.MinInt64.
		return o.Value - t.n, nil
	case "shift-by":
		v := o.Value + t.n
		if (t.n > 0 && v < o.Value) || (t.n < 0 && v > o.Value) {
			return 0, fmt.Errorf("shard %d of projection %q: %d %+d is out of the range of a value, %d to %d: nothing changed",
				o.ShardNumber, o.ProjectionName, o.Value, t.n, int64(math.MinInt64), int64(math.MaxInt64))
		}
		return v, nil
	}
	return t.n, nil
}

// planReset returns what t does to each offset of before, stamping them
// with nowMillis.
func planReset(before []*egopb.Offset, t resetTarget, nowMillis int64) ([]change, error) {
	changes := make([]change, len(before))
	for i, o := range before {
		v, err := t.apply(o)
		if err != nil {
			return nil, err
		}
		changes[i] = change{
			before: o,
			after:  &egopb.Offset{ProjectionName: o.ProjectionName, ShardNumber: o.ShardNumber, Value: v, Timestamp: nowMillis},
		}
	}
	return changes, nil
}

func runReset(ctx context.Context, o *resetOptions) error {
	target, err := o.target()
	if err != nil {
		return err
	}
	ctx, db, err := o.open(ctx, o.name)
	defer db.close()
	if err != nil {
		return err
	}
	selected, err := db.offsets(ctx, o.name, o.shards, "nothing to reset")
	if err != nil {
		return err
	}
	plan, err := planReset(selected, target, o.now().UnixMilli())
	if err != nil {
		return err
	}
	if !o.execute {
		if err := printChanges(o.stdout, o.output, plan, false); err != nil {
			return err
		}
		fmt.Fprintf(o.stderr, "dry run: would reset %s of projection %q %s; nothing changed: add --execute to reset\n",
			plural(len(selected), "shard"), o.name, target)
		return nil
	}
	var missing string
	if target.sameForAll() {
		// The plan printed is what the store's reset returned, not what
		// was read above: a shard added since is reset too, and shown.
		before, err := db.store.ResetShards(ctx, o.name, target.n, o.shards)
		if err != nil {
			return db.explain(ctx, err)
		}
		missing = missingShards(shardNumbers(selected), before)
		if plan, err = planReset(before, target, db.stamped.UnixMilli()); err != nil {
			return err
		}
	} else {
		after := make([]*egopb.Offset, len(plan))
		for i, c := range plan {
			after[i] = c.after
		}
		if err := db.store.WriteOffsets(ctx, after); err != nil {
			return db.explain(ctx, err)
		}
	}
	if err := printChanges(o.stdout, o.output, plan, false); err != nil {
		return err
	}
	fmt.Fprintf(o.stderr, "reset %s of projection %q %s\n", plural(len(plan), "shard"), o.name, target)
	if missing != "" {
		return fmt.Errorf("shard %s of projection %q was deleted by another client before the reset, and not reset", missing, o.name)
	}
	return nil
}

func parseInt64(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("want an integer from %d to %d", int64(math.MinInt64), int64(math.MaxInt64))
	}
	return n, nil
}

// parseTime reads an RFC 3339 time as Unix nanoseconds.
func parseTime(s string) (int64, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, errors.New("want an RFC 3339 time such as 2026-11-26T14:05:00Z or 2026-11-26T15:05:00.5+01:00")
	}
	if t.Before(time.Unix(0, math.MinInt64)) || t.After(time.Unix(0, math.MaxInt64)) {
		return 0, errors.New("want a time from 1677-09-21 to 2262-04-11, which Unix nanoseconds can hold")
	}
	return t.UnixNano(), nil
}

// parseDuration reads a duration as Go writes them, as nanoseconds.
func parseDuration(s string) (int64, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, errors.New("want a duration such as 90m, 1h30m or 36h (units ns, us, ms, s, m, h)")
	}
	return int64(d), nil
}
