package postgres

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
)

// DeleteShards removes the offsets of projectionName's shards, or of every
// shard if shards is nil, in one transaction, and returns the offsets it
// removed, sorted by shard. Shards that have no offset are skipped.
func (s *OffsetStore) DeleteShards(ctx context.Context, projectionName string, shards []uint64) ([]*egopb.Offset, error) {
	const op = "DeleteShards"
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
// projections it writes. A call of one projection takes its turn among
// that projection's writes, and waits for its locks as they do. A call of
// several takes the lock of each, shared, as [OffsetStore.WriteOffset]
// does, or, beyond 64 projections, whose locks could overflow the server's
// lock table (64 per transaction by default), the store-wide lock
// exclusively instead (see Locks in the package documentation). It does not wait for those locks,
// and waits for a row only briefly (20 milliseconds the first time, up to
// 200 later): when a reset, or a delete of several shards, holds or waits
// for one of those locks, or another transaction holds a row (an open
// [OffsetStore.WriteOffsetTx], another session's lock), it rolls back and
// tries again, after pauses that grow to a second, until it commits or
// ctx ends; such retries go out after the first attempts of others, and
// may wait for the locks 200 milliseconds. So it never holds up the
// calls of projections it does not write for more than one of its
// attempts, but it may wait for long for one it writes that is stuck, and
// waits for the calls of several projections queued before it (about 10
// milliseconds each, on a pool of 4, when they meet a locked row).
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
	if len(names) == 1 {
		// One projection's rows take their turn among its writes.
		return sess.commits.change(ctx, op, rows[0].name, func(ctx context.Context) error {
			return retry(ctx, func() error { return s.writeOffsets(ctx, sess, rows) })
		})
	}
	return s.writeAcross(ctx, sess, rows, len(names) > maxProjectionLocks)
}

// lockWaits bounds how long the attempts of a [OffsetStore.WriteOffsets] of
// several projections wait for a row another transaction holds before they
// roll back, to try again later: the first waits first, each next twice as
// long as the one before, up to most. Long enough for the batches that
// hold rows for a commit's time; short enough that attempts, which hold a
// connection each, leave the units in flight to the calls of projections
// that are not stuck, and that a burst of first attempts that all wait for
// one stuck projection passes quickly.
type lockWaits struct{ first, most time.Duration }

var defaultLockWaits = lockWaits{first: 20 * time.Millisecond, most: 200 * time.Millisecond}

// wait returns how long attempt waits for a row.
func (w lockWaits) wait(attempt int) time.Duration {
	d := w.first
	for i := 1; i < attempt && d < w.most; i++ {
		d *= 2
	}
	return min(d, w.most)
}

// busyBackoff spaces the attempts of a WriteOffsets of several projections
// that found a lock it needs held.
var busyBackoff = backoff{first: 10 * time.Millisecond, most: time.Second}

// errLocksBusy says that a lock a WriteOffsets of several projections
// needs is held, or waited for, by a change.
var errLocksBusy = errors.New("a reset or a delete of several shards holds or waits for a lock it needs")

// writeAcross writes rows, of several projections, in one transaction, as
// a unit of no projection's lane: a call that waits for one projection
// must not hold up the calls of others that come behind it. Its attempts
// wait for locks and rows briefly (see lockWaits and writeAcrossOnce), so
// that it never keeps a connection long, nor queues on the server in front
// of the resets of other projections for long. When a lock it needs is
// held, it rolls back and tries again after a pause, until it commits or
// ctx ends.
func (s *OffsetStore) writeAcross(ctx context.Context, sess *session, rows []row, wholeStore bool) error {
	const op = "WriteOffsets"
	for attempt := 1; ; attempt++ {
		var busy error
		err := sess.commits.alone(ctx, op, attempt > 1, func(ctx context.Context) error {
			wait := sess.lockWaits.wait(attempt)
			err := retry(ctx, func() error { return s.writeAcrossOnce(ctx, sess, rows, wholeStore, attempt > 1, wait) })
			if errors.Is(err, errLocksBusy) || sqlState(err) == codeLockNotAvailable {
				busy = err
				return nil
			}
			return err
		})
		if err != nil || busy == nil {
			return err
		}
		pause := time.NewTimer(busyBackoff.pause(attempt))
		select {
		case <-pause.C:
		case <-ctx.Done():
			pause.Stop()
			return opError(op, fmt.Errorf("%w: nothing was written: a lock it needs was held by another call: %w", ctx.Err(), busy))
		}
	}
}

// writeAcrossOnce is one attempt of writeAcross: in a transaction, it
// takes the locks of rows' projections shared, or the store-wide lock
// exclusively, and writes rows. A first attempt takes the locks only if it
// can at once, and otherwise fails with errLocksBusy, so that a burst of
// calls that find a projection stuck does not queue on the server; a retry
// (queue), which goes out after the other first attempts, queues for them,
// so that resets made one after another do not keep it out for ever.
// Either waits for a lock or a row no longer than wait.
func (s *OffsetStore) writeAcrossOnce(ctx context.Context, sess *session, rows []row, wholeStore, queue bool, wait time.Duration) error {
	return pgx.BeginTxFunc(ctx, sess.pool, readCommitted, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, setLockTimeoutSQL, fmt.Sprintf("%dms", wait.Milliseconds())); err != nil {
			return err
		}
		if queue {
			if wholeStore {
				if _, err := tx.Exec(ctx, lockStoreSQL); err != nil {
					return err
				}
			}
			// Without the store-wide lock, the statement takes the
			// projections' locks.
			return s.upsertAll(ctx, tx, rows, wholeStore)
		}
		var locked bool
		var err error
		if wholeStore {
			err = tx.QueryRow(ctx, tryLockStoreSQL).Scan(&locked)
		} else {
			names := make([]string, len(rows))
			for i, r := range rows {
				names[i] = r.name
			}
			err = tx.QueryRow(ctx, tryLockProjectionsSQL, names).Scan(&locked)
		}
		if err != nil {
			return err
		}
		if !locked {
			return errLocksBusy
		}
		return s.upsertAll(ctx, tx, rows, true)
	})
}

// writeOffsets writes rows, of one projection, in one statement, in a
// transaction of its own when monotonic writes must roll back on a
// regression.
func (s *OffsetStore) writeOffsets(ctx context.Context, sess *session, rows []row) error {
	if !s.monotonic {
		_, err := s.upsertRows(ctx, sess.writer(), rows, false)
		return err
	}
	return pgx.BeginTxFunc(ctx, sess.pool, readCommitted, func(tx pgx.Tx) error {
		return s.upsertAll(ctx, tx, rows, false)
	})
}

// upsertAll writes rows in tx, as upsertRows does, and fails if it skipped
// any for being below the stored value, so that the caller rolls tx back.
func (s *OffsetStore) upsertAll(ctx context.Context, tx pgx.Tx, rows []row, locked bool) error {
	written, err := s.upsertRows(ctx, tx, rows, locked)
	if err != nil {
		return err
	}
	if i := slices.Index(written, false); i >= 0 {
		return belowStored(rows[i])
	}
	return nil
}

// WriteOffsetTx writes offset, as [OffsetStore.WriteOffset] does, inside
// tx, the caller's transaction: the offset commits if and only if tx does,
// together with whatever else tx wrote, such as the rows of a read model
// the offset's events were applied to. That makes a projection's effects
// exactly-once: after a crash, the read model and the offset agree.
//
// The write takes its projection's lock shared (see Locks in the package documentation), which
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
