// Package pgtest finds the PostgreSQL server this module's tests run
// against, and the PgBouncer in front of it, gives each test a schema of
// its own, so that tests never see each other's rows and can run in
// parallel, and starts throwaway clusters for the tests that need servers
// of their own (see [StartCluster]).
//
// The server is the one of $OFFSETSTORE_POSTGRES_URL, the pooler the one of
// $OFFSETSTORE_PGBOUNCER_URL. Without them the tests skip, saying which
// variable to set, so that go test ./... passes anywhere; unless
// OFFSETSTORE_POSTGRES_REQUIRED is 1, as scripts/with-postgres.sh sets it,
// in which case they fail.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// The variables the tests read.
const (
	URLVariable          = "OFFSETSTORE_POSTGRES_URL"
	RequiredVariable     = "OFFSETSTORE_POSTGRES_REQUIRED"
	PgBouncerURLVariable = "OFFSETSTORE_PGBOUNCER_URL"
)

// URL returns the test server's URL, or ends the test: skipped, or failed
// if $OFFSETSTORE_POSTGRES_REQUIRED is 1.
func URL(tb testing.TB) string {
	tb.Helper()
	url := os.Getenv(URLVariable)
	if url != "" {
		return url
	}
	msg := URLVariable + " is not set: set it to a PostgreSQL URL (postgres://user:password@host:port/db), or run the tests under scripts/with-postgres.sh, which starts a throwaway server"
	if os.Getenv(RequiredVariable) == "1" {
		tb.Fatalf("%s; %s=1 says the PostgreSQL tests must run", msg, RequiredVariable)
	}
	tb.Skip(msg)
	return ""
}

// PgBouncerURL returns the URL of a PgBouncer in transaction pooling mode
// in front of [URL]'s server, its database the same, or ends the test as
// URL does.
func PgBouncerURL(tb testing.TB) string {
	tb.Helper()
	url := os.Getenv(PgBouncerURLVariable)
	if url != "" {
		return url
	}
	msg := PgBouncerURLVariable + " is not set: set it to the URL of a PgBouncer in transaction pooling mode in front of the server of " + URLVariable + ", or run the tests under scripts/with-postgres.sh, which starts one when PgBouncer is installed (Debian: apt-get install pgbouncer)"
	if os.Getenv(RequiredVariable) == "1" {
		tb.Fatalf("%s; %s=1 says the PostgreSQL tests must run", msg, RequiredVariable)
	}
	tb.Skip(msg)
	return ""
}

// Schema returns the name of a schema of the test's own, which does not
// exist yet and is dropped, with everything in it, when the test ends. It
// ends the test as [URL] does when there is no server.
func Schema(tb testing.TB) string {
	tb.Helper()
	url := URL(tb)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "offsetstore_test_" + hex.EncodeToString(b[:])
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			tb.Errorf("connect to drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}
