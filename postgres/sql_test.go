package postgres

import (
	"strconv"
	"strings"
	"testing"
)

// TestStatements_NameOnlyTheTable checks that binding the statements to a
// table replaces the table's name and nothing else: every statement names
// the table, and, with the name put back, reads as it did.
func TestStatements_NameOnlyTheTable(t *testing.T) {
	const marker = `"T"`
	for _, sql := range []string{
		createTableSQL, checkTableSQL, selectOffsetSQL, upsertSQL, upsertManySQL,
		upsertManyMonotonicSQL, upsertTimedSQL, upsertManyTimedSQL, upsertManyMonotonicTimedSQL, resetSQL, resetShardsSQL, resetAllReturningSQL,
		deleteShardsSQL, deleteAllSQL, selectProjectionSQL, selectAllSQL, summariesSQL,
	} {
		bound := bind(sql, marker)
		if !strings.Contains(bound, marker) {
			t.Errorf("bind(%q, %s) does not name the table", sql, marker)
		}
		if strings.Contains(bound, tableToken) {
			t.Errorf("bind(%q, %s) = %q; still says %s", sql, marker, bound, tableToken)
		}
		if back := strings.ReplaceAll(bound, marker, tableToken); back != sql {
			t.Errorf("bind(%q, %s) changed more than the table name: %q", sql, marker, bound)
		}
	}
}

// TestStatements_TakeTheProjectionLock checks that every statement that
// writes takes a projection lock, shared, keyed by the name's 64-bit hash
// seeded with lockClass, and that the lock of resets and deletes is that
// same lock, exclusive, and that they take the store-wide lock, shared,
// only after the projection's rows.
func TestStatements_TakeTheProjectionLock(t *testing.T) {
	seed := ", " + strconv.Itoa(lockClass) + ")"
	for _, sql := range []string{upsertSQL, upsertManySQL, upsertManyMonotonicSQL, upsertTimedSQL, upsertManyTimedSQL, upsertManyMonotonicTimedSQL} {
		if strings.Count(sql, "pg_advisory_xact_lock_shared(") != 1 || strings.Count(sql, "pg_advisory") != 1 ||
			strings.Count(sql, "hashtextextended(") != 1 || !strings.Contains(sql, seed) {
			t.Errorf("%q takes no lock, or another than pg_advisory_xact_lock_shared(hashtextextended(name%s); want that lock, once", sql, seed)
		}
	}
	want := "SELECT pg_advisory_xact_lock(hashtextextended($1::text" + seed + ")"
	if lockProjectionSQL != want {
		t.Errorf("lockProjectionSQL = %q; want %q", lockProjectionSQL, want)
	}
	// The outer query takes the store-wide lock once the subquery has
	// locked the rows.
	if rows, store := strings.Index(lockRowsThenStoreSQL, "FOR UPDATE"), strings.Index(lockRowsThenStoreSQL, "SELECT pg_advisory_xact_lock_shared("+strconv.Itoa(lockClass)+", 0) FROM"); rows < 0 || store != 0 {
		t.Errorf("lockRowsThenStoreSQL = %q; want it to lock the projection's rows FOR UPDATE in a subquery, and take the store-wide lock shared over it", lockRowsThenStoreSQL)
	}
	if want := "SELECT pg_try_advisory_xact_lock(" + strconv.Itoa(lockClass) + ", 0)"; tryLockStoreSQL != want {
		t.Errorf("tryLockStoreSQL = %q; want %q", tryLockStoreSQL, want)
	}
}

// TestStatements_TimedWaitBriefly checks that the statements of shared
// batches set lock_timeout to sharedLockWait for their own transaction
// only (set_config's third argument), once, before the lock: in the lock's
// argument, or in a one-time filter of the keys' subquery; and that the
// other statements that write leave lock_timeout alone, since
// WriteOffsetTx runs them in the caller's transaction.
func TestStatements_TimedWaitBriefly(t *testing.T) {
	set := "set_config('lock_timeout', '" + sharedLockWait + "', true)"
	for _, sql := range []string{upsertTimedSQL, upsertManyTimedSQL, upsertManyMonotonicTimedSQL} {
		i, lock := strings.Index(sql, set), strings.Index(sql, "pg_advisory_xact_lock_shared(")
		inArg := strings.Contains(sql, "pg_advisory_xact_lock_shared(\n    CASE WHEN "+set+" IS NOT NULL THEN ")
		inFilter := strings.Contains(sql, "WHERE (SELECT "+set+") IS NOT NULL ORDER BY k")
		if strings.Count(sql, "set_config(") != 1 || i < 0 || !inArg && !inFilter || inArg && i < lock {
			t.Errorf("%q does not set lock_timeout to %s for its transaction, once, before it locks", sql, sharedLockWait)
		}
	}
	for _, sql := range []string{upsertSQL, upsertManySQL, upsertManyMonotonicSQL, upsertManyUnlockedSQL, upsertManyMonotonicUnlockedSQL} {
		if strings.Contains(sql, "set_config(") {
			t.Errorf("%q sets a setting; want it to leave the caller's transaction as it is", sql)
		}
	}
}
