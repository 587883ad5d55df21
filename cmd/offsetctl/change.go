package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/postgres"
)

var resetCommand = &command{
	name:    "reset",
	args:    "NAME --to VALUE",
	nargs:   exactly(1),
	summary: "rewind projection NAME: set its offsets to VALUE (dry run unless --execute)",
	output:  "table",
	flags: func(fs *flag.FlagSet, o *options) {
		fs.Var(&o.to, "to", "the `value` to set, required; negative values are allowed")
		fs.Var(&o.shards, "shard", "reset shard `N` only; repeat, or list them as 1,2,3 (default: every shard)")
		fs.BoolVar(&o.execute, "execute", false, "reset; without it, only print what would change")
	},
	help: `Prints, for every shard it would change, the value and timestamp before and
after; changes them only with --execute, all in one transaction, stamped
now. Only shards that have an offset are reset: a projection with no
offsets, or a --shard without one, is an error, and nothing changes.

eGo reads a projection's offsets only when it starts, and a running
projection overwrites them with its next commit: stop the projection (on
every node) before the reset, and start it after.

eGo stores the event's timestamp as the value, in Unix nanoseconds;
--to 0 replays every event.

Example:
  offsetctl reset accounts --to 0             # dry run: prints the plan
  offsetctl reset accounts --to 0 --execute   # does it
`,
	run: runReset,
}

var deleteCommand = &command{
	name:    "delete",
	args:    "NAME",
	nargs:   exactly(1),
	summary: "delete the offsets of projection NAME (dry run unless --execute)",
	output:  "table",
	flags: func(fs *flag.FlagSet, o *options) {
		fs.Var(&o.shards, "shard", "delete shard `N` only; repeat, or list them as 1,2,3 (default: every shard)")
		fs.BoolVar(&o.execute, "execute", false, "delete; without it, only print what would be deleted")
	},
	help: `Prints the offsets it would delete; deletes them only with --execute, all
in one transaction. A shard with no offset starts from the beginning when
its projection next starts. A projection with no offsets, or a --shard
without one, is an error, and nothing changes. Stop the projection first,
as for reset. With --output json the offsets are printed as export
writes them: keep them, and import puts them back.

Example:
  offsetctl delete accounts --shard 3             # dry run: prints the plan
  offsetctl delete accounts --shard 3 --execute   # does it
`,
	run: runDelete,
}

// A change is what a reset, a delete or an import does to one offset:
// before is nil for an offset that is created, after for one deleted.
type change struct {
	before, after *egopb.Offset
}

func (c change) key() (string, uint64) {
	if c.before != nil {
		return c.before.ProjectionName, c.before.ShardNumber
	}
	return c.after.ProjectionName, c.after.ShardNumber
}

// stateJSON is an offset's value and timestamp in a changeJSON.
type stateJSON struct {
	Value     string `json:"value"`
	Timestamp string `json:"timestamp"`
}

// changeJSON is a change as --output json prints it: before or after is
// null when the offset is created or deleted.
type changeJSON struct {
	ProjectionName string     `json:"projectionName"`
	ShardNumber    string     `json:"shardNumber"`
	Before         *stateJSON `json:"before"`
	After          *stateJSON `json:"after"`
}

func state(o *egopb.Offset) *stateJSON {
	if o == nil {
		return nil
	}
	return &stateJSON{Value: int64String(o.Value), Timestamp: int64String(o.Timestamp)}
}

// printChanges prints changes, with a column of projection names if
// withName.
func (inv *invocation) printChanges(changes []change, withName bool) error {
	if inv.opts.output == "json" {
		out := newJSONLines(inv.stdout)
		for _, c := range changes {
			name, shard := c.key()
			err := out.write(changeJSON{
				ProjectionName: name,
				ShardNumber:    strconv.FormatUint(shard, 10),
				Before:         state(c.before),
				After:          state(c.after),
			})
			if err != nil {
				return err
			}
		}
		return nil
	}
	header := []string{"SHARD", "VALUE BEFORE", "VALUE AFTER", "TIMESTAMP BEFORE", "TIMESTAMP AFTER"}
	if withName {
		header = append([]string{"PROJECTION"}, header...)
	}
	t := newTable(inv.stdout, header...)
	for _, c := range changes {
		name, shard := c.key()
		cells := []string{strconv.FormatUint(shard, 10)}
		if withName {
			cells = append([]string{displayName(name)}, cells...)
		}
		vb, va, tb, ta := "-", "-", "-", "-"
		if c.before != nil {
			vb, tb = int64String(c.before.Value), formatTime(c.before.Timestamp)
		}
		if c.after != nil {
			va, ta = int64String(c.after.Value), formatTime(c.after.Timestamp)
		}
		t.row(append(cells, vb, va, tb, ta)...)
	}
	return t.flush()
}

// printOffsets writes offsets to w as offsets prints them, with a column
// of projection names if withName. No offsets print nothing, not even a
// table's header.
func (inv *invocation) printOffsets(w io.Writer, offsets []*egopb.Offset, withName bool) error {
	if inv.opts.output == "json" {
		out := newJSONLines(w)
		for _, o := range offsets {
			if err := out.write(toJSON(o)); err != nil {
				return err
			}
		}
		return nil
	}
	if len(offsets) == 0 {
		return nil
	}
	now := inv.now()
	header := []string{"SHARD", "VALUE", "TIMESTAMP", "AGE"}
	if withName {
		header = append([]string{"PROJECTION"}, header...)
	}
	t := newTable(w, header...)
	for _, o := range offsets {
		cells := []string{strconv.FormatUint(o.ShardNumber, 10), int64String(o.Value), formatTime(o.Timestamp), formatAge(now, o.Timestamp)}
		if withName {
			cells = append([]string{displayName(o.ProjectionName)}, cells...)
		}
		t.row(cells...)
	}
	return t.flush()
}

