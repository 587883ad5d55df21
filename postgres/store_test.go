package postgres_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/pgtest"
	"github.com/ego-contrib/offsetstore/postgres"
)

func offset(name string, shard uint64, value, timestamp int64) *egopb.Offset {
	return &egopb.Offset{ProjectionName: name, ShardNumber: shard, Value: value, Timestamp: timestamp}
}

func id(name string, shard uint64) *egopb.ProjectionId {
	return &egopb.ProjectionId{ProjectionName: name, ShardNumber: shard}
}

// wantOffset fails the test unless GetCurrentOffset of name and shard
// returns want (nil for nothing stored).
func wantOffset(t *testing.T, store *postgres.OffsetStore, name string, shard uint64, want *egopb.Offset) {
	t.Helper()
	got, err := store.GetCurrentOffset(t.Context(), id(name, shard))
	if err != nil || !sameOffset(got, want) {
		t.Errorf("GetCurrentOffset(ctx, {%q %d}) = %v, %v; want %v, <nil>", name, shard, got, err, want)
	}
}

func sameOffset(a, b *egopb.Offset) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.ProjectionName == b.ProjectionName && a.ShardNumber == b.ShardNumber &&
		a.Value == b.Value && a.Timestamp == b.Timestamp
}

func sameOffsets(a, b []*egopb.Offset) bool {
	return slices.EqualFunc(a, b, sameOffset)
}

// TestOffsetStore_NamesTheTableCannotHold checks names at the limits of
// projection_name VARCHAR(255): a NUL byte and 256 characters are refused
// with ErrInvalidArgument saying which limit, before anything is sent;
// 255 characters of two and four bytes each round-trip, since PostgreSQL
// counts characters.
func TestOffsetStore_NamesTheTableCannotHold(t *testing.T) {
	store, _ := connectedStore(t)
	ctx := t.Context()
	seed := offset("p", 1, 5, 10)
	mustWrite(t, store, seed)
	for _, tc := range []struct {
		name, says string
	}{
		{"p\x00", "NUL"},
		{"\x00", "NUL"},
		{strings.Repeat("p", 256), "at most 255"},
		{strings.Repeat("é", 256), "at most 255"},
	} {
		err := store.WriteOffset(ctx, offset(tc.name, 1, 6, 11))
		if !errors.Is(err, offsetstore.ErrInvalidArgument) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("WriteOffset(ctx, {%.20q... 1}) = %v; want an error wrapping offsetstore.ErrInvalidArgument that says %q", tc.name, err, tc.says)
		}
		_, err = store.GetCurrentOffset(ctx, id(tc.name, 1))
		if !errors.Is(err, offsetstore.ErrInvalidArgument) {
			t.Errorf("GetCurrentOffset(ctx, {%.20q... 1}) = _, %v; want an error wrapping offsetstore.ErrInvalidArgument", tc.name, err)
		}
		if err := store.ResetOffset(ctx, tc.name, 9); !errors.Is(err, offsetstore.ErrInvalidArgument) {
			t.Errorf("ResetOffset(ctx, %.20q..., 9) = %v; want an error wrapping offsetstore.ErrInvalidArgument", tc.name, err)
		}
	}
	wantOffset(t, store, "p", 1, seed)
	for _, name := range []string{strings.Repeat("p", 255), strings.Repeat("é", 255), strings.Repeat("𝄞", 255)} {
		o := offset(name, 1, 7, 12)
		mustWrite(t, store, o)
		wantOffset(t, store, name, 1, o)
	}
	if got, err := store.Projections(ctx); err != nil || len(got) != 4 {
		t.Errorf("Projections(ctx) = %d projections, %v; want 4: p and the three of 255 characters", len(got), err)
	}
}

