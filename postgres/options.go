package postgres

import (
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultTable is the table a store uses unless [WithTable] names another:
// eGo's.
const DefaultTable = "offsets_store"

// An Option configures an [OffsetStore] made by [NewOffsetStore].
type Option interface {
	apply(*OffsetStore)
}

type optionFunc func(*OffsetStore)

func (f optionFunc) apply(s *OffsetStore) { f(s) }

// WithPool makes the store run its statements on pool, which the caller
// owns, in place of a pool of its own: give [NewOffsetStore] an empty
// connection string with it (a store given both fails to connect, with
// [offsetstore.ErrInvalidArgument]). [OffsetStore.Disconnect] leaves pool
// open. A nil pool is ignored.
//
// [OffsetStore.Connect] refuses a pool of fewer than 4 connections (see
// [OffsetStore.WriteOffset] for why). The store counts on its own calls
// only: connections the application holds from pool meanwhile, such as
// open transactions of [OffsetStore.WriteOffsetTx], are not counted, and
// can leave the store's reads and writes waiting for one.
//
// The store leaves pool's configuration as it is. Its writes run at READ
// COMMITTED all the same: [OffsetStore.Connect] reads the default
// isolation of one of pool's connections and, unless it is READ COMMITTED,
// sends each write in a READ COMMITTED transaction of its own; give every
// connection of pool the same default. Unlike the store's own pool, pool's
// connections are not dropped when one lands on a server that cannot write
// (SQLSTATE 25006, a standby): the store runs the statement again, 5
// attempts in all, but may meet the same connections. To have them
// dropped, as the store's own are, set pool's ConnConfig.OnPgError to call
// the pool's Reset and return false for that code (and to return false for
// FATAL errors, as pgx's default does).
func WithPool(pool *pgxpool.Pool) Option {
	return optionFunc(func(s *OffsetStore) { s.callerPool = pool })
}

// WithSchema makes the store use its table in schema name rather than the
// first schema of the connection's search_path. The name is quoted, never
// spliced into statements as it is: it is matched exactly, case included.
// An empty name, one with a NUL byte, or one longer than PostgreSQL's 63
// bytes makes [OffsetStore.Connect] fail with
// [offsetstore.ErrInvalidArgument].
func WithSchema(name string) Option {
	return optionFunc(func(s *OffsetStore) {
		s.schema = name
		s.schemaSet = true
	})
}

// WithTable makes the store use the table called name rather than
// [DefaultTable]. The name is quoted as [WithSchema]'s is, and the same
// names make [OffsetStore.Connect] fail.
func WithTable(name string) Option {
	return optionFunc(func(s *OffsetStore) { s.table = name })
}

// WithCreateTable makes [OffsetStore.Connect] create the table, and the
// schema of [WithSchema], when they are missing. Without it, Connect fails
// on a database that lacks the table, and says how to create it. The
// statement is [OffsetStore.CreateTableSQL]'s; concurrent Connects on
// several nodes may all create it.
func WithCreateTable() Option {
	return optionFunc(func(s *OffsetStore) { s.createTable = true })
}

// WithClock sets the clock that stamps the offsets [OffsetStore.ResetOffset]
// rewrites; the default, and what a nil now means, is [time.Now]. The
// stamp is this process's reading, sent with the statement, not the
// database server's: the server's clock may differ from the clock of the
// process that asked for the reset. Offsets given to
// [OffsetStore.WriteOffset] keep the timestamp they carry.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(s *OffsetStore) { s.now = now })
}

// WithMonotonicWrites makes [OffsetStore.WriteOffset] and
// [OffsetStore.WriteOffsetTx] refuse an offset whose value is lower than
// the one stored for its projection and shard, with an error wrapping
// [offsetstore.ErrOffsetRegression], and change nothing; an equal value is
// accepted. The database compares and writes in one statement, so no
// concurrent write, from this process or another, can slip in between.
// [OffsetStore.ResetOffset] may still lower values.
func WithMonotonicWrites() Option {
	return optionFunc(func(s *OffsetStore) { s.monotonic = true })
}
