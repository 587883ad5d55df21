package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
)

var _ offsetstore.Admin = (*OffsetStore)(nil)

// OffsetStore is an [offsetstore.OffsetStore] that keeps offsets in a
// PostgreSQL table, eGo's: one row per (projection name, shard number).
// Every node of an application can share it. Make one with
// [NewOffsetStore]; all methods are safe for concurrent use.
type OffsetStore struct {
	connString  string
	callerPool  *pgxpool.Pool
	schema      string
	schemaSet   bool
	table       string
	createTable bool
	now         func() time.Time
	monotonic   bool
	// lockWaits, if not zero, replaces defaultLockWaits, for tests.
	lockWaits lockWaits
	// sharedBatches, if not zero, replaces maxSharedBatches, for
	// benchmarks.
	sharedBatches int
	// noYield, for benchmarks, turns off the committer's yield after a
	// shared batch is answered (see [committer.run]).
	noYield bool

	// optErr is what was wrong with the options, for Connect to return.
	optErr error
	// ident is the table's name, quoted, as statements spell it.
	ident string
	stmts statements

	// connecting is held, as a one-slot semaphore, by Connect and
	// Disconnect: unlike a mutex, waiting for it can end with the
	// waiter's context.
	connecting chan struct{}
	// sess is the connection in use, nil while not connected. Calls load
	// it once and use what they loaded, so Disconnect never waits for a
	// lock held across a round trip.
	sess atomic.Pointer[session]
}

// NewOffsetStore returns a store, not yet connected, that will connect to
// the database of connString (a URL or a key=value string, as
// [pgxpool.ParseConfig] reads it) when [OffsetStore.Connect] or
// [OffsetStore.Ping] is called, or use the pool of [WithPool], given with
// an empty connString: with both, Connect fails with
// [offsetstore.ErrInvalidArgument].
//
// The store's writes run at READ COMMITTED, whatever default the server
// or connString sets (default_transaction_isolation), without a startup
// parameter that a connection pooler could refuse: see [WithPool].
//
// Bad options (an empty table name, say) are reported by Connect and Ping.
func NewOffsetStore(connString string, opts ...Option) *OffsetStore {
	s := &OffsetStore{
		connString: connString,
		table:      DefaultTable,
		connecting: make(chan struct{}, 1),
	}
	for _, opt := range opts {
		opt.apply(s)
	}
	s.optErr = checkIdentifier("table", s.table)
	if s.callerPool != nil && connString != "" && s.optErr == nil {
		// Two ways to say where the database is, one of them unread, is a
		// mistake a caller should hear of: which did they mean?
		s.optErr = fmt.Errorf("%w: a connection string and WithPool both given: with WithPool, pass \"\" as the connection string", offsetstore.ErrInvalidArgument)
	}
	id := pgx.Identifier{s.table}
	if s.schemaSet {
		if err := checkIdentifier("schema", s.schema); err != nil && s.optErr == nil {
			s.optErr = err
		}
		id = pgx.Identifier{s.schema, s.table}
	}
	s.ident = id.Sanitize()
	s.stmts = newStatements(s.ident)
	return s
}

// CreateTableSQL returns the statement that creates the store's table,
// naming the table of [WithSchema] and [WithTable]; for the defaults it is
// the file schema.sql beside this package. [WithCreateTable] runs it.
func (s *OffsetStore) CreateTableSQL() string {
	return s.stmts.createTable
}

// Connect opens the store's pool (or takes the one of [WithPool]), checks
// that the server answers, reads its default isolation (see [WithPool]),
// and checks that the table exists with eGo's columns,
// creating it first if the store was made [WithCreateTable], and that its
// projection_name column holds names of 255 characters exactly as given:
// VARCHAR(255) as eGo makes it, a wider VARCHAR or TEXT, not CHAR(n).
// It reads the connection's client and server encodings, so that the
// store refuses, before sending it, a name the column would hold otherwise
// than given (see [CheckProjectionName]).
//
// Connect fails with [offsetstore.ErrInvalidArgument] if the pool has
// fewer than 4 connections (pool_max_conns, or MaxConns of the pool of
// [WithPool]): two for projections whose changes are stuck (a reset
// waiting for an open transaction holds one), one for the other
// projections' writes, one for reads. With fewer, stuck projections would
// hold up the others. Connecting a connected store does nothing.
func (s *OffsetStore) Connect(ctx context.Context) error {
	return s.connect(ctx, "Connect")
}

