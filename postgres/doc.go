// Package postgres is an [offsetstore.OffsetStore] that keeps eGo
// projections' offsets in PostgreSQL, durable and shared by every node of
// an application, in the table eGo's own PostgreSQL store uses: moving from
// that store needs no migration.
//
//	store := postgres.NewOffsetStore(os.Getenv("DATABASE_URL"), postgres.WithCreateTable())
//	if err := store.Connect(ctx); err != nil { ... }
//	defer store.Disconnect(ctx)
//	err := store.WriteOffset(ctx, &egopb.Offset{ProjectionName: "accounts", ShardNumber: 0, Value: 15, Timestamp: now})
//	current, err := store.GetCurrentOffset(ctx, &egopb.ProjectionId{ProjectionName: "accounts"})
//
// The table, from schema.sql beside this package (see
// [OffsetStore.CreateTableSQL] for another schema or table name):
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
// read exactly as eGo's store writes them; timestamp is in Unix
// milliseconds.
//
// Concurrent [OffsetStore.WriteOffset] calls share round trips (group
// commit), whatever their projection: a call that finds room goes out at
// once; the calls that arrive while a batch is in flight go out together as
// one statement when it is answered, and each returns once its own batch
// has committed. A batch waits 20 milliseconds
// at most for a lock or a row (lock_timeout): a batch that meets a lock
// held elsewhere (a reset of one of its projections waiting for an open
// transaction, rows another session locked) changes nothing, and its
// projections' writes go out again apart, so that the others commit
// promptly; a projection whose own writes meet it gets a lane, where its
// writes queue and are tried again after pauses growing to a second,
// until they commit, holding neither a connection nor a snapshot in
// between. Changes of a projection (reset, delete,
// [OffsetStore.WriteOffsets] of that projection alone) go through its
// lane, one at a time, and wait for their locks.
//
// How many units are in flight: over all projections, the pool's size but
// one, so that reads always find a connection; a batch or change in
// flight for 5 seconds, on a silent connection most likely, no longer
// holds back the writes queued behind it. Past that, calls wait in the
// store until a unit in flight is answered or their context ends.
// [OffsetStore.Connect] refuses a pool of fewer than 4 connections. A
// [OffsetStore.WriteOffsets] of several projections is a unit of no
// projection's: its first attempt
// waits for no projection's lock, and for a row 20 milliseconds, and its
// retries, which go out after the first attempts of others, for 200
// milliseconds at most; while several kinds wait, the store sends writes,
// changes of one projection and such calls by turns, so that however many of them
// wait for a stuck projection, another projection's call waits at most for
// one of them beside the units already in flight.
//
// [OffsetStore.WriteOffsetTx] writes an offset inside the caller's
// transaction instead, with the read model it belongs to, so
// that both commit or neither does.
//
// Beyond the contract, [OffsetStore.Offsets], [OffsetStore.Projections],
// [OffsetStore.Summaries] and [OffsetStore.Snapshot] show what is stored,
// and [OffsetStore.ResetShards], [OffsetStore.DeleteShards],
// [OffsetStore.DeleteOffset], [OffsetStore.DeleteOffsets] and
// [OffsetStore.WriteOffsets] change it, each in one transaction: what an
// operator's tool needs without SQL of its own.
//
// # Errors
//
// Errors wrap the contract's sentinels where one applies, and the driver's
// or the server's error inside: a name the column cannot hold exactly (a
// NUL byte, more than 255 characters, more than 255 bytes on a SQL_ASCII
// database, characters beyond ASCII on a connection whose client_encoding
// is neither UTF8 nor SQL_ASCII; see [CheckProjectionName]) is
// [offsetstore.ErrInvalidArgument], checked before anything is sent; a
// call on a store that is not connected, or disconnected during the call,
// is [offsetstore.ErrNotConnected]; a call
// whose context ends returns at once, with the context's error, even while
// the server does not answer. A statement or transaction the server rolls
// back for a deadlock or a serialization failure (SQLSTATE 40P01, 40001)
// is run again, up to 5 attempts in all, after a short random pause (a few
// to tens of milliseconds, never past the call's context); if the last
// attempt fails too, the call returns that error, which says so. So is a
// statement refused by a server that cannot write (SQLSTATE 25006: a
// standby, or an old primary restarted as one), after the store's pool has
// closed the connection it ran on and dropped the others, so that the next
// attempt dials again and, with target_session_attrs=read-write, reaches
// the primary.
//
// The store runs its writes at READ COMMITTED whatever the server's default,
// so that writes of one hot key do not fail each other as they would under
// SERIALIZABLE: it sets no startup parameter, which a connection pooler
// could refuse, but reads the default once, on Connect, and only if it is
// not READ COMMITTED sends each write inside a READ COMMITTED transaction
// of its own (BEGIN, the write and COMMIT in one round trip). The
// transactions it opens always name their isolation.
//
// # Poolers and failover
//
// Behind PgBouncer (or another pooler) in transaction pooling mode, the
// store needs no setting of the pooler's, but pgx's default query exec
// mode, which prepares each statement once per connection, fails there:
// add default_query_exec_mode=exec (or cache_describe, or simple_protocol)
// to the connection string; a call that meets the pooler's lost prepared
// statements says so. describe_exec sends a statement in two round trips,
// which transaction pooling may route to two server connections: do not
// use it there. With a multi-host connection string and
// target_session_attrs=read-write, the pool dials the host that takes
// writes: after the primary fails and a standby is promoted, the same
// store writes again as soon as a call dials it (tested with a synchronous
// standby, by killing the primary with SIGKILL).
//
// # Caveats
//
//   - [OffsetStore.ResetOffset] and the calls that change several shards
//     of a projection at once take that projection's lock (see
//     [LockClass]), which every write of it takes shared, so that a shard
//     added meanwhile cannot escape them: they wait for the writes of that
//     projection in progress, [OffsetStore.WriteOffsetTx]'s open
//     transactions included, and the writes of that projection that come
//     meanwhile, from every node, wait for them. Readers, and other
//     projections' writes and resets, do not wait. They are meant for
//     rewinding a projection, not for a hot path.
//   - [OffsetStore.WriteOffsets] of more than 64 projections (an
//     offsetctl import, say) takes one store-wide lock instead of one per
//     projection, which would overflow the server's lock table: its first
//     attempt takes it only when no reset or delete of several shards
//     holds it, of any projection, and its retries wait for it 200
//     milliseconds at most; once it has it, those wait for it, on every
//     node, until it commits; writes do not. A change holds the lock only
//     once it has its projection and rows, so one that waits for them
//     keeps no import out.
//   - Two projection names of one 64-bit lock key (see [LockClass]) would
//     share a lock: their resets and writes may wait for each other, never
//     more. A stuck projection holds up others only if it holds the
//     connections they need: its writes hold none while they wait, and
//     its changes (a reset waiting for an open transaction) one each, so
//     that with a pool of n connections, up to n-2 projections stuck in a
//     change leave the others room. With [WithPool],
//     connections the application itself holds from the pool are not
//     counted.
//   - Earlier versions of this package keyed the locks otherwise (see
//     [LockClass]): move every node to this one at once, or make no reset
//     while versions are mixed.
//   - eGo's own PostgreSQL store does not take that lock. While nodes move
//     from it to this store one at a time, a reset may miss a shard that a
//     node still on eGo's store adds while the reset runs.
//   - A write whose context ends after it was sent may still commit: its
//     caller gets the context's error either way. A nil error always means
//     committed.
//   - While the server is away, calls fail; the pool reconnects by itself
//     once it is back. A connection abandoned because the server stopped
//     answering on it still counts against the pool's size for up to 15
//     seconds while pgx tries to cancel its query: after a silent network
//     (rather than a refused or reset one), the store may need that long to
//     recover. [OffsetStore.Disconnect] waits for calls already using the
//     store's own pool to return, or for its context to end: then it
//     returns the context's error, and the pool closes once they return.
//     A batch or a change stuck for 5 seconds, with no deadline, on a
//     silent connection, no longer holds up the other writes, of its
//     projections or any other.
//   - While a transaction stays open with a transaction ID (one that
//     locked a projection's rows, say), the server removes no row version
//     that a write replaces, of any projection: every writer slows down
//     the longer it stays open (see BenchmarkStuckProjections).
//   - Between a primary's failure and a standby's promotion, calls fail:
//     the store does not wait for a new primary. A write acknowledged
//     (nil) before the failure survives it only if the standby promoted
//     had it: with an asynchronous standby, the last writes may be lost.
//   - A pooler that keeps sending the store to a server that cannot write
//     makes writes fail after 5 attempts: the store can close its own
//     connections, not the pooler's.
//   - Distributed SQL engines that speak PostgreSQL's protocol may lack
//     some of what the store uses (advisory locks, unnest over arrays, ON
//     CONFLICT): the store is tested on PostgreSQL only.
package postgres
