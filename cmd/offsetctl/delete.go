package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

type deleteOptions struct {
	*env
	output  string
	name    string
	shards  []uint64
	execute bool
}

func newDeleteCommand(e *env) *cobra.Command {
	o := &deleteOptions{env: e}
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "delete the offsets of projection NAME (dry run unless --execute)",
		Long: `Prints the offsets it would delete; deletes them, all at once, only with
--execute. A projection with no offsets, or a --shard without one, is an
error, and nothing changes. Stop the projection first, as for reset.

Keep what --output json prints, export's lines: import of them puts the
offsets back (an undo).`,
		Example: `  offsetctl delete accounts --shard 3             # dry run: prints the plan
  offsetctl delete accounts --shard 3 --execute   # does it
  offsetctl delete accounts --execute -o json > undo.jsonl
  offsetctl import undo.jsonl --execute           # undoes it`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name = args[0]
			return runDelete(o.start(cmd), o)
		},
		ValidArgsFunction: e.completeName(false),
	}
	addOutputFlag(cmd, &o.output, formatTable)
	addShardFlag(e, cmd, &o.shards, "delete")
	cmd.Flags().BoolVar(&o.execute, "execute", false, "delete; without it, only print what would be deleted")
	return cmd
}

func runDelete(ctx context.Context, o *deleteOptions) error {
	ctx, db, err := o.open(ctx, o.name)
	defer db.close()
	if err != nil {
		return err
	}
	selected, err := db.offsets(ctx, o.name, o.shards, "nothing to delete")
	if err != nil {
		return err
	}
	shown := selected
	if o.execute {
		if shown, err = db.store.DeleteShards(ctx, o.name, o.shards); err != nil {
			return db.explain(ctx, err)
		}
	}
	if err := printOffsets(o.stdout, o.output, o.now(), shown, false, true); err != nil {
		return err
	}
	if !o.execute {
		fmt.Fprintf(o.stderr, "dry run: would delete %s of projection %q; nothing changed: add --execute to delete\n",
			plural(len(shown), "offset"), o.name)
		return nil
	}
	fmt.Fprintf(o.stderr, "deleted %s of projection %q\n", plural(len(shown), "offset"), o.name)
	if missing := missingShards(shardNumbers(selected), shown); missing != "" {
		return fmt.Errorf("shard %s of projection %q was deleted by another client first", missing, o.name)
	}
	return nil
}
