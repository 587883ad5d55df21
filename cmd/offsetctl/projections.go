package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/ego-contrib/offsetstore/egopb"
)

type projectionsOptions struct {
	*env
	output string
}

func newProjectionsCommand(e *env) *cobra.Command {
	o := &projectionsOptions{env: e}
	cmd := &cobra.Command{
		Use:   "projections",
		Short: "list projections: shard count, lowest and highest value with their times, lag, last update",
		Long: `One row per projection that has offsets, sorted by name: how many shards
have one, the lowest and highest value with their times, the LAG of the
furthest-behind shard, the one of the lowest value ("-" if that value is
no time; see offsetctl --help), and the latest timestamp.`,
		Example: `  offsetctl projections --url postgres://user@db:5432/app

  PROJECTION  SHARDS  MIN VALUE            MIN TIME                  MAX VALUE            MAX TIME                  LAG      LAST UPDATE
  accounts    3       1795600500000000000  2026-11-25T09:55:00.000Z  1795694395000000000  2026-11-26T11:59:55.000Z  26h5m0s  2026-11-26T11:59:55.000Z`,
		Args: cobra.ExactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return runProjections(o.start(cmd), o) },
	}
	addOutputFlag(cmd, &o.output, "table")
	return cmd
}

// A summary describes the offsets of one projection, and is a row of
// projections --output json; a time is absent when its value is not one.
type summary struct {
	Name         string `json:"projectionName"`
	Shards       int    `json:"shards"`
	MinValue     int64  `json:"minValue,string"`
	MinValueTime string `json:"minValueTime,omitempty"`
	MaxValue     int64  `json:"maxValue,string"`
	MaxValueTime string `json:"maxValueTime,omitempty"`
	// LastUpdate is the highest timestamp, in Unix milliseconds.
	LastUpdate int64 `json:"lastUpdate,string"`
}

// summarize folds offsets, sorted by projection name, into one summary per
// projection, in the same order.
func summarize(offsets []*egopb.Offset) []summary {
	var sums []summary
	for _, o := range offsets {
		if len(sums) == 0 || sums[len(sums)-1].Name != o.ProjectionName {
			sums = append(sums, summary{Name: o.ProjectionName, MinValue: o.Value, MaxValue: o.Value, LastUpdate: o.Timestamp})
		}
		s := &sums[len(sums)-1]
		s.Shards++
		s.MinValue = min(s.MinValue, o.Value)
		s.MaxValue = max(s.MaxValue, o.Value)
		s.LastUpdate = max(s.LastUpdate, o.Timestamp)
		s.MinValueTime = formatValueTime(s.MinValue, time.RFC3339Nano, "")
		s.MaxValueTime = formatValueTime(s.MaxValue, time.RFC3339Nano, "")
	}
	return sums
}

func runProjections(ctx context.Context, o *projectionsOptions) error {
	ctx, db, err := o.open(ctx)
	defer db.close()
	if err != nil {
		return err
	}
	// One read of every offset: the store's one statement (or scan) is
	// one instant, and every backend has it.
	offsets, err := db.store.Snapshot(ctx)
	if err != nil {
		return db.explain(ctx, err)
	}
	sums := summarize(offsets)
	if len(sums) == 0 {
		fmt.Fprintf(o.stderr, "no projection has offsets in %s\n", db.holder+" of "+db.where)
		return nil
	}
	now := o.now()
	rows := make([]row, len(sums))
	for i, s := range sums {
		rows[i] = row{[]string{displayName(s.Name), strconv.Itoa(s.Shards),
			fmt.Sprint(s.MinValue), formatValueTime(s.MinValue, timeLayout, "-"),
			fmt.Sprint(s.MaxValue), formatValueTime(s.MaxValue, timeLayout, "-"),
			formatLag(now, s.MinValue), formatTime(s.LastUpdate)}, s}
	}
	return render(o.stdout, o.output, []string{"PROJECTION", "SHARDS", "MIN VALUE", "MIN TIME", "MAX VALUE", "MAX TIME", "LAG", "LAST UPDATE"}, rows)
}