// selectShards returns the offsets of current whose shard is in shards, or
// all of current if shards is empty, and an error if a shard of shards
// has no offset: an operator who names shards that are not there has
// mistyped something, and changing the others would be half of what was
// meant.
func selectShards(name string, current []*egopb.Offset, shards []uint64) ([]*egopb.Offset, error) {
	if len(shards) == 0 {
		return current, nil
	}
	var missing []string
	for _, shard := range shards {
		if !slices.ContainsFunc(current, func(o *egopb.Offset) bool { return o.ShardNumber == shard }) {
			missing = append(missing, strconv.FormatUint(shard, 10))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("projection %q has no offset for shard %s ('offsetctl offsets %s' lists its shards): nothing changed",
			name, strings.Join(missing, ", "), name)
	}
	// current is sorted by shard, as the store returns it, and so are the
	// offsets a reset or a delete returns: selecting in current's order
	// keeps the dry run's plan the same as --execute's.
	var selected []*egopb.Offset
	for _, o := range current {
		if slices.Contains(shards, o.ShardNumber) {
			selected = append(selected, o)
		}
	}
	return selected, nil
}

// missingFrom names the shards of want that got lacks, which happens when
// another client deletes them between offsetctl's read and its change.
func missingFrom(want, got []*egopb.Offset) []string {
	var missing []string
	for _, w := range want {
		if !slices.ContainsFunc(got, func(g *egopb.Offset) bool { return g.ShardNumber == w.ShardNumber }) {
			missing = append(missing, strconv.FormatUint(w.ShardNumber, 10))
		}
	}
	return missing
}

func runReset(ctx context.Context, inv *invocation) error {
	name := inv.args[0]
	if err := postgres.CheckProjectionName(name); err != nil {
		return &usageError{msg: err.Error()}
	}
	if !inv.opts.to.set {
		return usagef("--to VALUE is required: the value to reset to, such as --to 0")
	}
	to := inv.opts.to.value
	ctx, cancel := inv.withTimeout(ctx)
	defer cancel()
	db, err := inv.connect(ctx, false)
	defer db.close()
	if err != nil {
		return err
	}
	current, err := db.projectionOffsets(ctx, inv, name, "nothing to reset")
	if err != nil {
		return err
	}
	selected, err := selectShards(name, current, inv.opts.shards)
	if err != nil {
		return err
	}
	if !inv.opts.execute {
		now := inv.now().UnixMilli()
		if err := inv.printChanges(resetChanges(selected, to, now), false); err != nil {
			return err
		}
		fmt.Fprintf(inv.stderr, "dry run: would reset %s of projection %q to %d; nothing changed: add --execute to reset\n",
			plural(len(selected), "shard"), name, to)
		return nil
	}
	// The plan printed is what the transaction returned, not what was read
	// above: a shard added since is reset too, and shown.
	before, err := db.store.ResetShards(ctx, name, to, inv.opts.shards)
	if err != nil {
		return db.explain(ctx, inv, err)
	}
	if err := inv.printChanges(resetChanges(before, to, db.stamped.UnixMilli()), false); err != nil {
		return err
	}
	fmt.Fprintf(inv.stderr, "reset %s of projection %q to %d\n", plural(len(before), "shard"), name, to)
	if missing := missingFrom(selected, before); len(missing) > 0 {
		return fmt.Errorf("shard %s of projection %q was deleted by another client before the reset, and not reset", strings.Join(missing, ", "), name)
	}
	return nil
}

func resetChanges(before []*egopb.Offset, to, now int64) []change {
	changes := make([]change, len(before))
	for i, o := range before {
		changes[i] = change{
			before: o,
			after:  &egopb.Offset{ProjectionName: o.ProjectionName, ShardNumber: o.ShardNumber, Value: to, Timestamp: now},
		}
	}
	return changes
}

func runDelete(ctx context.Context, inv *invocation) error {
	name := inv.args[0]
	if err := postgres.CheckProjectionName(name); err != nil {
		return &usageError{msg: err.Error()}
	}
	ctx, cancel := inv.withTimeout(ctx)
	defer cancel()
	db, err := inv.connect(ctx, false)
	defer db.close()
	if err != nil {
		return err
	}
	current, err := db.projectionOffsets(ctx, inv, name, "nothing to delete")
	if err != nil {
		return err
	}
	selected, err := selectShards(name, current, inv.opts.shards)
	if err != nil {
		return err
	}
	if !inv.opts.execute {
		if err := inv.printOffsets(inv.stdout, selected, false); err != nil {
			return err
		}
		fmt.Fprintf(inv.stderr, "dry run: would delete %s of projection %q; nothing changed: add --execute to delete\n",
			plural(len(selected), "offset"), name)
		return nil
	}
	deleted, err := db.store.DeleteShards(ctx, name, inv.opts.shards)
	if err != nil {
		return db.explain(ctx, inv, err)
	}
	if err := inv.printOffsets(inv.stdout, deleted, false); err != nil {
		return err
	}
	fmt.Fprintf(inv.stderr, "deleted %s of projection %q\n", plural(len(deleted), "offset"), name)
	if missing := missingFrom(selected, deleted); len(missing) > 0 {
		return fmt.Errorf("shard %s of projection %q was deleted by another client first", strings.Join(missing, ", "), name)
	}
	return nil
}
