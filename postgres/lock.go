package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// lockClass seeds the keys of the advisory locks the store takes, one
// per projection: the lock of a projection is PostgreSQL's advisory lock of
// one bigint key, the 64-bit hash of its name seeded with lockClass. Every
// write takes its projection's lock shared, in the statement that writes:
//
//	pg_advisory_xact_lock_shared(hashtextextended(projection_name, 1868981875))
//
// and [OffsetStore.ResetOffset], [OffsetStore.ResetShards]
// and [OffsetStore.DeleteShards] take it
// exclusively, before the statement that changes the rows, so that none
// misses a shard a concurrent write adds; each lock is held until its
// transaction ends. The lock names a projection, not a table: stores on
// other tables of the same database share the locks of the names they
// have in common, and wait for each other's resets of them.
//
// Once its projection's lock is granted, and the projection's rows are
// locked, each of those takes the store-wide lock shared: the advisory
// lock of two int4 keys, lockClass and 0,
//
//	pg_advisory_xact_lock_shared(1868981875, 0)
//
// which [OffsetStore.WriteOffsets] of more than 64 projections takes
// exclusively instead of their locks, when no one holds it: one lock per
// projection in one transaction would overflow the server's lock table.
// Writes do not take it.
//
// The value is 0x6F666673, "offs" in ASCII. An application's own advisory
// locks meet the store-wide lock only if they take the two int4 keys
// lockClass and 0 (PostgreSQL keeps the one-key and two-key forms apart),
// and a projection's only if they take the one bigint key above. Earlier
// versions of this package keyed projections with the 32-bit hashtext of
// the name, on which projections shared locks more often, and the
// store-wide lock with the bigint key lockClass: nodes of the two kinds do
// not exclude each other's resets, so move every node at once, or make no
// reset while they are mixed.
const lockClass = 0x6F666673

// readCommitted pins the transactions the store opens to READ COMMITTED,
// whatever the connection's default: under REPEATABLE READ or SERIALIZABLE
// every statement would read with the snapshot of the transaction's first,
// taken before the lock that statement waited for was granted.
var readCommitted = pgx.TxOptions{IsoLevel: pgx.ReadCommitted}

// changeProjection runs the statement stmt, with args, in a transaction
// that first takes projection name's lock exclusively (lockProjectionSQL),
// then its rows and the store-wide lock (lockRowsThenStoreSQL), and hands
// stmt's result to read. Statement and locks are separate statements, so
// that stmt reads with a snapshot taken once the locks are granted; the
// transaction goes out as one pipeline, BEGIN to COMMIT, in one round
// trip (two the first time on a connection, while pgx prepares the
// statements). It runs again, from the start, when the server rolls it back for
// a deadlock or a serialization failure.
func (s *OffsetStore) changeProjection(ctx context.Context, pool *pgxpool.Pool, name string, read func(pgx.BatchResults) error, stmt string, args ...any) error {
	return retry(ctx, func() error {
		b := &pgx.Batch{}
		b.BeginTx(readCommitted)
		b.Queue(lockProjectionSQL, name)
		b.Queue(s.stmts.lockRowsThenStore, name)
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
	if _, err := br.Exec(); err != nil { // the projection's lock
		return err
	}
	if _, err := br.Exec(); err != nil { // its rows, then the store-wide lock
		return err
	}
	if err := read(br); err != nil {
		return err
	}
	_, err := br.Exec() // COMMIT
	return err
}
