// Package postgres is an [offsetstore.OffsetStore], and an
// [offsetstore.Admin], that keeps eGo projections' offsets in PostgreSQL:
// durable, shared by every node of an application, in the table of
// ego-contrib's PostgreSQL store, so that moving from it needs no
// migration.
//
//	store := postgres.NewOffsetStore(os.Getenv("OFFSETSTORE_POSTGRES_URL"), postgres.WithCreateTable())
//	if err := store.Ping(ctx); err != nil { ... } // connects, as eGo's Ping does
//	defer store.Disconnect(ctx)
//	err := store.WriteOffset(ctx, &egopb.Offset{ProjectionName: "accounts", ShardNumber: 0, Value: 15, Timestamp: now})
//	current, err := store.GetCurrentOffset(ctx, &egopb.ProjectionId{ProjectionName: "accounts"})
//
// [NewOffsetStore] takes a connection string as pgx reads it: a URL or
// key=value pairs, with pool_max_conns (4 or more), and, in production,
// several hosts with target_session_attrs=read-write, so that the store
// follows a failover, and default_query_exec_mode=exec behind PgBouncer in
// transaction pooling mode. Its options:
//
//   - [WithPool]: run on a pgxpool the application owns (pass "" as the
//     connection string).
//   - [WithSchema], [WithTable]: another place than offsets_store in the
//     search_path's first schema.
//   - [WithCreateTable]: create the table on Connect if it is missing
//     ([OffsetStore.CreateTableSQL] is its statement).
//   - [WithMonotonicWrites]: refuse a write below the stored value (rule
//     12 of [offsetstore.OffsetStore]).
//   - [WithClock]: the clock that stamps resets.
//
// [OffsetStore.WriteOffsetTx] writes an offset inside the caller's
// transaction, with the read model it belongs to, so that both commit or
// neither does: exactly-once for a runner of your own. eGo's runner commits
// offsets itself and gives its handler no transaction, so under eGo
// delivery is at-least-once.
//
// The Admin methods ([OffsetStore.Projections], [OffsetStore.Offsets],
// [OffsetStore.Snapshot], [OffsetStore.WriteOffsets],
// [OffsetStore.ResetShards], [OffsetStore.DeleteShards]) each run in one
// statement or one transaction: what offsetctl uses.
//
// The table, from schema.sql beside this package:
//
//	CREATE TABLE IF NOT EXISTS offsets_store
//	(
//	    projection_name VARCHAR(255) NOT NULL,
//	    shard_number    BIGINT       NOT NULL,
//	    current_offset  BIGINT       NOT NULL,
//	    timestamp       BIGINT       NOT NULL,
//	    PRIMARY KEY (projection_name, shard_number)
//	);
//
// shard_number holds the uint64 shard's bit pattern, so shards below 2^63
// read exactly as ego-contrib's store writes them; timestamp is in Unix
// milliseconds.
//
// # Writes
//
// Concurrent [OffsetStore.WriteOffset] calls share round trips, whatever
// their projection (group commit): a call that finds room goes out at
// once, the calls that arrive while a batch is in flight go out together
// when it is answered, with those its callers make as soon as they are
// answered, and each returns once its own batch has committed. A batch
// waits 20 milliseconds at most for a lock or a row; one that meets a lock
// held for longer changes nothing, and the writes of each of its
// projections go out again apart, after a pause, so that a projection
// stuck behind a reset or rows locked elsewhere holds up no other. The
// guide, https://github.com/ego-contrib/offsetstore/blob/main/docs/postgres.md,
// says how, and what it costs.
//
// # Errors
//
// Errors wrap the contract's sentinels where one applies, with the
// driver's or the server's error inside: a name the column cannot hold
// exactly (see [CheckProjectionName]) is [offsetstore.ErrInvalidArgument],
// checked before anything is sent; a call on a store that is not
// connected is [offsetstore.ErrNotConnected]; a call whose context ends
// returns at once with the context's error. Deadlocks and serialization
// failures (SQLSTATE 40P01, 40001) and statements refused by a server that
// cannot write (25006, a standby) are run again, 5 attempts in all. Writes
// run at READ COMMITTED whatever the server's default, without a startup
// parameter a pooler could refuse.
//
// # Locks
//
// Every write takes its projection's advisory lock shared, in the
// statement that writes:
//
//	pg_advisory_xact_lock_shared(hashtextextended(projection_name, 1868981875))
//
// and a reset, or a delete of several shards, takes it exclusively before
// it changes the rows, so that no shard written meanwhile escapes it.
// Readers, and other projections' writes and resets, do not wait. Changes
// also take the store-wide lock, the two int4 keys (1868981875, 0), shared,
// which a [OffsetStore.WriteOffsets] of more than 64 projections takes
// exclusively instead of one lock per projection. Versions up to 0.1.0
// keyed these locks otherwise: move every node at once.
//
// # Caveats
//
//   - Resets and deletes wait for the writes of their projection in
//     progress, [OffsetStore.WriteOffsetTx]'s open transactions included:
//     they are for rewinding a stopped projection, not for a hot path.
//   - A write whose context ends after it was sent may still commit: its
//     caller gets the context's error either way. A nil error always
//     means committed.
//   - While any transaction holding a transaction ID stays open, the server
//     prunes no row version a write leaves behind: every writer slows down
//     the longer it stays open.
//   - Between a primary's failure and a standby's promotion, calls fail. A
//     write acknowledged before the failure survives it only if the
//     promoted standby had it (a synchronous standby).
//   - ego-contrib's store takes no lock: while nodes move from it one at a
//     time, a reset may miss a shard a node still on it adds.
//   - The store is tested on PostgreSQL 15, directly and behind PgBouncer
//     1.18 in transaction pooling mode.
package postgres
