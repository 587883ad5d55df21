package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

type offsetsOptions struct {
	*env
	output string
	name   string
	events eventsOptions
}

func newOffsetsCommand(e *env) *cobra.Command {
	o := &offsetsOptions{env: e}
	cmd := &cobra.Command{
		Use:   "offsets NAME",
		Short: "list the offsets of projection NAME, shard by shard: value, time, age; with --events-table, true lag",
		Long: `One row per shard of projection NAME, sorted by shard: the value, its
TIME and AGE (see offsetctl --help), and the TIMESTAMP it was written at.
A projection with no offsets is an error.

With --events-table, each shard's EVENTS BEHIND and LAG, read from eGo's
events table as projections --help says, take the place of TIME and AGE;
--output wide shows them all. The shards the events table has events of
but NAME has no offset for are rows too, with VALUE and TIMESTAMP "-"
(null in JSON): eGo's runner reads them from 0, every event behind.

--output json prints export's lines plus notes that import skips: the
times in RFC 3339 (valueTime, timestampTime: left out when there is no
time to print), age and lag as text and in nanoseconds, eventsBehind. A
line with a null value, a shard with no offset, import refuses.`,
		Example: `  offsetctl offsets accounts

  SHARD  VALUE                TIME                      AGE   TIMESTAMP
  0      1795694395000000000  2026-11-26T11:59:55.000Z  5s    2026-11-26T11:59:55.000Z
  17     1795694097000000000  2026-11-26T11:54:57.000Z  5m3s  2026-11-26T11:54:57.000Z

  offsetctl offsets accounts --events-table events_store -o wide`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name = args[0]
			return runOffsets(o.start(cmd), o)
		},
		ValidArgsFunction: e.completeName(false),
	}
	addOutputFlag(cmd, &o.output, formatTable)
	addEventsFlags(cmd, &o.events)
	return cmd
}

func runOffsets(ctx context.Context, o *offsetsOptions) error {
	b, err := o.chooseBackend()
	if err != nil {
		return err
	}
	events, err := o.events.eventsTable(b, o.timeout)
	if err != nil {
		return err
	}
	ctx, db, err := o.openBackend(ctx, b, o.name)
	defer db.close()
	if err != nil {
		return err
	}
	offsets, err := db.offsets(ctx, o.name, nil, "")
	if err != nil {
		return err
	}
	if events == nil {
		return printOffsets(o.stdout, o.output, o.now(), offsets, false, true)
	}
	lags, err := events.lags(ctx, offsets)
	if err != nil {
		return err
	}
	now := o.now()
	rows := make([]row, len(lags))
	for i, l := range lags {
		off := l.offset
		if off == nil {
			// A shard of the events table with no offset: its row says
			// so, and JSON, with null, which import refuses to write.
			cells := append(append([]string{fmt.Sprint(l.shard), "-", "-", "-"}, lagCells(l.lag)...), "-")
			rows[i] = row{cells, noOffsetJSON{l.name, l.shard, nil, nil, jsonLag(l.lag, nil)}}
			continue
		}
		cells := []string{fmt.Sprint(off.ShardNumber), fmt.Sprint(off.Value), formatValueTime(off.Value, timeLayout, "-"), formatAge(now, off.Value)}
		cells = append(append(cells, lagCells(l.lag)...), formatTime(off.Timestamp))
		rows[i] = row{cells, offsetJSON{off.ProjectionName, off.ShardNumber, off.Value, off.Timestamp, notesOf(off, now, jsonLag(l.lag, nil))}}
	}
	cols := append(columns("SHARD", "VALUE"), wideOnly("TIME", "AGE")...)
	return render(o.stdout, o.output, append(cols, columns("EVENTS BEHIND", "LAG", "TIMESTAMP")...), rows)
}
