package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/spf13/cobra"

	"github.com/ego-contrib/offsetstore/egopb"
)

type resetOptions struct {
	*env
	output  string
	name    string
	shards  []uint64
	execute bool
	target  resetTarget
}

func newResetCommand(e *env) *cobra.Command {
	o := &resetOptions{env: e}
	var to, toTime, shiftBy int64
	var byDuration time.Duration
	cmd := &cobra.Command{
		Use:   "reset NAME (--to VALUE | --to-time TIME | --by-duration DURATION | --shift-by N)",
		Short: "rewind projection NAME: to a value, to a time, or back by a duration (dry run unless --execute)",
		Long: `Prints each shard's value, its time and its timestamp, before and after;
changes them only with --execute, stamped now. Only shards that have an
offset are reset: a projection with no offsets, or a --shard without one,
is an error, and nothing changes.

--to and --to-time set one value with the store's own reset (in
PostgreSQL, under the projection's lock): --execute prints what it
replaced. --by-duration (every value must be a time; see offsetctl
--help) and --shift-by compute each shard's value from a first read,
then write them all or none: a write in between is overwritten. Stop the
projection, on every node, first: a running one overwrites the offsets
with its next commit.

Keep what --output json prints: each line holds the offset before the
reset, and import of those lines puts them back (an undo), whether the
reset was run or only planned. --output wide adds the timestamps.`,
		Example: `  offsetctl reset accounts --to 0                             # dry run: prints the plan
  offsetctl reset accounts --to 0 --execute                   # does it
  offsetctl reset accounts --to-time 2026-11-26T14:05:00Z     # before the bad deploy
  offsetctl reset accounts --by-duration 1h --shard 17,93     # an hour back
  offsetctl reset accounts --shift-by -5000000000 --execute   # 5 s back
  offsetctl reset accounts --to 0 --execute -o json > undo.jsonl
  offsetctl import undo.jsonl --execute                       # undoes it`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name = args[0]
			// cobra has checked that exactly one of them is given.
			for _, t := range []resetTarget{{"to", to}, {"to-time", toTime}, {"by-duration", int64(byDuration)}, {"shift-by", shiftBy}} {
				if cmd.Flags().Changed(t.flag) {
					o.target = t
				}
			}
			if o.target.flag == "by-duration" && byDuration <= 0 {
				return usagef("--by-duration %v: want a duration above 0, such as 1h; --shift-by moves forward", byDuration)
			}
			return runReset(o.start(cmd), o)
		},
		ValidArgsFunction: e.completeName(false),
	}
	addOutputFlag(cmd, &o.output, formatTable)
	fs := cmd.Flags()
	fs.Int64Var(&to, "to", 0, "set every shard to `VALUE`; negative values are allowed")
	fs.Func("to-time", "set every shard to `TIME`, RFC 3339, as Unix nanoseconds", func(s string) (err error) {
		toTime, err = parseTime(s)
		return err
	})
	fs.DurationVar(&byDuration, "by-duration", 0, "move each shard back `DURATION` from its own value's time, such as 1h or 90m")
	fs.Int64Var(&shiftBy, "shift-by", 0, "add `N` to each shard's value; negative rewinds")
	targets := []string{"to", "to-time", "by-duration", "shift-by"}
	cmd.MarkFlagsOneRequired(targets...)
	cmd.MarkFlagsMutuallyExclusive(targets...)
	addShardFlag(e, cmd, &o.shards, "reset")
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
	ctx, db, err := o.open(ctx, o.name)
	defer db.close()
	if err != nil {
		return err
	}
	selected, err := db.offsets(ctx, o.name, o.shards, "nothing to reset")
	if err != nil {
		return err
	}
	plan, err := planReset(selected, o.target, o.now().UnixMilli())
	if err != nil {
		return err
	}
	var missing string
	switch {
	case !o.execute:
	case o.target.sameForAll():
		// The plan printed is what the store's reset returned, not what
		// was read above: a shard added since is reset too, and shown.
		before, err := db.store.ResetShards(ctx, o.name, o.target.n, o.shards)
		if err != nil {
			return db.explain(ctx, err)
		}
		missing = missingShards(shardNumbers(selected), before)
		if plan, err = planReset(before, o.target, db.stamped.UnixMilli()); err != nil {
			return err
		}
	default:
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
	if !o.execute {
		fmt.Fprintf(o.stderr, "dry run: would reset %s of projection %q %s; nothing changed: add --execute to reset\n",
			plural(len(plan), "shard"), o.name, o.target)
		return nil
	}
	fmt.Fprintf(o.stderr, "reset %s of projection %q %s\n", plural(len(plan), "shard"), o.name, o.target)
	if missing != "" {
		return fmt.Errorf("shard %s of projection %q was deleted by another client before the reset, and not reset", missing, o.name)
	}
	return nil
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
