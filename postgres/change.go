package postgres

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
)

// DeleteOffset removes the offset stored for id, so that
// [OffsetStore.GetCurrentOffset] returns nil for it and a later
// [OffsetStore.ResetOffset] does not bring it back. Deleting an offset that
// is not there is not an error.
func (s *OffsetStore) DeleteOffset(ctx context.Context, id *egopb.ProjectionId) error {
	const op = "DeleteOffset"
	if err := check(ctx, op, errors.Join(s.optErr, checkID(id))); err != nil {
		return err
	}
	sess, err := s.session(op)
	if err != nil {
		return err
	}
	if err := sess.checkName(op, id.ProjectionName); err != nil {
		return err
	}
	err = sess.commits.change(ctx, op, id.ProjectionName, func(ctx context.Context) error {
		return retry(ctx, func() error {
			_, err := sess.writer().Exec(ctx, s.stmts.deleteOffset, id.ProjectionName, int64(id.ShardNumber))
			return err
		})
	})
	if err != nil {
		return err
	}
	return nil
}

// DeleteOffsets removes every offset of projectionName, at once, as
// [OffsetStore.ResetOffset] changes them. Deleting a projection that has no
// offsets is not an error.
func (s *OffsetStore) DeleteOffsets(ctx context.Context, projectionName string) error {
	_, err := s.deleteShards(ctx, "DeleteOffsets", projectionName, nil)
	return err
}

// DeleteShards removes the offsets of projectionName's shards, or of every
// shard if shards is nil, in one transaction, and returns the offsets it
// removed, sorted by shard. Shards that have no offset are skipped.
func (s *OffsetStore) DeleteShards(ctx context.Context, projectionName string, shards []uint64) ([]*egopb.Offset, error) {
	return s.deleteShards(ctx, "DeleteShards", projectionName, shards)
}

func (s *OffsetStore) deleteShards(ctx context.Context, op, projectionName string, shards []uint64) ([]*egopb.Offset, error) {
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
	var deleted []*egopb.Offset
	collect := collectInto(&deleted, projectionName)
	err = sess.commits.change(ctx, op, projectionName, func(ctx context.Context) error {
		if shards == nil {
			return s.changeProjection(ctx, sess.pool, projectionName, collect, s.stmts.deleteAll, projectionName)
		}
		return s.changeProjection(ctx, sess.pool, projectionName, collect, s.stmts.deleteShards, projectionName, shardArray(shards))
	})
	if err != nil {
		return nil, err
	}
	return deleted, nil
}

// ResetShards sets Value to value, and Timestamp to the clock's now in Unix
// milliseconds, on projectionName's shards, or on every shard if shards is
// nil, in one transaction, as [OffsetStore.ResetOffset] does, and returns
// the offsets it changed as they were before, sorted by shard. Shards that
// have no offset are skipped, not created: an empty result means nothing
// was reset.
func (s *OffsetStore) ResetShards(ctx context.Context, projectionName string, value int64, shards []uint64) ([]*egopb.Offset, error) {
	const op = "ResetShards"
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
	now := s.clock().UnixMilli()
	var before []*egopb.Offset
	collect := collectInto(&before, projectionName)
	err = sess.commits.change(ctx, op, projectionName, func(ctx context.Context) error {
		if shards == nil {
			return s.changeProjection(ctx, sess.pool, projectionName, collect, s.stmts.resetAllReturning, projectionName, value, now)
		}
		return s.changeProjection(ctx, sess.pool, projectionName, collect, s.stmts.resetShards, projectionName, value, now, shardArray(shards))
	})
	if err != nil {
		return nil, err
	}
	return before, nil
}