// TestOffsetStore_ErrorOrder checks which error a call returns when
// several apply: a done context first, then bad input, then not
// connected.
func TestOffsetStore_ErrorOrder(t *testing.T) {
	store, _ := newStore(t) // never connected
	done, cancel := context.WithCancel(t.Context())
	cancel()
	bad := offset("", 1, 1, 1)
	if err := store.WriteOffset(done, bad); !errors.Is(err, context.Canceled) {
		t.Errorf("WriteOffset(done ctx, empty name) on a store not connected = %v; want an error wrapping context.Canceled: a done context comes first", err)
	}
	if err := store.WriteOffset(t.Context(), bad); !errors.Is(err, offsetstore.ErrInvalidArgument) {
		t.Errorf("WriteOffset(ctx, empty name) on a store not connected = %v; want an error wrapping offsetstore.ErrInvalidArgument: bad input comes before not connected", err)
	}
	if _, err := store.GetCurrentOffset(t.Context(), nil); !errors.Is(err, offsetstore.ErrInvalidArgument) {
		t.Errorf("GetCurrentOffset(ctx, nil) on a store not connected = _, %v; want an error wrapping offsetstore.ErrInvalidArgument", err)
	}
	if err := store.WriteOffsetTx(t.Context(), nil, offset("p", 1, 1, 1)); !errors.Is(err, offsetstore.ErrInvalidArgument) {
		t.Errorf("WriteOffsetTx(ctx, nil, offset) = %v; want an error wrapping offsetstore.ErrInvalidArgument", err)
	}
	if err := store.WriteOffset(t.Context(), offset("p", 1, 1, 1)); !errors.Is(err, offsetstore.ErrNotConnected) {
		t.Errorf("WriteOffset(ctx, offset) on a store not connected = %v; want an error wrapping offsetstore.ErrNotConnected", err)
	}
}

