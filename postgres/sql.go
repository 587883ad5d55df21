package postgres

import (
	_ "embed"
	"strings"
)

// The statements name the table offsets_store, eGo's default, so that each
// can be pasted into psql as it is; [bind] puts the configured table in its
// place. In pgx's default query exec mode they are prepared once per
// connection by its statement cache (behind a pooler, see doc.go).

// createTableSQL creates the table if it is missing.
//
//go:embed schema.sql
var createTableSQL string

const (
	// tableToken is the name the statements below use for the table.
	tableToken = "offsets_store"

	// checkTableSQL fails unless the table exists with the columns this
	// package uses.
	checkTableSQL = `SELECT projection_name, shard_number, current_offset, timestamp FROM offsets_store LIMIT 0`

	// nameColumnSQL reads the type of the table's projection_name column;
	// $1 is the table's quoted name, found as the statements find it.
	nameColumnSQL = `SELECT t.typname, a.atttypmod, format_type(a.atttypid, a.atttypmod)
FROM pg_attribute AS a JOIN pg_type AS t ON t.oid = a.atttypid
WHERE a.attrelid = $1::regclass AND a.attname = 'projection_name'`

	selectOffsetSQL = `SELECT current_offset, timestamp FROM offsets_store
WHERE projection_name = $1 AND shard_number = $2`

	// upsertSQL writes one offset: eGo's own upsert, after taking the
	// projection's lock shared (see lockProjectionSQL) in the same
	// statement, so that a lone write stays one round trip. The statement's
	// snapshot may predate the lock; that does not matter to ON CONFLICT,
	// which under READ COMMITTED inserts or updates the row as last
	// committed.
	upsertSQL = `INSERT INTO offsets_store AS o (projection_name, shard_number, current_offset, timestamp)
SELECT $1::text, $2::bigint, $3::bigint, $4::bigint
FROM (SELECT pg_advisory_xact_lock_shared(hashtextextended($1::text, 1868981875))) AS shared_lock
ON CONFLICT (projection_name, shard_number)
DO UPDATE SET current_offset = EXCLUDED.current_offset, timestamp = EXCLUDED.timestamp`

	// upsertManySQL writes one offset per element of its arrays, which
	// must name each key once. It first takes the lock of each projection
	// named, shared, in the order of the locks' keys: the aggregate reads
	// every key before the join yields a row to write. Rows are then
	// written, and so locked, in the arrays' order: callers sort them. In
	// one order for every batch, two batches never wait for each other's
	// locks or rows in a cycle.
	upsertManySQL = `INSERT INTO offsets_store AS o (projection_name, shard_number, current_offset, timestamp)
SELECT r.* FROM
    (SELECT count(pg_advisory_xact_lock_shared(k)) FROM
        (SELECT DISTINCT hashtextextended(n, 1868981875) AS k FROM unnest($1::text[]) AS n ORDER BY k) AS keys) AS shared_locks,
    unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[]) AS r
ON CONFLICT (projection_name, shard_number)
DO UPDATE SET current_offset = EXCLUDED.current_offset, timestamp = EXCLUDED.timestamp`

	// onlyForwardSQL ends a monotonic upsert: it leaves a row alone when
	// its stored value is higher, in the same statement, and returns the
	// keys it wrote.
	onlyForwardSQL = `
WHERE o.current_offset <= EXCLUDED.current_offset
RETURNING projection_name, shard_number`

	// upsertManyMonotonicSQL is upsertManySQL that leaves a row alone when
	// its stored value is higher, in the same statement, so that no write
	// can slip in between the comparison and the update. It returns the
	// keys it wrote. Monotonic stores write with it even one row at a time.
	upsertManyMonotonicSQL = upsertManySQL + onlyForwardSQL

	// sharedLockWait is how long the writes of a shared batch wait for a
	// lock or a row (lock_timeout) before the statement fails with SQLSTATE
	// 55P03 and changes nothing: long enough for the commits of other
	// writes of the same rows, and for a reset that runs; short enough that
	// a projection stuck behind a lock held for long (an open transaction
	// that wrote it, a reset waiting for one, its rows locked by another
	// session) holds up the other projections of its batch for no longer,
	// before the committer sends it apart (see [committer]).
	sharedLockWait = "20ms"

	// upsertTimedSQL is upsertSQL that waits sharedLockWait at most for
	// the projection's lock and the row. set_config, evaluated before the
	// lock is asked for, sets lock_timeout until the statement's
	// transaction ends: its own, or the READ COMMITTED one it is pinned in
	// (see [session.writer]); never a transaction of the caller's.
	upsertTimedSQL = `INSERT INTO offsets_store AS o (projection_name, shard_number, current_offset, timestamp)
SELECT $1::text, $2::bigint, $3::bigint, $4::bigint
FROM (SELECT pg_advisory_xact_lock_shared(
    CASE WHEN set_config('lock_timeout', '` + sharedLockWait + `', true) IS NOT NULL THEN hashtextextended($1::text, 1868981875) END)) AS shared_lock
ON CONFLICT (projection_name, shard_number)
DO UPDATE SET current_offset = EXCLUDED.current_offset, timestamp = EXCLUDED.timestamp`

	// upsertManyTimedSQL is upsertManySQL that waits sharedLockWait at most
	// for each lock and row, as upsertTimedSQL. The set_config of the
	// one-time filter runs once, before the sort yields the first key to
	// lock.
	upsertManyTimedSQL = `INSERT INTO offsets_store AS o (projection_name, shard_number, current_offset, timestamp)
SELECT r.* FROM
    (SELECT count(pg_advisory_xact_lock_shared(k)) FROM
        (SELECT DISTINCT hashtextextended(n, 1868981875) AS k FROM unnest($1::text[]) AS n
         WHERE (SELECT set_config('lock_timeout', '` + sharedLockWait + `', true)) IS NOT NULL ORDER BY k) AS keys) AS shared_locks,
    unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[]) AS r
ON CONFLICT (projection_name, shard_number)
DO UPDATE SET current_offset = EXCLUDED.current_offset, timestamp = EXCLUDED.timestamp`

	// upsertManyMonotonicTimedSQL is upsertManyMonotonicSQL that waits
	// sharedLockWait at most, as upsertManyTimedSQL.
	upsertManyMonotonicTimedSQL = upsertManyTimedSQL + onlyForwardSQL

	// lockProjectionSQL takes the lock of projection $1 exclusively, until
	// the transaction ends. Every change to a whole projection (a reset, a
	// delete of several shards) takes it, and then reads the rows it
	// changes in the next statement of its transaction, with a snapshot
	// taken once the lock is granted; every write takes it shared (the
	// upserts above). Under READ COMMITTED a statement sees the rows
	// committed when it started: without the lock, a shard that a
	// concurrent write adds while a reset runs would keep its new value
	// while the others are reset, and a reader could see that write and,
	// afterwards, shards not yet reset. The lock waits for the writes of
	// the projection in progress to commit and holds off new ones, but not
	// readers, nor the writes and resets of other projections.
	//
	// The lock is PostgreSQL's advisory lock of one bigint key: the 64-bit
	// hash of the projection name, seeded with lockClass. Two names of one
	// hash would share a lock, which costs waiting, never correctness; with
	// 64 bits, a store of a million projections has about one chance in 37
	// million of holding such a pair (of 20,000, one in 90 billion).
	lockProjectionSQL = `SELECT pg_advisory_xact_lock(hashtextextended($1::text, 1868981875))`

	// lockRowsThenStoreSQL, which a change runs once it holds its
	// projection's lock, locks the projection's rows, and then takes the
	// store-wide lock (tryLockStoreSQL) shared, so that a WriteOffsets of
	// too many projections to lock one by one still excludes the change:
	// the aggregate locks every row before the outer query takes the lock.
	// In that order, a change that waits for its projection's lock, or for
	// rows another session holds, does not hold the store-wide lock
	// meanwhile, which would keep out every such WriteOffsets, of any
	// projections.
	lockRowsThenStoreSQL = `SELECT pg_advisory_xact_lock_shared(1868981875, 0) FROM
    (SELECT count(*) FROM (SELECT 1 FROM offsets_store WHERE projection_name = $1 FOR UPDATE) AS locked) AS rows`

	// tryLockStoreSQL takes the store-wide lock exclusively, until the
	// transaction ends, if no one holds it, and says whether it did: the
	// advisory lock of two int4 keys, lockClass and 0, which PostgreSQL
	// keeps apart from the one-key locks of projections. A WriteOffsets of
	// more than maxProjectionLocks projections takes it instead of their
	// locks, and so excludes every reset and delete of several shards, of
	// every projection, until it commits; writes do not take it. A first
	// attempt never waits for it: waiting, it would queue in front of the
	// resets that come after it, of projections it does not write.
	tryLockStoreSQL = `SELECT pg_try_advisory_xact_lock(1868981875, 0)`

	// lockStoreSQL is tryLockStoreSQL that waits for the lock, for a
	// WriteOffsets that tried before, under a lock_timeout.
	lockStoreSQL = `SELECT pg_advisory_xact_lock(1868981875, 0)`

	// tryLockProjectionsSQL takes the lock of each projection of $1,
	// shared, until the transaction ends, if it can without waiting, and
	// says whether it took them all. PostgreSQL refuses it a lock that a
	// change holds, or waits for: so a WriteOffsets of several projections
	// never queues in front of a reset.
	tryLockProjectionsSQL = `SELECT coalesce(bool_and(pg_try_advisory_xact_lock_shared(k)), true) FROM
    (SELECT DISTINCT hashtextextended(n, 1868981875) AS k FROM unnest($1::text[]) AS n) AS keys`

	// setLockTimeoutSQL sets lock_timeout to $1 until the transaction ends.
	setLockTimeoutSQL = `SELECT set_config('lock_timeout', $1, true)`

	// upsertManyUnlockedSQL is upsertManySQL without the projections'
	// locks, for a transaction that holds them, or the store-wide lock,
	// already.
	upsertManyUnlockedSQL = `INSERT INTO offsets_store AS o (projection_name, shard_number, current_offset, timestamp)
SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[])
ON CONFLICT (projection_name, shard_number)
DO UPDATE SET current_offset = EXCLUDED.current_offset, timestamp = EXCLUDED.timestamp`

	// upsertManyMonotonicUnlockedSQL is upsertManyMonotonicSQL without the
	// projections' locks, as upsertManyUnlockedSQL.
	upsertManyMonotonicUnlockedSQL = upsertManyUnlockedSQL + onlyForwardSQL

	// maxProjectionLocks is how many projections' locks one transaction
	// takes at most: PostgreSQL's default max_locks_per_transaction, what
	// each transaction may count on finding room for in the server's
	// shared lock table.
	maxProjectionLocks = 64

	commitSQL = `COMMIT`

	resetSQL = `UPDATE offsets_store SET current_offset = $2, timestamp = $3
WHERE projection_name = $1`

	// resetShardsSQL resets the shards of $4 only. Run under
	// lockProjectionSQL, the rows it returns hold the values as they were
	// before (unless a writer that does not take the lock, such as eGo's
	// own store, wrote meanwhile).
	resetShardsSQL = `UPDATE offsets_store AS o SET current_offset = $2, timestamp = $3
FROM (SELECT shard_number, current_offset, timestamp FROM offsets_store
      WHERE projection_name = $1 AND shard_number = ANY($4::bigint[])) AS old
WHERE o.projection_name = $1 AND o.shard_number = old.shard_number
RETURNING old.shard_number, old.current_offset, old.timestamp`

	// resetAllReturningSQL is resetShardsSQL for every shard.
	resetAllReturningSQL = `UPDATE offsets_store AS o SET current_offset = $2, timestamp = $3
FROM (SELECT shard_number, current_offset, timestamp FROM offsets_store
      WHERE projection_name = $1) AS old
WHERE o.projection_name = $1 AND o.shard_number = old.shard_number
RETURNING old.shard_number, old.current_offset, old.timestamp`

	deleteShardsSQL = `DELETE FROM offsets_store
WHERE projection_name = $1 AND shard_number = ANY($2::bigint[])
RETURNING shard_number, current_offset, timestamp`

	deleteAllSQL = `DELETE FROM offsets_store WHERE projection_name = $1
RETURNING shard_number, current_offset, timestamp`

	selectProjectionSQL = `SELECT shard_number, current_offset, timestamp FROM offsets_store
WHERE projection_name = $1`

	selectAllSQL = `SELECT projection_name, shard_number, current_offset, timestamp FROM offsets_store`

	// summariesSQL reads shards as stored: count works on them as they
	// are, min and max only on values and timestamps.
	summariesSQL = `SELECT projection_name, count(*), min(current_offset), max(current_offset), max(timestamp)
FROM offsets_store GROUP BY projection_name`
)

