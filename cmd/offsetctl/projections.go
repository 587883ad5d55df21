package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/ego-contrib/offsetstore"
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

// projectionCount returns how many projections offsets, sorted by
// projection name, hold.
func projectionCount(offsets []*egopb.Offset) int {
	n := 0
	for i, o := range offsets {
		if i == 0 || o.ProjectionName != offsets[i-1].ProjectionName {
			n++
		}
	}
	return n
}

// summaryOf is the row of projections --output json for p.
func summaryOf(p offsetstore.ProjectionSummary) summary {
	return summary{
		Name: p.Name, Shards: p.Shards, LastUpdate: p.LastUpdate,
		MinValue: p.MinValue, MinValueTime: formatValueTime(p.MinValue, time.RFC3339Nano, ""),
		MaxValue: p.MaxValue, MaxValueTime: formatValueTime(p.MaxValue, time.RFC3339Nano, ""),
	}
}

func runProjections(ctx context.Context, o *projectionsOptions) error {
	ctx, db, err := o.open(ctx)
	defer db.close()
	if err != nil {
		return err
	}
	projections, err := db.store.Projections(ctx)
	if err != nil {
		return db.explain(ctx, err)
	}
	if len(projections) == 0 {
		fmt.Fprintf(o.stderr, "no projection has offsets in %s\n", db.holder+" of "+db.where)
		return nil
	}
	now := o.now()
	rows := make([]row, len(projections))
	for i, p := range projections {
		s := summaryOf(p)
		rows[i] = row{[]string{displayName(s.Name), strconv.Itoa(s.Shards),
			fmt.Sprint(s.MinValue), formatValueTime(s.MinValue, timeLayout, "-"),
			fmt.Sprint(s.MaxValue), formatValueTime(s.MaxValue, timeLayout, "-"),
			formatLag(now, s.MinValue), formatTime(s.LastUpdate)}, s}
	}
	return render(o.stdout, o.output, []string{"PROJECTION", "SHARDS", "MIN VALUE", "MIN TIME", "MAX VALUE", "MAX TIME", "LAG", "LAST UPDATE"}, rows)
}
