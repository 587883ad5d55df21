package main

import (
	"bytes"
	"os"
	"testing"

	"github.com/ego-contrib/offsetstore/internal/natstest"
)

// TestRun_CommitsReadsAndRewinds runs the program as OFFSETSTORE_NATS_URL
// makes it run, against a single server and against a cluster of three,
// and as it runs without it, against the server main starts.
func TestRun_CommitsReadsAndRewinds(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(testing.TB) string
	}{
		{"one server", func(tb testing.TB) string { return natstest.RunServer(tb).URL() }},
		{"a cluster of three", func(tb testing.TB) string { return natstest.RunCluster(tb).URL() }},
		{"the server main starts", func(tb testing.TB) string {
			srv, dir, err := startServer()
			if err != nil {
				tb.Fatal(err)
			}
			tb.Cleanup(func() {
				srv.Shutdown()
				srv.WaitForShutdown()
				os.RemoveAll(dir)
			})
			return srv.ClientURL()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := tc.start(t)
			var out bytes.Buffer
			if err := run(t.Context(), url, &out); err != nil {
				t.Fatalf("run(ctx, %s) on %s = %v; want <nil>", url, tc.name, err)
			}
			want := "accounts shard 0: offset 15\n" +
				"accounts shard 1: offset 42\n" +
				"accounts after reset: 2 shards, offsets 0 and 0\n"
			if out.String() != want {
				t.Errorf("run printed\n%s\nwant\n%s", out.String(), want)
			}
		})
	}
}
