package main

import (
	"context"

	"github.com/spf13/cobra"
)

type offsetsOptions struct {
	*env
	output string
	name   string
}

func newOffsetsCommand(e *env) *cobra.Command {
	o := &offsetsOptions{env: e}
	cmd := &cobra.Command{
		Use:   "offsets NAME",
		Short: "list the offsets of projection NAME, shard by shard: value, time, age",
		Long: `One row per shard of projection NAME, sorted by shard: the value, its
TIME and AGE (see offsetctl --help), and the TIMESTAMP it was written at.
A projection with no offsets is an error.

--output json prints export's lines plus notes that import skips: the
times in RFC 3339 (valueTime, timestampTime), the age as text and in
nanoseconds.`,
		Example: `  offsetctl offsets accounts

  SHARD  VALUE                TIME                      AGE   TIMESTAMP
  0      1795694395000000000  2026-11-26T11:59:55.000Z  5s    2026-11-26T11:59:55.000Z
  17     1795694097000000000  2026-11-26T11:54:57.000Z  5m3s  2026-11-26T11:54:57.000Z`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name = args[0]
			return runOffsets(o.start(cmd), o)
		},
	}
	addOutputFlag(cmd, &o.output, formatTable)
	return cmd
}

func runOffsets(ctx context.Context, o *offsetsOptions) error {
	ctx, db, err := o.open(ctx, o.name)
	defer db.close()
	if err != nil {
		return err
	}
	offsets, err := db.offsets(ctx, o.name, nil, "")
	if err != nil {
		return err
	}
	return printOffsets(o.stdout, o.output, o.now(), offsets, false, true)
}