// TestOffsetStore_Connect_MissingTable checks that, without
// WithCreateTable, Connect on a database that lacks the table fails naming
// the table and how to create it, and leaves the store not connected.
func TestOffsetStore_Connect_MissingTable(t *testing.T) {
	schema := pgtest.Schema(t)
	pool := newPool(t, pgtest.URL(t))
	if _, err := pool.Exec(t.Context(), "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	store := postgres.NewOffsetStore(pgtest.URL(t), postgres.WithSchema(schema))
	err := store.Connect(t.Context())
	if err == nil || !strings.Contains(err.Error(), table(schema)) || !strings.Contains(err.Error(), "WithCreateTable") {
		t.Errorf("Connect(ctx) without the table = %v; want an error naming %s and WithCreateTable", err, table(schema))
	}
	if err := store.WriteOffset(t.Context(), offset("p", 1, 1, 1)); !errors.Is(err, offsetstore.ErrNotConnected) {
		t.Errorf("WriteOffset after a failed Connect = %v; want an error wrapping offsetstore.ErrNotConnected", err)
	}
	// Running the statement the error points to makes Connect succeed.
	if _, err := pool.Exec(t.Context(), store.CreateTableSQL()); err != nil {
		t.Fatalf("Exec(CreateTableSQL()) = %v", err)
	}
	if err := store.Connect(t.Context()); err != nil {
		t.Fatalf("Connect(ctx) after CreateTableSQL = %v; want <nil>", err)
	}
	defer store.Disconnect(context.Background())
	mustWrite(t, store, offset("p", 1, 1, 1))
}

// TestOffsetStore_Connect_NameColumnTooNarrow checks that Connect refuses
// a table whose projection_name column cannot hold every name eGo's
// VARCHAR(255) holds, exactly as given: PostgreSQL silently cuts the
// trailing spaces of a value too long for a VARCHAR(n), so a write there
// would return nil and store its offset under another name, and CHAR(n)
// pads names, making "a" and "a " one key. Wider columns are accepted.
func TestOffsetStore_Connect_NameColumnTooNarrow(t *testing.T) {
	pool := newPool(t, pgtest.URL(t))
	for _, tc := range []struct {
		column string
		ok     bool
	}{
		{"VARCHAR(10)", false},
		{"VARCHAR(254)", false},
		{"CHAR(255)", false},
		{"VARCHAR(255)", true},
		{"VARCHAR(1000)", true},
		{"VARCHAR", true},
		{"TEXT", true},
	} {
		schema := pgtest.Schema(t)
		if _, err := pool.Exec(t.Context(), `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize()+`;
CREATE TABLE `+table(schema)+` (projection_name `+tc.column+` NOT NULL, shard_number BIGINT NOT NULL,
current_offset BIGINT NOT NULL, timestamp BIGINT NOT NULL, PRIMARY KEY (projection_name, shard_number))`); err != nil {
			t.Fatal(err)
		}
		store := postgres.NewOffsetStore(pgtest.URL(t), postgres.WithSchema(schema))
		err := store.Connect(t.Context())
		if tc.ok {
			if err != nil {
				t.Errorf("Connect(ctx) on a table whose projection_name is %s = %v; want <nil>", tc.column, err)
				continue
			}
			name := strings.Repeat("n", 250) + "     "
			mustWrite(t, store, offset(name, 1, 5, 5))
			wantOffset(t, store, name, 1, offset(name, 1, 5, 5))
			store.Disconnect(t.Context())
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "projection_name") || !strings.Contains(err.Error(), table(schema)) {
			t.Errorf("Connect(ctx) on a table whose projection_name is %s = %v; want an error naming the table and its projection_name column", tc.column, err)
		}
		if err == nil {
			// What the store would do there: acknowledge a write it keeps
			// under another name.
			name := "abcdefghij    "
			werr := store.WriteOffset(t.Context(), offset(name, 1, 5, 5))
			got, gerr := store.GetCurrentOffset(t.Context(), id(name, 1))
			t.Logf("on %s: WriteOffset(ctx, {%q 1}) = %v; GetCurrentOffset then = %v, %v", tc.column, name, werr, got, gerr)
			store.Disconnect(t.Context())
		}
	}
}

// TestOffsetStore_BadOptions checks that names PostgreSQL would cut short
// or cannot hold make Connect fail with ErrInvalidArgument.
func TestOffsetStore_BadOptions(t *testing.T) {
	url := pgtest.URL(t)
	for _, opts := range [][]postgres.Option{
		{postgres.WithTable("")},
		{postgres.WithSchema("")},
		{postgres.WithTable(strings.Repeat("t", 64))},
		{postgres.WithSchema("s\x00")},
	} {
		store := postgres.NewOffsetStore(url, opts...)
		if err := store.Connect(t.Context()); !errors.Is(err, offsetstore.ErrInvalidArgument) {
			t.Errorf("Connect(ctx) with a bad schema or table name = %v; want an error wrapping offsetstore.ErrInvalidArgument", err)
		}
		if err := store.Ping(t.Context()); !errors.Is(err, offsetstore.ErrInvalidArgument) {
			t.Errorf("Ping(ctx) with a bad schema or table name = %v; want an error wrapping offsetstore.ErrInvalidArgument", err)
		}
	}
	if err := postgres.NewOffsetStore("postgres://[bad").Connect(t.Context()); !errors.Is(err, offsetstore.ErrInvalidArgument) {
		t.Errorf("Connect(ctx) with a bad connection string = %v; want an error wrapping offsetstore.ErrInvalidArgument", err)
	}
}

// TestOffsetStore_QuotedIdentifiers checks that schema and table names are
// quoted, not spliced: a name with quotes, spaces, capitals and a
// semicolon names exactly that table.
func TestOffsetStore_QuotedIdentifiers(t *testing.T) {
	const tableName = `Offsets "x"; DROP TABLE y`
	store, schema := connectedStore(t, postgres.WithTable(tableName))
	mustWrite(t, store, offset("p", 1, 2, 3))
	pool := newPool(t, pgtest.URL(t))
	var n int
	err := pool.QueryRow(t.Context(), "SELECT count(*) FROM "+pgx.Identifier{schema, tableName}.Sanitize()).Scan(&n)
	if err != nil || n != 1 {
		t.Errorf("rows in table %q = %d, %v; want 1", tableName, n, err)
	}
}

// TestOffsetStore_WithPool checks that the store uses the caller's pool
// and leaves it open on Disconnect.
func TestOffsetStore_WithPool(t *testing.T) {
	schema := pgtest.Schema(t)
	pool := newPool(t, pgtest.URL(t))
	// With WithPool the connection string is empty: a store given both
	// cannot know which the caller meant, and says so.
	both := postgres.NewOffsetStore(pgtest.URL(t), postgres.WithPool(pool), postgres.WithSchema(schema))
	if err := both.Ping(t.Context()); !errors.Is(err, offsetstore.ErrInvalidArgument) || !strings.Contains(err.Error(), "WithPool") {
		t.Errorf("Ping(ctx) of a store given a connection string and WithPool = %v; want an error wrapping offsetstore.ErrInvalidArgument that names WithPool", err)
	}
	store := postgres.NewOffsetStore("", postgres.WithPool(pool), postgres.WithSchema(schema), postgres.WithCreateTable())
	if err := store.Ping(t.Context()); err != nil {
		t.Fatalf("Ping(ctx) = %v; want <nil>: Ping connects", err)
	}
	mustWrite(t, store, offset("p", 1, 2, 3))
	if err := store.Disconnect(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := pool.Ping(t.Context()); err != nil {
		t.Errorf("pool.Ping(ctx) after the store's Disconnect = %v; want <nil>: the caller's pool stays open", err)
	}
	// Connect again on the same pool: the offset is still there.
	if err := store.Connect(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer store.Disconnect(context.Background())
	wantOffset(t, store, "p", 1, offset("p", 1, 2, 3))
}

// TestOffsetStore_MonotonicWrites checks that a lower value is refused,
// changes nothing and is caught by the database: also against a value
// another store wrote.
func TestOffsetStore_MonotonicWrites(t *testing.T) {
	store, schema := connectedStore(t, postgres.WithMonotonicWrites())
	other := postgres.NewOffsetStore(pgtest.URL(t), postgres.WithSchema(schema))
	if err := other.Connect(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer other.Disconnect(context.Background())
	ctx := t.Context()
	mustWrite(t, store, offset("p", 1, 10, 1))
	if err := store.WriteOffset(ctx, offset("p", 1, 9, 2)); !errors.Is(err, offsetstore.ErrOffsetRegression) {
		t.Errorf("WriteOffset(ctx, {p 1 value:9}) after value 10 = %v; want an error wrapping offsetstore.ErrOffsetRegression", err)
	}
	wantOffset(t, store, "p", 1, offset("p", 1, 10, 1))
	mustWrite(t, store, offset("p", 1, 10, 3)) // equal is accepted
	wantOffset(t, store, "p", 1, offset("p", 1, 10, 3))
	mustWrite(t, other, offset("p", 1, 20, 4)) // another node moves on
	if err := store.WriteOffset(ctx, offset("p", 1, 15, 5)); !errors.Is(err, offsetstore.ErrOffsetRegression) {
		t.Errorf("WriteOffset(ctx, {p 1 value:15}) after another store wrote 20 = %v; want an error wrapping offsetstore.ErrOffsetRegression", err)
	}
	wantOffset(t, store, "p", 1, offset("p", 1, 20, 4))
	// A reset may lower values; writes above the new value succeed.
	if err := store.ResetOffset(ctx, "p", 0); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, store, offset("p", 1, 1, 6))

	// Many writers of one key at once: the writes share batches, and
	// whatever order they commit in, the value never goes down.
	const writers = 16
	errs := make(chan error, writers)
	for v := range int64(writers) {
		go func() { errs <- store.WriteOffset(ctx, offset("p", 2, v, v)) }()
	}
	accepted := 0
	for range writers {
		switch err := <-errs; {
		case err == nil:
			accepted++
		case !errors.Is(err, offsetstore.ErrOffsetRegression):
			t.Errorf("concurrent WriteOffset = %v; want <nil> or an error wrapping offsetstore.ErrOffsetRegression", err)
		}
	}
	got, err := store.GetCurrentOffset(ctx, id("p", 2))
	if err != nil || got == nil || got.Value != writers-1 || got.Timestamp != writers-1 {
		t.Errorf("GetCurrentOffset(ctx, {p 2}) after concurrent writes of 0..%d = %v, %v; want value and timestamp %d: the highest write must win", writers-1, got, err, writers-1)
	}
	if accepted == 0 {
		t.Errorf("no concurrent write was accepted; want at least the highest")
	}
}

// TestOffsetStore_Inspect checks Offsets, Projections, Summaries and
// Snapshot: shards sorted as uint64 and names as Go sorts them, whatever
// the database's collation. The table here sorts names with a collation
// other than byte order where the server has one.
func TestOffsetStore_Inspect(t *testing.T) {
	schema := pgtest.Schema(t)
	pool := newPool(t, pgtest.URL(t))
	ctx := t.Context()
	collation := ""
	var icu bool
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu')`).Scan(&icu); err != nil {
		t.Fatal(err)
	}
	if icu {
		collation = ` COLLATE "und-x-icu"`
	} else {
		t.Log("the server has no ICU collation: the table sorts names in byte order")
	}
	if _, err := pool.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize()+`;
CREATE TABLE `+table(schema)+` (projection_name VARCHAR(255)`+collation+` NOT NULL, shard_number BIGINT NOT NULL,
current_offset BIGINT NOT NULL, timestamp BIGINT NOT NULL, PRIMARY KEY (projection_name, shard_number))`); err != nil {
		t.Fatal(err)
	}
	store := postgres.NewOffsetStore(pgtest.URL(t), postgres.WithSchema(schema))
	if err := store.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer store.Disconnect(context.Background())

	// In byte order capitals come first and accents last; ICU sorts
	// "a" < "A" < "ä" < "b" < "B", and a hash of them in no order at all.
	names := []string{"é", "b", "a", "B", "Z", "z", "A", "_x", "ä", "0", "aa", "Ab"}
	shards := []uint64{math.MaxUint64, 1 << 63, 7, 0}
	var all []*egopb.Offset
	var wantSums []offsetstore.ProjectionSummary
	for i, name := range names {
		sum := offsetstore.ProjectionSummary{Name: name, Shards: len(shards), MinValue: math.MaxInt64, MaxValue: math.MinInt64}
		for j, shard := range shards {
			o := offset(name, shard, int64(10*i+j), int64(100*i+j))
			mustWrite(t, store, o)
			all = append(all, o)
			sum.MinValue, sum.MaxValue = min(sum.MinValue, o.Value), max(sum.MaxValue, o.Value)
			sum.LastUpdate = max(sum.LastUpdate, o.Timestamp)
		}
		wantSums = append(wantSums, sum)
	}
	slices.SortFunc(all, func(a, b *egopb.Offset) int {
		if c := strings.Compare(a.ProjectionName, b.ProjectionName); c != 0 {
			return c
		}
		return cmpUint(a.ShardNumber, b.ShardNumber)
	})
	slices.SortFunc(wantSums, func(a, b offsetstore.ProjectionSummary) int { return strings.Compare(a.Name, b.Name) })

	got, err := store.Projections(ctx)
	if err != nil || !slices.Equal(got, wantSums) {
		t.Errorf("Projections(ctx) = %+v, %v; want %+v: byte order", got, err, wantSums)
	}
	wantA := slices.DeleteFunc(slices.Clone(all), func(o *egopb.Offset) bool { return o.ProjectionName != "a" })
	offsets, err := store.Offsets(ctx, "a")
	if err != nil || !sameOffsets(offsets, wantA) {
		t.Errorf("Offsets(ctx, a) = %v, %v; want %v: sorted by shard as a uint64", offsets, err, wantA)
	}
	if offsets, err := store.Offsets(ctx, "none"); err != nil || offsets == nil || len(offsets) != 0 {
		t.Errorf("Offsets(ctx, none) = %#v, %v; want an empty slice, <nil>", offsets, err)
	}
	snapshot, err := store.Snapshot(ctx)
	if err != nil || !sameOffsets(snapshot, all) {
		t.Errorf("Snapshot(ctx) = %v, %v; want %v", snapshot, err, all)
	}
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestOffsetStore_WriteOffsets_RefusesAll checks that WriteOffsets
// refuses a whole call for one bad offset, a name the table cannot hold
// included (offsetstoretest.RunAdmin tries the names every store refuses).
func TestOffsetStore_WriteOffsets_RefusesAll(t *testing.T) {
	store, _ := connectedStore(t)
	ctx := t.Context()
	for _, bad := range [][]*egopb.Offset{
		{offset("s", 0, 1, 1), offset("s", 0, 2, 2)},
		{offset("s", 0, 1, 1), nil},
		{offset("s", 0, 1, 1), offset("s\x00", 0, 1, 1)},
	} {
		if err := store.WriteOffsets(ctx, bad); !errors.Is(err, offsetstore.ErrInvalidArgument) {
			t.Errorf("WriteOffsets(ctx, %v) = %v; want an error wrapping offsetstore.ErrInvalidArgument", bad, err)
		}
	}
	wantOffset(t, store, "s", 0, nil)
}

// TestOffsetStore_WriteOffsets_MonotonicAllOrNothing checks that one
// regression refuses the whole WriteOffsets call.
func TestOffsetStore_WriteOffsets_MonotonicAllOrNothing(t *testing.T) {
	store, _ := connectedStore(t, postgres.WithMonotonicWrites())
	mustWrite(t, store, offset("p", 1, 10, 1))
	err := store.WriteOffsets(t.Context(), []*egopb.Offset{offset("p", 0, 5, 5), offset("p", 1, 9, 9), offset("p", 2, 5, 5)})
	if !errors.Is(err, offsetstore.ErrOffsetRegression) {
		t.Errorf("WriteOffsets(ctx, ...{p 1 value:9}...) after value 10 = %v; want an error wrapping offsetstore.ErrOffsetRegression", err)
	}
	wantOffset(t, store, "p", 0, nil)
	wantOffset(t, store, "p", 2, nil)
	wantOffset(t, store, "p", 1, offset("p", 1, 10, 1))
}

// TestOffsetStore_ServerRefusesName checks the mapping at the edge, for
// names the store cannot check before sending (a character a non-UTF-8
// database lacks, say): a name the server refuses with a data exception
// fails with ErrInvalidArgument, not a raw driver error, and fails only
// its own writes, though they were sent beside the writes of other names,
// queued behind a write of the same name. A trigger on eGo's table stands
// in for the server: it refuses one name as a value too long for its
// column, SQLSTATE 22001.
func TestOffsetStore_ServerRefusesName(t *testing.T) {
	store, schema := connectedStore(t)
	pool := newPool(t, pgtest.URL(t))
	ctx := t.Context()
	long := strings.Repeat("x", 11)
	refuse := pgx.Identifier{schema, "refuse"}.Sanitize()
	if _, err := pool.Exec(ctx, `CREATE FUNCTION `+refuse+`() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.projection_name = '`+long+`' THEN
		RAISE EXCEPTION 'value too long for type character varying(10)' USING ERRCODE = 'string_data_right_truncation';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON `+table(schema)+` FOR EACH ROW EXECUTE FUNCTION `+refuse+`()`); err != nil {
		t.Fatal(err)
	}
	names := []string{"a", long, long, "b", long, "c"}
	errs := make([]chan error, len(names))
	for i, name := range names {
		errs[i] = make(chan error, 1)
		go func() { errs[i] <- store.WriteOffset(ctx, offset(name, uint64(i), 1, 1)) }()
	}
	for i, name := range names {
		err := <-errs[i]
		if name == long {
			if !errors.Is(err, offsetstore.ErrInvalidArgument) || !strings.Contains(err.Error(), "longer than") {
				t.Errorf("WriteOffset(ctx, {%q %d}), refused by the server as too long = %v; want an error wrapping offsetstore.ErrInvalidArgument that says the name is too long", name, i, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("WriteOffset(ctx, {%q %d}), sent beside writes of a name the server refuses = %v; want <nil>: one bad name fails only its own writes", name, i, err)
		}
		wantOffset(t, store, name, uint64(i), offset(name, uint64(i), 1, 1))
	}
}

// blockShard is the shard holdCommitter holds.
const blockShard = 1 << 40

// holdCommitter makes the lane of projection name in the store's committer
// wait, with a write in flight, until release is called: another
// transaction locks the row of shard blockShard that the write writes, so
// that the write's shared batch gives up and the projection gets a lane.
// Writes of name made meanwhile queue up in it, and go out together once
// released (or once the write has been stuck for 5 seconds, beside it).
// table is the quoted name of the store's table.
func holdCommitter(t *testing.T, store *postgres.OffsetStore, pool *pgxpool.Pool, table, name string) (release func()) {
	t.Helper()
	ctx := t.Context()
	mustWrite(t, store, offset(name, blockShard, 0, 0))
	blocker, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blocker.Rollback(context.Background()) })
	if _, err := blocker.Exec(ctx, `SELECT 1 FROM `+table+` WHERE projection_name = $1 AND shard_number = $2 FOR UPDATE`, name, blockShard); err != nil {
		t.Fatal(err)
	}
	first := make(chan error, 1)
	go func() { first <- store.WriteOffset(ctx, offset(name, blockShard, 1, 1)) }()
	waitForLane(t, store, name)
	waitForLockWaiters(t, pool, 1)
	return func() {
		t.Helper()
		if err := blocker.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		if err := <-first; err != nil {
			t.Fatalf("WriteOffset(ctx, {%s %d}) held by another transaction = %v; want <nil>", name, blockShard, err)
		}
	}
}

// waitForLane waits until projection name has a lane with a unit in
// flight (see [postgres.HasLane]), and fails the test if it has none
// after patience.
func waitForLane(t *testing.T, store *postgres.OffsetStore, name string) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !postgres.HasLane(store, name) {
		if time.Now().After(deadline) {
			t.Fatalf("projection %s has no lane after %v; want its write, which met a row locked elsewhere, to wait in one", name, patience)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// idleBatchCounts returns the store's batch counts (see
// [postgres.BatchCounts]) at a moment when no attempt of a write that
// meets a lock held is in flight: such an attempt is counted while it is
// out, and no longer once it is back, so that a count read during it is
// one batch and its writes too high. It reads the counts over 100
// milliseconds, longer than such an attempt takes, and keeps the
// lowest. Only for tests in which writes that meet a lock are all that
// go out meanwhile.
func idleBatchCounts(store *postgres.OffsetStore) (batches, rows int64) {
	batches, rows = postgres.BatchCounts(store)
	for end := time.Now().Add(100 * time.Millisecond); time.Now().Before(end); {
		time.Sleep(time.Millisecond)
		b, r := postgres.BatchCounts(store)
		batches, rows = min(batches, b), min(rows, r)
	}
	return batches, rows
}

// TestOffsetStore_GroupCommit_LastArrivalWins checks that writes to one
// key queued in one batch leave the value of the last to arrive, and that
// each of them returns nil only once that batch has committed.
func TestOffsetStore_GroupCommit_LastArrivalWins(t *testing.T) {
	store, schema := connectedStore(t)
	pool := newPool(t, pgtest.URL(t))
	release := holdCommitter(t, store, pool, table(schema), "p")
	const writes = 5
	done := make(chan error, writes)
	for v := range int64(writes) {
		go func() { done <- store.WriteOffset(t.Context(), offset("p", 1, v, v)) }()
		// Arrive one after another, in order of v.
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("WriteOffset returned %v while its batch could not commit; want it to wait for the commit", err)
	case <-time.After(100 * time.Millisecond):
	}
	batchesBefore, rowsBefore := idleBatchCounts(store)
	release()
	for range writes {
		if err := <-done; err != nil {
			t.Errorf("WriteOffset = %v; want <nil>", err)
		}
	}
	wantOffset(t, store, "p", 1, offset("p", 1, writes-1, writes-1))
	// The held write commits alone, at its next attempt; the queued ones
	// wait for it, and then go out together.
	if batches, rows := postgres.BatchCounts(store); batches-batchesBefore != 2 || rows-rowsBefore != writes+1 {
		t.Errorf("the held write and the %d queued behind it went out in %d batches of %d writes; want 2 batches of %d", writes, batches-batchesBefore, rows-rowsBefore, writes+1)
	}
}

// TestOffsetStore_Disconnect_RefusesQueuedWrites checks that writes still
// queued when the store disconnects fail with ErrNotConnected and are not
// written, while the write already sent completes, and Disconnect waits
// for it.
func TestOffsetStore_Disconnect_RefusesQueuedWrites(t *testing.T) {
	schema := pgtest.Schema(t)
	pool := newPool(t, pgtest.URL(t))
	store := postgres.NewOffsetStore("", postgres.WithPool(pool), postgres.WithSchema(schema), postgres.WithCreateTable())
	if err := store.Connect(t.Context()); err != nil {
		t.Fatal(err)
	}
	release := holdCommitter(t, store, pool, table(schema), "q")
	const queued = 3
	errs := make(chan error, queued)
	for shard := range uint64(queued) {
		go func() { errs <- store.WriteOffset(t.Context(), offset("q", shard, 1, 1)) }()
	}
	time.Sleep(100 * time.Millisecond) // let them queue
	disconnected := make(chan error, 1)
	go func() { disconnected <- store.Disconnect(t.Context()) }()
	for range queued {
		if err := <-errs; !errors.Is(err, offsetstore.ErrNotConnected) {
			t.Errorf("WriteOffset queued when the store disconnected = %v; want an error wrapping offsetstore.ErrNotConnected", err)
		}
	}
	release() // the write in flight commits
	if err := <-disconnected; err != nil {
		t.Fatalf("Disconnect(ctx) = %v; want <nil>", err)
	}
	if err := store.Connect(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer store.Disconnect(context.Background())
	wantOffset(t, store, "q", blockShard, offset("q", blockShard, 1, 1))
	for shard := range uint64(queued) {
		wantOffset(t, store, "q", shard, nil)
	}
}

// TestOffsetStore_GroupCommit_MonotonicEarlierLower checks monotonic
// writes to one key queued in one batch when a lower value arrives before
// a higher one: the lower write succeeds only if the stored value allows
// it, as it would had each been sent alone, in either order; it must not
// ride on the higher write's success.
func TestOffsetStore_GroupCommit_MonotonicEarlierLower(t *testing.T) {
	store, schema := connectedStore(t, postgres.WithMonotonicWrites())
	pool := newPool(t, pgtest.URL(t))
	// Per shard: the value stored before, if any, and whether the writes
	// of 5 and then of 7 must succeed.
	cases := []struct {
		shard    uint64
		stored   int64 // 0: none
		ok5, ok7 bool
		want     int64 // value and timestamp afterwards
	}{
		{shard: 1, stored: 6, ok5: false, ok7: true, want: 7},
		{shard: 2, stored: 4, ok5: true, ok7: true, want: 7},
		{shard: 3, stored: 8, ok5: false, ok7: false, want: 8},
		{shard: 4, ok5: true, ok7: true, want: 7},
	}
	for _, c := range cases {
		if c.stored != 0 {
			mustWrite(t, store, offset("p", c.shard, c.stored, c.stored))
		}
	}
	release := holdCommitter(t, store, pool, table(schema), "p")
	errs5 := make([]chan error, len(cases))
	errs7 := make([]chan error, len(cases))
	for i, c := range cases {
		errs5[i] = make(chan error, 1)
		go func() { errs5[i] <- store.WriteOffset(t.Context(), offset("p", c.shard, 5, 5)) }()
	}
	time.Sleep(100 * time.Millisecond) // the writes of 5 arrive first
	for i, c := range cases {
		errs7[i] = make(chan error, 1)
		go func() { errs7[i] <- store.WriteOffset(t.Context(), offset("p", c.shard, 7, 7)) }()
	}
	time.Sleep(100 * time.Millisecond) // let them queue
	release()
	for i, c := range cases {
		for _, w := range []struct {
			value int64
			ok    bool
			err   error
		}{{5, c.ok5, <-errs5[i]}, {7, c.ok7, <-errs7[i]}} {
			switch {
			case w.ok && w.err != nil:
				t.Errorf("WriteOffset(ctx, {p %d value:%d}), stored %d, queued with a write of 5 then 7 = %v; want <nil>", c.shard, w.value, c.stored, w.err)
			case !w.ok && !errors.Is(w.err, offsetstore.ErrOffsetRegression):
				t.Errorf("WriteOffset(ctx, {p %d value:%d}), stored %d, queued with a write of 5 then 7 = %v; want an error wrapping offsetstore.ErrOffsetRegression: no order of the two writes lets %d follow %d", c.shard, w.value, c.stored, w.err, w.value, c.stored)
			}
		}
		wantOffset(t, store, "p", c.shard, offset("p", c.shard, c.want, c.want))
	}
}

// TestOffsetStore_GroupCommit_StuckWriteHoldsUpNoOther checks that a write
// that cannot commit, here because another transaction holds its row,
// does not hold up the writes of other keys of its projection for longer
// than the store lets a write stall: they queue behind it at first, as
// group commit wants, then go out without it. The writes carry no
// deadline, as eGo's do. The stuck write returns only once its row is
// free.
func TestOffsetStore_GroupCommit_StuckWriteHoldsUpNoOther(t *testing.T) {
	store, schema := connectedStore(t)
	pool := newPool(t, pgtest.URL(t))
	release := holdCommitter(t, store, pool, table(schema), "q")
	ctx := t.Context()
	const writes = 3
	done := make(chan error, writes)
	start := time.Now()
	for shard := range uint64(writes) {
		go func() { done <- store.WriteOffset(ctx, offset("q", shard, 1, 1)) }()
		time.Sleep(50 * time.Millisecond)
	}
	const patience = 15 * time.Second
	for range writes {
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("WriteOffset of another key, queued behind a stuck write = %v; want <nil>", err)
			}
		case <-time.After(patience - time.Since(start)):
			t.Fatalf("WriteOffset of another key has not returned %v after it queued behind a write that cannot commit; want it to go out without that write", patience)
		}
	}
	t.Logf("the writes queued behind the stuck one returned within %v", time.Since(start))
	for shard := range uint64(writes) {
		wantOffset(t, store, "q", shard, offset("q", shard, 1, 1))
	}
	release() // fails the test unless the stuck write now returns nil
	wantOffset(t, store, "q", blockShard, offset("q", blockShard, 1, 1))
}

// TestOffsetStore_Disconnect_WaitsForWriteBetweenAttempts: a write whose
// row another transaction holds waits in its projection's lane, between
// attempts, holding no connection. It was sent, and may still commit for
// all its caller knows: Disconnect must wait for it, as for a write in
// flight, and it must commit once the row is free.
func TestOffsetStore_Disconnect_WaitsForWriteBetweenAttempts(t *testing.T) {
	ctx := t.Context()
	schema := pgtest.Schema(t)
	pool := newPool(t, pgtest.URL(t))
	store := postgres.NewOffsetStore("", postgres.WithPool(pool), postgres.WithSchema(schema), postgres.WithCreateTable())
	if err := store.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, store, offset("p", 0, 1, 1))
	blocker := lockRows(t, pool, schema, "p")
	written := make(chan error, 1)
	go func() { written <- store.WriteOffset(ctx, offset("p", 0, 2, 2)) }()
	waitForLane(t, store, "p")
	// Its pauses grow past its attempts' 20 milliseconds.
	time.Sleep(1500 * time.Millisecond)
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if err := store.Disconnect(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Disconnect(ctx ending in 200ms) while a write waits between attempts for a row = %v; want an error wrapping context.DeadlineExceeded", err)
	}
	if err := blocker.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-written; err != nil {
		t.Errorf("the write, once its row was free = %v; want <nil>", err)
	}
	var value int64
	if err := pool.QueryRow(ctx, `SELECT current_offset FROM `+table(schema)+` WHERE projection_name = 'p' AND shard_number = 0`).Scan(&value); err != nil || value != 2 {
		t.Errorf("the stored value of p's shard 0 = %d, %v; want 2, <nil>", value, err)
	}
}