// statements are the statements of one store, naming its table.
type statements struct {
	createTable, checkTable, nameColumn                    string
	selectOffset, selectProjection, selectAll              string
	summaries                                              string
	upsert, upsertMany, upsertManyMonotonic                string
	upsertTimed, upsertManyTimed, upsertManyMonotonicTimed string
	upsertManyUnlocked, upsertManyMonotonicUnlocked        string
	reset, resetShards, resetAllReturning                  string
	deleteShards, deleteAll                                string
	lockRowsThenStore                                      string
}

// newStatements returns the statements for table, an identifier already
// quoted by [pgx.Identifier.Sanitize].
func newStatements(table string) statements {
	b := func(sql string) string { return bind(sql, table) }
	return statements{
		createTable:                 b(createTableSQL),
		checkTable:                  b(checkTableSQL),
		nameColumn:                  nameColumnSQL,
		selectOffset:                b(selectOffsetSQL),
		selectProjection:            b(selectProjectionSQL),
		selectAll:                   b(selectAllSQL),
		summaries:                   b(summariesSQL),
		upsert:                      b(upsertSQL),
		upsertMany:                  b(upsertManySQL),
		upsertManyMonotonic:         b(upsertManyMonotonicSQL),
		upsertTimed:                 b(upsertTimedSQL),
		upsertManyTimed:             b(upsertManyTimedSQL),
		upsertManyMonotonicTimed:    b(upsertManyMonotonicTimedSQL),
		upsertManyUnlocked:          b(upsertManyUnlockedSQL),
		upsertManyMonotonicUnlocked: b(upsertManyMonotonicUnlockedSQL),
		reset:                       b(resetSQL),
		resetShards:                 b(resetShardsSQL),
		resetAllReturning:           b(resetAllReturningSQL),
		deleteShards:                b(deleteShardsSQL),
		lockRowsThenStore:           b(lockRowsThenStoreSQL),
		deleteAll:                   b(deleteAllSQL),
	}
}

// bind replaces the table name in sql with table. No column name contains
// the table's, which TestStatements_NameOnlyTheTable checks.
func bind(sql, table string) string {
	return strings.ReplaceAll(sql, tableToken, table)
}