func (s *OffsetStore) connect(ctx context.Context, op string) error {
	if err := check(ctx, op, s.optErr); err != nil {
		return err
	}
	if err := s.lockConnecting(ctx); err != nil {
		return opError(op, err)
	}
	defer s.unlockConnecting()
	if s.sess.Load() != nil {
		return nil
	}
	sess, err := s.open(ctx)
	if err != nil {
		return opError(op, err)
	}
	if err := s.inspectServer(ctx, sess); err != nil {
		// Nothing was sent through the session yet: closing it waits for
		// nothing.
		_ = sess.close(context.WithoutCancel(ctx))
		return opError(op, err)
	}
	s.sess.Store(sess)
	return nil
}

// open makes a session: a pool whose server answers and holds the table,
// and the committer that writes through it.
func (s *OffsetStore) open(ctx context.Context) (*session, error) {
	pool, owned := s.callerPool, false
	if pool == nil {
		config, err := pgxpool.ParseConfig(s.connString)
		if err != nil {
			return nil, fmt.Errorf("%w: connection string: %w", offsetstore.ErrInvalidArgument, err)
		}
		// A connection that lands on a server that cannot write (a
		// standby, an old primary restarted as one) is closed, and so
		// are the pool's others, idle ones at once, busy ones when they
		// are released: they reached the same server, most likely, and a
		// statement retried on each in turn could run out of attempts
		// before the pool dials again and, with
		// target_session_attrs=read-write, reaches the primary.
		var opened atomic.Pointer[pgxpool.Pool]
		onPgError := config.ConnConfig.OnPgError
		config.ConnConfig.OnPgError = func(conn *pgconn.PgConn, err *pgconn.PgError) bool {
			if err.Code == codeReadOnlyTransaction {
				if pool := opened.Load(); pool != nil {
					pool.Reset()
				}
				return false
			}
			return onPgError == nil || onPgError(conn, err)
		}
		if pool, err = pgxpool.NewWithConfig(ctx, config); err != nil {
			return nil, err
		}
		opened.Store(pool)
		owned = true
	}
	pin, err := s.prepareTable(ctx, pool)
	if err != nil {
		if owned {
			pool.Close()
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("%w: %w", ctxErr, err)
		}
		if lostStatements(err) {
			return nil, fmt.Errorf("%s: %w", pooledStatementsHint, err)
		}
		return nil, err
	}
	sess := newSession(s, pool, owned)
	sess.pinIsolation = pin
	return sess, nil
}

// prepareTable checks that the table is there with the columns the store
// uses, and creates it if it is missing and the store may; it reports
// whether writes must pin their isolation (see [session.writer]).
func (s *OffsetStore) prepareTable(ctx context.Context, pool *pgxpool.Pool) (pin bool, err error) {
	if pin, err = needsPinnedIsolation(ctx, pool); err != nil {
		return false, err
	}
	_, err = pool.Exec(ctx, s.stmts.checkTable)
	if tableMissing(err) && s.createTable {
		if err = s.create(ctx, pool); err == nil {
			_, err = pool.Exec(ctx, s.stmts.checkTable)
		}
	}
	switch {
	case err == nil:
		return pin, s.checkNameColumn(ctx, pool)
	case tableMissing(err):
		return false, fmt.Errorf("table %s does not exist: make the store with postgres.WithCreateTable() to create it on Connect, or run the statement of OffsetStore.CreateTableSQL (postgres/schema.sql for the default table): %w", s.ident, err)
	case sqlState(err) == codeUndefinedColumn:
		return false, fmt.Errorf("table %s lacks a column of eGo's offsets table (projection_name, shard_number, current_offset, timestamp): %w", s.ident, err)
	}
	return false, err
}

// checkNameColumn fails unless the table's projection_name column holds
// every name the store accepts (up to maxNameChars characters) exactly as
// given. Into a narrower VARCHAR(n) PostgreSQL silently cuts a value whose
// excess is spaces, so a write would return nil and store its offset under
// another name; CHAR(n) pads, making "a" and "a " one key.
func (s *OffsetStore) checkNameColumn(ctx context.Context, pool *pgxpool.Pool) error {
	var typ, shown string
	var typmod int32
	err := pool.QueryRow(ctx, s.stmts.nameColumn, s.ident).Scan(&typ, &typmod, &shown)
	if err != nil {
		return err
	}
	switch {
	case typ == "text", typ == "varchar" && (typmod < 0 || typmod-4 >= maxNameChars):
		return nil
	}
	return fmt.Errorf("table %s: its projection_name column is %s, which cannot hold every name of up to %d characters exactly as given; the store needs eGo's VARCHAR(%d), a wider VARCHAR, or TEXT",
		s.ident, shown, maxNameChars, maxNameChars)
}

