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
	events eventsOptions
}

func newProjectionsCommand(e *env) *cobra.Command {
	o := &projectionsOptions{env: e}
	cmd := &cobra.Command{
		Use:   "projections",
		Short: "list projections: shard count, lowest value's time and age, last update; with --events-table, true lag",
		Long: `One row per projection that has offsets, sorted by name: how many shards
have one, the time of the lowest value (see offsetctl --help), its AGE (now
minus that time: how old the furthest-behind position is, not how far
behind the events it is) and the latest timestamp, when the projection last
wrote. --output wide adds the lowest and highest values and times.

With --events-table, offsetctl reads eGo's events table in PostgreSQL (the
offsets' database, or --events-url's) and shows the furthest-behind shard's
EVENTS BEHIND, the events of its shard after its offset, which the
projection has yet to handle, and its LAG, the newest of those events' time
less the offset's time (less the oldest one's if the value is no time);
both 0 when it is caught up. A shard the events table has events of but
the projection has no offset for counts as an offset of 0, every event of
it behind, as eGo's runner reads it from 0 (SHARDS counts offsets only).
It reads the events after the lowest offset through the table's index on
timestamp, and the shards and the events of shards with no offset through
its index on shard_number.

--output json prints every time in RFC 3339, age and lag as text and in
nanoseconds; a time field is left out when there is no time to print (a
value that is no time, a timestamp past the year 9999).`,
		Example: `  offsetctl projections --url postgres://user@db:5432/app

  PROJECTION  SHARDS  MIN TIME                  AGE      LAST UPDATE
  accounts    3       2026-11-25T09:55:00.000Z  26h5m0s  2026-11-26T11:59:55.000Z

  offsetctl projections --events-table events_store

  PROJECTION  SHARDS  EVENTS BEHIND  LAG    LAST UPDATE
  accounts    3       1520           4m10s  2026-11-26T11:59:55.000Z

  offsetctl projections -o wide
  offsetctl projections --url nats://n1:4222 --events-url postgres://user@db:5432/app --events-table events_store`,
		Args: cobra.ExactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return runProjections(o.start(cmd), o) },
	}
	addOutputFlag(cmd, &o.output, formatTable)
	addEventsFlags(cmd, &o.events)
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
	// LastUpdate is the highest timestamp's time; absent if RFC 3339
	// cannot write it (a year before 0000 or after 9999).
	LastUpdate string `json:"lastUpdate,omitempty"`
	// Age is how long before now the lowest value's time is.
	Age      string `json:"age,omitempty"`
	AgeNanos *int64 `json:"ageNanos,omitempty,string"`
	*lagJSON
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

// projectionColumns are the columns of projections, with EVENTS BEHIND
// and LAG if withLag.
func projectionColumns(withLag bool) []column {
	cols := append(columns("PROJECTION", "SHARDS"), wideOnly("MIN VALUE")...)
	cols = append(cols, column{header: "MIN TIME", wide: withLag})
	cols = append(cols, wideOnly("MAX VALUE", "MAX TIME")...)
	cols = append(cols, column{header: "AGE", wide: withLag})
	if withLag {
		cols = append(cols, wideOnly("WORST SHARD")...)
		cols = append(cols, columns("EVENTS BEHIND", "LAG")...)
	}
	return append(cols, columns("LAST UPDATE")...)
}

func runProjections(ctx context.Context, o *projectionsOptions) error {
	b, err := o.chooseBackend()
	if err != nil {
		return err
	}
	events, err := o.events.eventsTable(b, o.timeout)
	if err != nil {
		return err
	}
	ctx, db, err := o.openBackend(ctx, b)
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
	var worstOf map[string]*lagJSON
	if events != nil {
		if worstOf, err = worstLags(ctx, db, events); err != nil {
			return err
		}
	}
	now := o.now()
	rows := make([]row, len(projections))
	for i, p := range projections {
		s := summaryOf(p, now)
		cells := []string{displayName(s.Name), strconv.Itoa(s.Shards),
			fmt.Sprint(s.MinValue), formatValueTime(s.MinValue, timeLayout, "-"),
			fmt.Sprint(s.MaxValue), formatValueTime(s.MaxValue, timeLayout, "-"),
			formatAge(now, s.MinValue)}
		if l := worstOf[p.Name]; events != nil {
			// A projection written since the snapshot has no lag of its
			// own: none is made up for it.
			cells = append(cells, "-", "-", "-")
			if l != nil {
				s.lagJSON = l
				cells = append(cells[:len(cells)-3], fmt.Sprint(*l.WorstShard), fmt.Sprint(l.EventsBehind), l.Lag)
			}
		}
		rows[i] = row{append(cells, formatTime(p.LastUpdate)), s}
	}
	return render(o.stdout, o.output, projectionColumns(events != nil), rows)
}

// worstLags returns, by projection name, the lag of the furthest-behind
// shard of each projection of db, read from events: of its offsets, and of
// the shards of the events table it has none for.
func worstLags(ctx context.Context, db *database, events *eventsTable) (map[string]*lagJSON, error) {
	offsets, err := db.store.Snapshot(ctx)
	if err != nil {
		return nil, db.explain(ctx, err)
	}
	rows, err := events.lags(ctx, offsets)
	if err != nil {
		return nil, err
	}
	worstOf := map[string]*lagJSON{}
	// rows are sorted by name: each projection's shards are a run.
	for start := 0; start < len(rows); {
		end := start + 1
		for end < len(rows) && rows[end].name == rows[start].name {
			end++
		}
		lags := make([]shardLag, end-start)
		for i, r := range rows[start:end] {
			lags[i] = r.lag
		}
		w := rows[start+worst(lags)]
		worstOf[w.name] = jsonLag(w.lag, ptr(w.shard))
		start = end
	}
	return worstOf, nil
}
