package postgres

import (
	"cmp"
	"context"
	"errors"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
)

// Offsets returns the offsets of projectionName, sorted by shard number as
// a uint64. A projection with no offsets gives an empty slice, not an
// error.
func (s *OffsetStore) Offsets(ctx context.Context, projectionName string) ([]*egopb.Offset, error) {
	const op = "Offsets"
	if err := check(ctx, op, errors.Join(s.optErr, CheckProjectionName(projectionName))); err != nil {
		return nil, err
	}
	sess, err := s.session(op)
	if err != nil {
		return nil, err
	}
	if err := sess.checkName(op, projectionName); err != nil {
		return nil, err
	}
	rows, err := sess.pool.Query(ctx, s.stmts.selectProjection, projectionName)
	if err != nil {
		return nil, s.translate(ctx, op, sess, err)
	}
	offsets, err := collectShards(rows, projectionName)
	if err != nil {
		return nil, s.translate(ctx, op, sess, err)
	}
	return offsets, nil
}

// Projections returns a summary of every projection that has at least one
// offset, sorted as Go sorts strings (byte by byte), whatever the
// database's collation, read in one statement.
func (s *OffsetStore) Projections(ctx context.Context) ([]offsetstore.ProjectionSummary, error) {
	const op = "Projections"
	if err := check(ctx, op, s.optErr); err != nil {
		return nil, err
	}
	sess, err := s.session(op)
	if err != nil {
		return nil, err
	}
	rows, err := sess.pool.Query(ctx, s.stmts.summaries)
	if err != nil {
		return nil, s.translate(ctx, op, sess, err)
	}
	summaries, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (offsetstore.ProjectionSummary, error) {
		var sum offsetstore.ProjectionSummary
		err := row.Scan(&sum.Name, &sum.Shards, &sum.MinValue, &sum.MaxValue, &sum.LastUpdate)
		return sum, err
	})
	if err != nil {
		return nil, s.translate(ctx, op, sess, err)
	}
	slices.SortFunc(summaries, func(a, b offsetstore.ProjectionSummary) int { return cmp.Compare(a.Name, b.Name) })
	return summaries, nil
}

// Snapshot returns every offset in the table, sorted by projection name as
// [OffsetStore.Projections] sorts them, then by shard number as a uint64,
// read in one statement, so at one instant.
func (s *OffsetStore) Snapshot(ctx context.Context) ([]*egopb.Offset, error) {
	const op = "Snapshot"
	if err := check(ctx, op, s.optErr); err != nil {
		return nil, err
	}
	sess, err := s.session(op)
	if err != nil {
		return nil, err
	}
	rows, err := sess.pool.Query(ctx, s.stmts.selectAll)
	if err != nil {
		return nil, s.translate(ctx, op, sess, err)
	}
	offsets, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*egopb.Offset, error) {
		var o egopb.Offset
		var shard int64
		err := row.Scan(&o.ProjectionName, &shard, &o.Value, &o.Timestamp)
		o.ShardNumber = uint64(shard)
		return &o, err
	})
	if err != nil {
		return nil, s.translate(ctx, op, sess, err)
	}
	sortOffsets(offsets)
	return offsets, nil
}

// collectShards reads rows of (shard_number, current_offset, timestamp) of
// projection name, sorted by shard.
func collectShards(rows pgx.Rows, name string) ([]*egopb.Offset, error) {
	offsets, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*egopb.Offset, error) {
		o := egopb.Offset{ProjectionName: name}
		var shard int64
		err := row.Scan(&shard, &o.Value, &o.Timestamp)
		// The column holds the uint64's bit pattern.
		o.ShardNumber = uint64(shard)
		return &o, err
	})
	if err != nil {
		return nil, err
	}
	sortOffsets(offsets)
	return offsets, nil
}

// sortOffsets sorts offsets by name, byte by byte, then by shard as a
// uint64: in SQL shards from 2^63 up sort first, as negative numbers.
func sortOffsets(offsets []*egopb.Offset) {
	slices.SortFunc(offsets, func(a, b *egopb.Offset) int {
		return cmp.Or(cmp.Compare(a.ProjectionName, b.ProjectionName), cmp.Compare(a.ShardNumber, b.ShardNumber))
	})
}
