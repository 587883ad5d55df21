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
		Short: "list projections: shard count, lowest value's time and age, last update",
		Long: `One row per projection that has offsets, sorted by name: how many shards
have one, the time of the lowest value (see offsetctl --help), its AGE (now
minus that time: how old the furthest-behind position is, not how far
behind the events it is) and the latest timestamp, when the projection last
wrote. --output wide adds the lowest and highest values and times.

--output json prints every time in RFC 3339, and the age as text and in
nanoseconds.`,
		Example: `  offsetctl projections --url postgres://user@db:5432/app

  PROJECTION  SHARDS  MIN TIME                  AGE      LAST UPDATE
  accounts    3       2026-11-25T09:55:00.000Z  26h5m0s  2026-11-26T11:59:55.000Z

  offsetctl projections -o wide`,
		Args: cobra.ExactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return runProjections(o.start(cmd), o) },
	}
	addOutputFlag(cmd, &o.output, formatTable)
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
	// LastUpdate is the highest timestamp.
	LastUpdate string `json:"lastUpdate"`
	// Age is how long before now the lowest value's time is.
	Age      string `json:"age,omitempty"`
	AgeNanos *int64 `json:"ageNanos,omitempty,string"`
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

// summaryOf is the row of projections --output json for p, as of now.
func summaryOf(p offsetstore.ProjectionSummary, now time.Time) summary {
	s := summary{
		Name: p.Name, Shards: p.Shards, LastUpdate: jsonTime(p.LastUpdate),
		MinValue: p.MinValue, MinValueTime: formatValueTime(p.MinValue, time.RFC3339Nano, ""),
		MaxValue: p.MaxValue, MaxValueTime: formatValueTime(p.MaxValue, time.RFC3339Nano, ""),
	}
	if d, ok := age(now, p.MinValue); ok {
		s.Age, s.AgeNanos = formatDuration(d), ptr(int64(d))
	}
	return s
}

// projectionColumns are the columns of projections.
func projectionColumns() []column {
	cols := append(columns("PROJECTION", "SHARDS"), wideOnly("MIN VALUE")...)
	cols = append(cols, columns("MIN TIME")...)
	cols = append(cols, wideOnly("MAX VALUE", "MAX TIME")...)
	return append(cols, columns("AGE", "LAST UPDATE")...)
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
		s := summaryOf(p, now)
		cells := []string{displayName(s.Name), strconv.Itoa(s.Shards),
			fmt.Sprint(s.MinValue), formatValueTime(s.MinValue, timeLayout, "-"),
			fmt.Sprint(s.MaxValue), formatValueTime(s.MaxValue, timeLayout, "-"),
			formatAge(now, s.MinValue)}
		rows[i] = row{append(cells, formatTime(p.LastUpdate)), s}
	}
	return render(o.stdout, o.output, projectionColumns(), rows)
}
