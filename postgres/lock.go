package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// LockClass is the first of the two int4 keys of the advisory locks the
// store takes, one per projection; the second is hashtext of the
// projection's name. Every write takes its projection's lock shared, in
// the statement that writes:
//
//	pg_advisory_xact_lock_shared(1868981875, hashtext(projection_name))
//
// and [OffsetStore.ResetOffset], [OffsetStore.ResetShards],
// [OffsetStore.DeleteShards] and [OffsetStore.DeleteOffsets] take it
// exclusively, before the statement that changes the rows, so that none
// misses a shard a concurrent write adds; each lock is held until its
// transaction ends. The lock names a projection, not a table: stores on
// other tables of the same database share the locks of the names they
// have in common, and wait for each other's resets of them.
//
// Before its projection's lock, each of those takes the store-wide lock
// shared: the advisory lock of one bigint key, LockClass,
//
//	pg_advisory_xact_lock_shared(1868981875::bigint)
//
// which [OffsetStore.WriteOffsets] of more than 64 projections takes
// exclusively instead of their locks: one lock per projection in one
// transaction would overflow the server's lock table. Writes do not take
// it.
//
// The value is 0x6F666673, "offs" in ASCII. An application's own advisory
// locks meet the store's projection locks only if they take two int4
// keys with this class too, and the store-wide lock only if they take the
// one bigint key 1868981875: PostgreSQL keeps the two forms apart.
const LockClass = 0x6F666673

// readCommitted pins the transactions the store opens to READ COMMITTED,
// whatever the connection's default: under REPEATABLE READ or SERIALIZABLE
// every statement would read with the snapshot of the transaction's first,
// taken before the lock that statement waited for was granted.
var readCommitted = pgx.TxOptions{IsoLevel: pgx.ReadCommitted}

// changeProjection runs the statement stmt, with args, in a transaction
// that first takes projection name's lock exclusively (lockProjectionSQL),
// and hands stmt's result to read. Statement and lock are two statements,
// so that stmt reads with a snapshot taken once the lock is granted; the
// transaction goes out as one pipeline, BEGIN to COMMIT, in one round
// trip (two the first time on a connection, while pgx prepares the
// statements). It runs again, from the start, when the server rolls it back for
// a deadlock or a serialization failure.
func (s *OffsetStore) changeProjection(ctx context.Context, pool *pgxpool.Pool, name string, read func(pgx.BatchResults) error, stmt string, args ...any) error {
	return retry(ctx, func() error {
		b := &pgx.Batch{}
		b.BeginTx(readCommitted)
		b.Queue(lockProjectionSQL, name)
		b.Queue(stmt, args...)
		b.Queue(commitSQL)
		br := pool.SendBatch(ctx, b)
		err := readChange(br, read)
		if closeErr := br.Close(); err == nil {
			err = closeErr
		}
		// After COMMIT the transaction is closed and this does nothing but
		// give the connection back; after a failure it rolls back.
		_ = br.Tx().Rollback(ctx)
		return err
	})
}

// readChange reads the results of changeProjection's pipeline, in order,
// until the first error.
func readChange(br pgx.BatchResults, read func(pgx.BatchResults) error) error {
	if _, err := br.Exec(); err != nil { // BEGIN
		return err
	}
	if _, err := br.Exec(); err != nil { // the lock
		return err
	}
	if err := read(br); err != nil {
		return err
	}
	_, err := br.Exec() // COMMIT
	return err
}
