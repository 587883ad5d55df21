package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ego-contrib/offsetstore"
)

// SQLSTATE codes the store maps to the contract's errors.
const (
	codeStringTooLong        = "22001" // string_data_right_truncation
	codeInvalidByteSequence  = "22021" // character_not_in_repertoire
	codeUntranslatableChar   = "22P05" // untranslatable_character
	codeSerializationFailure = "40001"
	codeReadOnlyTransaction  = "25006" // read_only_sql_transaction
	codeDeadlockDetected     = "40P01"
	codeLockNotAvailable     = "55P03" // lock_timeout ran out
	codeUndefinedTable       = "42P01"
	codeInvalidSchemaName    = "3F000"
	codeUndefinedColumn      = "42703"

	codeDuplicatePreparedStatement = "42P05" // duplicate_prepared_statement
	codeUnknownPreparedStatement   = "26000" // invalid_sql_statement_name
	codeProtocolViolation          = "08P01"
)

// pooledStatementsHint is what the store adds to the server's complaints
// about prepared statements it cannot find or already has: what pgx's
// default query exec mode, which prepares each statement once per
// connection, meets behind a pooler in transaction mode, where the next
// statement may reach another server connection.
const pooledStatementsHint = "the server lost track of this connection's prepared statements, as it does behind a connection pooler in transaction mode (PgBouncer before 1.21, or without max_prepared_statements): add default_query_exec_mode=exec (or cache_describe, or simple_protocol) to the connection string"

// lostStatements reports whether err is the server's complaint about a
// prepared statement (see pooledStatementsHint).
func lostStatements(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	switch pgErr.Code {
	case codeDuplicatePreparedStatement, codeUnknownPreparedStatement:
		return true
	case codeProtocolViolation:
		return strings.Contains(pgErr.Message, "prepared statement")
	}
	return false
}

// opError puts the package and the method in front of err, so that a
// caller's log says where an error came from; errors.Is still sees err.
func opError(op string, err error) error {
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// check returns the error op must return before doing anything, in the
// contract's order: ctx's if it is done, else argErr, what checking op's
// arguments found.
func check(ctx context.Context, op string, argErr error) error {
	if err := ctx.Err(); err != nil {
		return opError(op, err)
	}
	if argErr != nil {
		return opError(op, argErr)
	}
	return nil
}

// belowStored is the error of a write of r that the server refused for
// lowering the stored value (see [WithMonotonicWrites]).
func belowStored(r row) error {
	return fmt.Errorf("%w: projection %q shard %d: value %d is below the stored value",
		offsetstore.ErrOffsetRegression, r.name, r.shard, r.value)
}

// sqlState returns the SQLSTATE code of err if the server sent it, or "".
func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// tableMissing reports whether err says that the table, or its schema,
// does not exist.
func tableMissing(err error) bool {
	code := sqlState(err)
	return code == codeUndefinedTable || code == codeInvalidSchemaName
}

// retryable reports whether err is a conflict the server resolved by
// rolling the statement back, or a refusal to write from a server that
// cannot (a standby, or an old primary restarted as one), so that running
// it again is safe and may succeed: on another connection, in the second
// case, which the store's pool dials afresh (see [OffsetStore.Connect]).
func retryable(err error) bool {
	code := sqlState(err)
	return code == codeDeadlockDetected || code == codeSerializationFailure || code == codeReadOnlyTransaction
}

// translate turns err, returned by the server or the driver to op, into
// the contract's errors, keeping err wrapped for the curious:
//   - ctx's error if ctx is done, since then the driver gave up because of
//     it (and may say so in its own words);
//   - [offsetstore.ErrNotConnected] if the store was disconnected meanwhile;
//   - [offsetstore.ErrInvalidArgument] for a projection name the column
//     cannot hold.
func (s *OffsetStore) translate(ctx context.Context, op string, sess *session, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return opError(op, fmt.Errorf("%w: %w", ctxErr, err))
	}
	if sess != nil && s.sess.Load() != sess {
		return opError(op, fmt.Errorf("%w: disconnected during the call: %w", offsetstore.ErrNotConnected, err))
	}
	switch sqlState(err) {
	case codeStringTooLong:
		return opError(op, fmt.Errorf("%w: projection name is longer than the projection_name column holds: %w",
			offsetstore.ErrInvalidArgument, err))
	case codeInvalidByteSequence, codeUntranslatableChar:
		return opError(op, fmt.Errorf("%w: projection name has a character the database's encoding cannot hold: %w",
			offsetstore.ErrInvalidArgument, err))
	case codeUndefinedTable, codeInvalidSchemaName:
		return opError(op, fmt.Errorf("table %s is missing: %w", s.ident, err))
	}
	if lostStatements(err) {
		return opError(op, fmt.Errorf("%s: %w", pooledStatementsHint, err))
	}
	return opError(op, err)
}