// inspectServer checks that sess's pool is large enough for no projection
// to wait for another (see [committer]), and reads how the server will
// count and convert names, so that a name the column cannot hold exactly
// is refused before it is sent.
func (s *OffsetStore) inspectServer(ctx context.Context, sess *session) error {
	if size := int(sess.pool.Config().MaxConns); size < minPoolSize {
		how := fmt.Sprintf("add pool_max_conns=%d or more to the connection string", minPoolSize)
		if !sess.owned {
			how = fmt.Sprintf("make the pool of postgres.WithPool with MaxConns of %d or more", minPoolSize)
		}
		return fmt.Errorf("%w: the pool has %d connections, and the store needs %d, so that projections that are stuck (their rows locked, their resets waiting) never hold up the others: two for stuck resets, one for the writes of the others and one kept for reads; %s",
			offsetstore.ErrInvalidArgument, size, minPoolSize, how)
	}
	conn, err := sess.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	var typmod int32
	if err := conn.QueryRow(ctx, s.stmts.nameColumn, s.ident).Scan(new(string), &typmod, new(string)); err != nil {
		return err
	}
	sess.names, sess.typmod = newNameRule(conn.Conn().PgConn(), typmod), typmod
	return nil
}

// create creates the schema, if the store names one, and the table. It
// holds a lock that other nodes creating the same table also take: two
// concurrent CREATE TABLE IF NOT EXISTS of one table may otherwise fail
// with a unique violation in the catalog.
func (s *OffsetStore) create(ctx context.Context, pool *pgxpool.Pool) error {
	return pgx.BeginTxFunc(ctx, pool, readCommitted, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "offsetstore: create "+s.ident); err != nil {
			return err
		}
		if s.schemaSet {
			var exists bool
			// CREATE SCHEMA IF NOT EXISTS needs the right to create
			// schemas even when it exists, which many roles lack.
			err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, s.schema).Scan(&exists)
			if err != nil {
				return err
			}
			if !exists {
				if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{s.schema}.Sanitize()); err != nil {
					return err
				}
			}
		}
		_, err := tx.Exec(ctx, s.stmts.createTable)
		return err
	})
}

// Disconnect stops the store: calls that have not yet reached the server
// fail with [offsetstore.ErrNotConnected]. It waits for every write and
// change already sent, lone or batched, with [WithPool] as without it, to
// be answered, and closes the pool the store opened, which waits for the
// calls still using it; the pool of [WithPool] stays open. If ctx ends
// before that is done, Disconnect abandons the batches in flight and
// returns ctx's error at once, the store disconnected all the same: a
// write sent before may still commit, and the pool finishes closing when
// the calls using it return.
// Disconnecting a store that is not connected does nothing.
func (s *OffsetStore) Disconnect(ctx context.Context) error {
	if err := check(ctx, "Disconnect", nil); err != nil {
		return err
	}
	if err := s.lockConnecting(ctx); err != nil {
		return opError("Disconnect", err)
	}
	defer s.unlockConnecting()
	if sess := s.sess.Swap(nil); sess != nil {
		if err := sess.close(ctx); err != nil {
			return opError("Disconnect", err)
		}
	}
	return nil
}

// Ping connects the store if it is not connected, as eGo expects of a
// store it pings before a projection starts; on a connected store, it
// checks that the server answers, and fails if it does not.
func (s *OffsetStore) Ping(ctx context.Context) error {
	if err := check(ctx, "Ping", s.optErr); err != nil {
		return err
	}
	sess := s.sess.Load()
	if sess == nil {
		return s.connect(ctx, "Ping")
	}
	if err := sess.pool.Ping(ctx); err != nil {
		return s.translate(ctx, "Ping", sess, err)
	}
	return nil
}

// session returns the session calls of op use, or the error they return
// when the store is not connected.
func (s *OffsetStore) session(op string) (*session, error) {
	sess := s.sess.Load()
	if sess == nil {
		return nil, opError(op, offsetstore.ErrNotConnected)
	}
	return sess, nil
}

