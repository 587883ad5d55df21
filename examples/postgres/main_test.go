package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestRun_CommitsReadsAndRewinds(t *testing.T) {
	url := os.Getenv("OFFSETSTORE_POSTGRES_URL")
	if url == "" {
		msg := "OFFSETSTORE_POSTGRES_URL is not set: run under scripts/with-postgres.sh, or set it to a PostgreSQL URL"
		if os.Getenv("OFFSETSTORE_POSTGRES_REQUIRED") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "offsetstore_example_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), url)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Error(err)
		}
	})

	var out bytes.Buffer
	if err := run(t.Context(), url, schema, &out); err != nil {
		t.Fatalf("run(ctx, url, %s) = %v; want <nil>", schema, err)
	}
	want := "accounts shard 0: offset 15\n" +
		"accounts shard 1: offset 42\n" +
		"accounts after reset: 2 shards, offsets 0 to 0\n"
	if out.String() != want {
		t.Errorf("run printed\n%s\nwant\n%s", out.String(), want)
	}
}
