package main

import (
	"strings"
	"testing"
)

func TestRun_ResumesEachShardAfterItsOffset(t *testing.T) {
	var out strings.Builder
	if err := run(t.Context(), &out); err != nil {
		t.Fatalf("run(ctx, w) = %v; want <nil>", err)
	}
	const want = `first start:
  accounts shard 17: started after 0, events handled: 1
  accounts shard 142: started after 0, events handled: 2
  accounts shard 250: started after 0, events handled: 2
after a restart:
  accounts shard 17: started after 1764150000000000002, events handled: 1
  accounts shard 142: started after 1764150000000000004, events handled: 0
  accounts shard 250: started after 1764150000000000005, events handled: 0
`
	if out.String() != want {
		t.Errorf("run(ctx, w) wrote\n%s\nwant\n%s", out.String(), want)
	}
}
