package postgres

import (
	"strings"
	"testing"
)

// TestStatements_NameOnlyTheTable checks that binding the statements to a
// table replaces the table's name and nothing else: every statement names
// the table, and, with the name put back, reads as it did.
func TestStatements_NameOnlyTheTable(t *testing.T) {
	const marker = `"T"`
	for _, sql := range []string{
		createTableSQL, checkTableSQL, selectOffsetSQL, upsertSQL, upsertMonotonicSQL, upsertManySQL,
		upsertManyMonotonicSQL, lockSQL, resetSQL, resetShardsSQL, resetAllReturningSQL, deleteOffsetSQL,
		deleteShardsSQL, deleteAllSQL, selectProjectionSQL, selectAllSQL, selectNamesSQL, summariesSQL,
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
