package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/postgres"
)

var projectionsCommand = &command{
	name:    "projections",
	nargs:   exactly(0),
	summary: "list projections: shard count, lowest and highest value, last update",
	output:  "table",
	help: `One row per projection that has at least one offset, sorted by name:
how many shards have an offset, the lowest and highest value among them,
and the latest timestamp (in UTC) with its age.

Example:
  offsetctl projections --url postgres://user@db:5432/app

  PROJECTION  SHARDS  MIN VALUE  MAX VALUE  LAST UPDATE               AGE
  accounts    3       1042       1618       2026-11-26T11:14:00.000Z  5m3s
`,
	run: runProjections,
}

// projectionJSON is a row of projections --output json.
type projectionJSON struct {
	ProjectionName string `json:"projectionName"`
	Shards         int    `json:"shards"`
	MinValue       string `json:"minValue"`
	MaxValue       string `json:"maxValue"`
	LastUpdate     string `json:"lastUpdate"`
}

func runProjections(ctx context.Context, inv *invocation) error {
	ctx, cancel := inv.withTimeout(ctx)
	defer cancel()
	db, err := inv.connect(ctx, false)
	defer db.close()
	if err != nil {
		return err
	}
	summaries, err := db.store.Summaries(ctx)
	if err != nil {
		return db.explain(ctx, inv, err)
	}
	if len(summaries) == 0 {
		fmt.Fprintf(inv.stderr, "no projection has offsets in table %s of %s\n", db.table, db.where)
		return nil
	}
	if inv.opts.output == "json" {
		out := newJSONLines(inv.stdout)
		for _, s := range summaries {
			err := out.write(projectionJSON{
				ProjectionName: s.ProjectionName,
				Shards:         s.Shards,
				MinValue:       int64String(s.MinValue),
				MaxValue:       int64String(s.MaxValue),
				LastUpdate:     int64String(s.LastUpdate),
			})
			if err != nil {
				return err
			}
		}
		return nil
	}
	now := inv.now()
	t := newTable(inv.stdout, "PROJECTION", "SHARDS", "MIN VALUE", "MAX VALUE", "LAST UPDATE", "AGE")
	for _, s := range summaries {
		t.row(displayName(s.ProjectionName), strconv.Itoa(s.Shards), int64String(s.MinValue), int64String(s.MaxValue),
			formatTime(s.LastUpdate), formatAge(now, s.LastUpdate))
	}
	return t.flush()
}

var offsetsCommand = &command{
	name:    "offsets",
	args:    "NAME",
	nargs:   exactly(1),
	summary: "list the offsets of projection NAME, shard by shard",
	output:  "table",
	help: `One row per shard of projection NAME that has an offset, sorted by shard
number: the value, and the timestamp (in UTC) with its age. A projection
with no offsets is an error. With --output json, the rows are export's
lines, which import reads back.

Example:
  offsetctl offsets accounts

  SHARD  VALUE  TIMESTAMP                 AGE
  0      1042   2026-11-26T11:14:00.000Z  5m3s
`,
	run: runOffsets,
}

func runOffsets(ctx context.Context, inv *invocation) error {
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
	offsets, err := db.projectionOffsets(ctx, inv, name, "")
	if err != nil {
		return err
	}
	return inv.printOffsets(inv.stdout, offsets, false)
}

// projectionOffsets returns the offsets of projection name, or an error if
// it has none, ending with then, what the command will not do: a name an
// operator typed that has no offsets is a typo or the wrong table more
// often than an empty projection.
func (db *database) projectionOffsets(ctx context.Context, inv *invocation, name, then string) ([]*egopb.Offset, error) {
	offsets, err := db.store.Offsets(ctx, name)
	if err != nil {
		return nil, db.explain(ctx, inv, err)
	}
	if len(offsets) == 0 {
		msg := fmt.Sprintf("projection %q has no offsets in table %s of %s", name, db.table, db.where)
		if then != "" {
			msg += ": " + then
		}
		return nil, errors.New(msg)
	}
	return offsets, nil
}