// WriteOffsets writes every offset of offsets in one statement: all of them
// or, if any fails, none. It refuses the whole call, writing nothing, if
// any offset is bad input or two name the same projection and shard, and,
// with [WithMonotonicWrites], if any would lower a stored value.
//
// It excludes the resets, and deletes of several shards, of the
// projections it writes: of up to 64 projections, it takes the lock of
// each, shared, as [OffsetStore.WriteOffset] does; of more, which would
// overflow the server's lock table (64 locks per transaction by default),
// it takes the store-wide lock exclusively instead (see [LockClass]), and
// so waits for every reset in progress, of any projection, and holds off
// new ones until it commits. Calls of several projections go out one after
// another; a call of one projection takes its turn among that projection's
// writes.
func (s *OffsetStore) WriteOffsets(ctx context.Context, offsets []*egopb.Offset) error {
	const op = "WriteOffsets"
	argErr := s.optErr
	seen := make(map[key]int, len(offsets))
	rows := make([]row, 0, len(offsets))
	for i, o := range offsets {
		if argErr != nil {
			break
		}
		if err := checkOffset(o); err != nil {
			argErr = fmt.Errorf("offsets[%d]: %w", i, err)
			break
		}
		r := rowOf(o)
		if j, ok := seen[r.key()]; ok {
			argErr = fmt.Errorf("%w: offsets[%d] and offsets[%d] are both for projection %q shard %d",
				offsetstore.ErrInvalidArgument, j, i, r.name, r.shard)
			break
		}
		seen[r.key()] = i
		rows = append(rows, r)
	}
	if err := check(ctx, op, argErr); err != nil {
		return err
	}
	sess, err := s.session(op)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return nil
	}
	names := make(map[string]bool)
	for _, r := range rows {
		if !names[r.name] {
			if err := sess.checkName(op, r.name); err != nil {
				return err
			}
			names[r.name] = true
		}
	}
	// One projection's rows go through its lane; several projections'
	// through the lane of such calls, one after another.
	lane := ""
	if len(names) == 1 {
		lane = rows[0].name
	}
	// Beyond maxProjectionLocks projections, one lock per projection
	// could overflow the server's lock table (SQLSTATE 53200): the
	// transaction takes the store-wide lock exclusively instead, which
	// every reset takes shared.
	wholeStore := len(names) > maxProjectionLocks
	err = sess.commits.change(ctx, op, lane, func(ctx context.Context) error {
		return retry(ctx, func() error {
			if !s.monotonic && !wholeStore {
				_, err := s.upsertRows(ctx, sess.writer(), rows, false)
				return err
			}
			return pgx.BeginTxFunc(ctx, sess.pool, readCommitted, func(tx pgx.Tx) error {
				if wholeStore {
					if _, err := tx.Exec(ctx, lockStoreSQL); err != nil {
						return err
					}
				}
				written, err := s.upsertRows(ctx, tx, rows, wholeStore)
				if err != nil {
					return err
				}
				// The statement skips the rows it may not lower and writes
				// the others: roll them back if it skipped any.
				if i := slices.Index(written, false); i >= 0 {
					return belowStored(rows[i])
				}
				return nil
			})
		})
	})
	if err != nil {
		return err
	}
	return nil
}

// WriteOffsetTx writes offset, as [OffsetStore.WriteOffset] does, inside
// tx, the caller's transaction: the offset commits if and only if tx does,
// together with whatever else tx wrote, such as the rows of a read model
// the offset's events were applied to. That makes a projection's effects
// exactly-once: after a crash, the read model and the offset agree.
//
// The write takes its projection's lock shared (see [LockClass]), which
// tx holds until it ends: a reset of that projection waits for tx to
// commit or roll back, and then reaches the offset if tx committed; writes
// and resets of other projections do not wait for tx. If tx is REPEATABLE
// READ or SERIALIZABLE, a reset that changed the offset's row after tx's
// snapshot was taken makes the write fail with a serialization failure
// (SQLSTATE 40001), and the caller must run tx again.
//
// tx must be on the store's database; the store need not be connected. A
// nil tx, or one holding a nil pointer such as a (*pgxpool.Tx)(nil), fails
// with [offsetstore.ErrInvalidArgument]. With
// [WithMonotonicWrites], a value below the stored one fails with
// [offsetstore.ErrOffsetRegression] and leaves tx usable; any other error
// from the server aborts tx, as PostgreSQL does, and the caller must roll
// it back.
func (s *OffsetStore) WriteOffsetTx(ctx context.Context, tx pgx.Tx, offset *egopb.Offset) error {
	const op = "WriteOffsetTx"
	argErr := errors.Join(s.optErr, checkOffset(offset))
	switch {
	case tx == nil:
		argErr = errors.Join(fmt.Errorf("%w: tx is nil", offsetstore.ErrInvalidArgument), argErr)
	case isNil(tx):
		argErr = errors.Join(fmt.Errorf("%w: tx is a nil %T", offsetstore.ErrInvalidArgument, tx), argErr)
	}
	if err := check(ctx, op, argErr); err != nil {
		return err
	}
	r := rowOf(offset)
	// tx's connection says how its server counts names; the column is
	// the connected store's, or eGo's VARCHAR(255).
	typmod := int32(maxNameChars + 4)
	if sess := s.sess.Load(); sess != nil {
		typmod = sess.typmod
	}
	var rule nameRule
	if conn := tx.Conn(); conn != nil {
		rule = newNameRule(conn.PgConn(), typmod)
	}
	if err := rule.check(r.name); err != nil {
		return opError(op, err)
	}
	written, err := s.upsertRows(ctx, tx, []row{r}, false)
	if err != nil {
		return s.translate(ctx, op, nil, err)
	}
	if !written[0] {
		return opError(op, belowStored(r))
	}
	return nil
}

// collectInto returns a reader, for [OffsetStore.changeProjection], of the
// rows of (shard_number, current_offset, timestamp) of projection name: it
// puts them in *offsets, sorted by shard.
func collectInto(offsets *[]*egopb.Offset, name string) func(pgx.BatchResults) error {
	return func(br pgx.BatchResults) error {
		rows, err := br.Query()
		if err == nil {
			*offsets, err = collectShards(rows, name)
		}
		return err
	}
}

// isNil reports whether v, not nil itself, holds a nil pointer (or map,
// slice, channel or function): a nil *pgxpool.Tx passed as a [pgx.Tx],
// say, on which any method call panics.
func isNil(v any) bool {
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Chan, reflect.Func, reflect.Interface, reflect.UnsafePointer:
		return rv.IsNil()
	}
	return false
}

// shardArray returns shards as the column holds them.
func shardArray(shards []uint64) []int64 {
	out := make([]int64, len(shards))
	for i, shard := range shards {
		out[i] = int64(shard)
	}
	return out
}
