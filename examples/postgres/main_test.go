package main

import (
	"bytes"
	"testing"

	"github.com/ego-contrib/offsetstore/internal/pgtest"
)

func TestRun_CommitsReadsAndRewinds(t *testing.T) {
	url, schema := pgtest.URL(t), pgtest.Schema(t)
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