// WriteOffset stores offset as the current offset of its projection and
// shard, replacing any offset stored before, unless the store was made
// [WithMonotonicWrites] and a higher value is stored. It returns nil only
// once the row is committed.
//
// Concurrent calls share round trips, whatever their projection: a call
// that finds room goes out at once, and the calls that arrive while a
// batch is in flight wait and then go out together as one statement,
// one row per key, the last call to arrive winning; each call returns its
// own batch's outcome.
//
// A batch waits 20 milliseconds at most for a lock or a row: one that
// meets a lock held for long (a reset of one of its projections waiting
// for an open [OffsetStore.WriteOffsetTx], rows another transaction
// locked) changes nothing, and its projections' writes go out again apart,
// so that the others commit promptly. The writes of a projection that meet
// it alone queue in the store and are tried again, after pauses that grow
// to a second, until they commit; in between they hold neither a
// connection nor a snapshot. The writes of such a projection that arrive
// meanwhile wait for them, for 5 seconds at most, and then go out shard by
// shard. Resets and other changes of the projection go out one at a time,
// in turn with its writes.
//
// How many go out at once: over every projection, the pool's size but
// one, so that reads always find a connection. A batch in flight for 5
// seconds (its connection silent) no longer counts. Past that, calls wait
// in the store, where their contexts can end them. A
// [OffsetStore.WriteOffsets] of several projections counts among the
// pool's units, but waits for a lock or a row 200 milliseconds at most.
//
// Each statement that writes takes its projection's lock, shared (see
// Locks in the package documentation): writes never wait for each other's locks, only for a
// reset, or a delete of several shards, of their projection.
//
// If ctx ends first, WriteOffset returns at once with ctx's error; the
// write may still commit if it was already sent, and is dropped if it
// was not.
func (s *OffsetStore) WriteOffset(ctx context.Context, offset *egopb.Offset) error {
	if err := check(ctx, "WriteOffset", errors.Join(s.optErr, checkOffset(offset))); err != nil {
		return err
	}
	sess, err := s.session("WriteOffset")
	if err != nil {
		return err
	}
	if err := sess.checkName("WriteOffset", offset.ProjectionName); err != nil {
		return err
	}
	return sess.commits.write(ctx, rowOf(offset))
}

// GetCurrentOffset returns the offset stored for projectionID, or nil, nil
// when none is, which eGo reads as "start from the beginning".
func (s *OffsetStore) GetCurrentOffset(ctx context.Context, projectionID *egopb.ProjectionId) (*egopb.Offset, error) {
	if err := check(ctx, "GetCurrentOffset", errors.Join(s.optErr, checkID(projectionID))); err != nil {
		return nil, err
	}
	sess, err := s.session("GetCurrentOffset")
	if err != nil {
		return nil, err
	}
	if err := sess.checkName("GetCurrentOffset", projectionID.ProjectionName); err != nil {
		return nil, err
	}
	name, shard := projectionID.ProjectionName, projectionID.ShardNumber
	var value, timestamp int64
	err = sess.pool.QueryRow(ctx, s.stmts.selectOffset, name, int64(shard)).Scan(&value, &timestamp)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, s.translate(ctx, "GetCurrentOffset", sess, err)
	}
	return &egopb.Offset{ProjectionName: name, ShardNumber: shard, Value: value, Timestamp: timestamp}, nil
}

// ResetOffset sets the value of every shard of projectionName that has an
// offset to value, and its timestamp to the clock's now in Unix
// milliseconds, in one transaction: no reader sees some shards reset and
// others not, and a shard another node adds meanwhile is either reset or
// written after the reset. Resetting a projection with no offsets does
// nothing.
//
// The reset takes the projection's lock (see Locks in the package documentation): it waits for
// the writes of projectionName in progress, [OffsetStore.WriteOffsetTx]'s
// open transactions included, to commit, and holds off new ones until it
// commits; readers, and the writes and resets of other projections, do not
// wait (only a [OffsetStore.WriteOffsets] of more than 64 projections
// holds off every reset). In this store, the reset takes its turn among
// the writes of its projection, as [OffsetStore.WriteOffset] says. The
// transaction goes out in one round trip, as a pipeline of BEGIN, the
// locks, the UPDATE and COMMIT, once the connection has prepared them.
// eGo resets a projection only to rebuild it.
func (s *OffsetStore) ResetOffset(ctx context.Context, projectionName string, value int64) error {
	if err := check(ctx, "ResetOffset", errors.Join(s.optErr, CheckProjectionName(projectionName))); err != nil {
		return err
	}
	sess, err := s.session("ResetOffset")
	if err != nil {
		return err
	}
	if err := sess.checkName("ResetOffset", projectionName); err != nil {
		return err
	}
	now := s.clock().UnixMilli()
	err = sess.commits.change(ctx, "ResetOffset", projectionName, func(ctx context.Context) error {
		return s.changeProjection(ctx, sess.pool, projectionName, func(br pgx.BatchResults) error {
			_, err := br.Exec()
			return err
		}, s.stmts.reset, projectionName, value, now)
	})
	if err != nil {
		return err
	}
	return nil
}

// checkName returns the error op returns for a projection name the
// table cannot hold exactly on sess's server, or nil.
func (sess *session) checkName(op, name string) error {
	if err := sess.names.check(name); err != nil {
		return opError(op, err)
	}
	return nil
}

func (s *OffsetStore) clock() time.Time {
	if s.now == nil {
		return time.Now()
	}
	return s.now()
}

func (s *OffsetStore) lockConnecting(ctx context.Context) error {
	select {
	case s.connecting <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *OffsetStore) unlockConnecting() { <-s.connecting }
