package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ego-contrib/offsetstore"
)

// SQLSTATE codes the store maps to the contract's errors.
const (
	codeStringTooLong        = "22001" // string_data_right_truncation
	codeInvalidByteSequence  = "22021" // character_not_in_repertoire
	codeUntranslatableChar   = "22P05" // untranslatable_character
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	codeUndefinedTable       = "42P01"
	codeInvalidSchemaName    = "3F000"
	codeUndefinedColumn      = "42703"
)

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
// rolling the statement back, so that running it again is safe and may
// succeed.
func retryable(err error) bool {
	code := sqlState(err)
	return code == codeDeadlockDetected || code == codeSerializationFailure
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
	return opError(op, err)
}
