package postgres

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Writes must run at READ COMMITTED: under REPEATABLE READ or SERIALIZABLE,
// an upsert of a row another write changed since the statement's snapshot
// fails with a serialization failure, and the writes of one hot key from
// several nodes would fail and retry each other in a storm; under READ
// COMMITTED, ON CONFLICT updates the row as last committed.
//
// The store does not set default_transaction_isolation when it connects:
// poolers refuse startup parameters they do not know (PgBouncer's default
// is to refuse all but a few), and in transaction pooling a SET would
// reach whichever server connection ran it, not the next statement's.
// Instead Connect reads the default once and, only when it is not READ
// COMMITTED, the session sends each write inside a READ COMMITTED
// transaction, BEGIN, the statement and COMMIT in one round trip. On
// PostgreSQL's own default, writes stay single statements and pay nothing.

// defaultIsolationSQL reads the isolation level a statement sent on its
// own runs at.
const defaultIsolationSQL = `SELECT current_setting('default_transaction_isolation')`

// needsPinnedIsolation reports whether the statements sent on pool run at
// another isolation level than READ COMMITTED, read from one of its
// connections.
func needsPinnedIsolation(ctx context.Context, pool *pgxpool.Pool) (bool, error) {
	var level string
	if err := pool.QueryRow(ctx, defaultIsolationSQL).Scan(&level); err != nil {
		return false, err
	}
	return !strings.EqualFold(level, "read committed"), nil
}

// writer returns what the session's writes run on: its pool, or, if the
// server's default isolation is not READ COMMITTED, a querier that runs
// each write in a READ COMMITTED transaction of its own.
func (sess *session) writer() querier {
	if sess.pinIsolation {
		return readCommittedQuerier{sess.pool}
	}
	return sess.pool
}

// A readCommittedQuerier runs each statement in a READ COMMITTED
// transaction of its own, sent with its BEGIN and COMMIT as one pipeline.
type readCommittedQuerier struct {
	pool *pgxpool.Pool
}

func (q readCommittedQuerier) send(ctx context.Context, sql string, args []any) pgx.BatchResults {
	b := &pgx.Batch{}
	b.BeginTx(readCommitted)
	b.Queue(sql, args...)
	b.Queue(commitSQL)
	return q.pool.SendBatch(ctx, b)
}

// end closes br, whose pipeline went as far as err says, and gives its
// connection back: after COMMIT the rollback does nothing, after a failure
// it ends the transaction the failure left open.
func end(ctx context.Context, br pgx.BatchResults, err error) error {
	if closeErr := br.Close(); err == nil {
		err = closeErr
	}
	_ = br.Tx().Rollback(ctx)
	return err
}

func (q readCommittedQuerier) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	br := q.send(ctx, sql, args)
	var tag pgconn.CommandTag
	_, err := br.Exec() // BEGIN
	if err == nil {
		tag, err = br.Exec()
	}
	if err == nil {
		_, err = br.Exec() // COMMIT
	}
	return tag, end(ctx, br, err)
}

func (q readCommittedQuerier) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	br := q.send(ctx, sql, args)
	if _, err := br.Exec(); err != nil { // BEGIN
		return nil, end(ctx, br, err)
	}
	rows, err := br.Query()
	if err != nil {
		return nil, end(ctx, br, err)
	}
	return &committedRows{Rows: rows, ctx: ctx, br: br}, nil
}

// committedRows are the rows of a statement of readCommittedQuerier's:
// once they are read, or closed, they commit its transaction, and Err
// says whether that failed, so that no row is taken as written before its
// transaction has committed.
type committedRows struct {
	pgx.Rows
	ctx  context.Context
	br   pgx.BatchResults
	done bool
	err  error
}

func (r *committedRows) Next() bool {
	if r.done {
		return false
	}
	if r.Rows.Next() {
		return true
	}
	r.finish()
	return false
}

func (r *committedRows) Close() { r.finish() }

func (r *committedRows) Err() error {
	if r.done {
		return r.err
	}
	return r.Rows.Err()
}

func (r *committedRows) finish() {
	if r.done {
		return
	}
	r.done = true
	r.Rows.Close()
	err := r.Rows.Err()
	if err == nil {
		_, err = r.br.Exec() // COMMIT
	}
	r.err = end(r.ctx, r.br, err)
}
