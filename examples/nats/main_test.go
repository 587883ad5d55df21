package main

import (
	"bytes"
	"testing"

	"github.com/ego-contrib/offsetstore/internal/natstest"
)

func TestRun_CommitsReadsAndRewinds(t *testing.T) {
	c := natstest.RunServer(t)
	var out bytes.Buffer
	if err := run(t.Context(), c.URL(), 1, &out); err != nil {
		t.Fatalf("run(ctx, %s, 1) = %v; want <nil>", c.URL(), err)
	}
	want := "accounts shard 0: offset 15\n" +
		"accounts shard 1: offset 42\n" +
		"accounts after reset: 2 shards, offsets 0 and 0\n"
	if out.String() != want {
		t.Errorf("run printed\n%s\nwant\n%s", out.String(), want)
	}
}
