package main

import (
	"os"
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

// The README's first screen must show the line this program runs.
func TestREADMEShowsTheHandOver(t *testing.T) {
	source, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	_, line, ok := strings.Cut(string(source), "store := egoadapter.ToEgo")
	if !ok {
		t.Fatal("main.go has no line \"store := egoadapter.ToEgo...\"")
	}
	line, _, _ = strings.Cut(line, "\n")
	line = "store := egoadapter.ToEgo" + line

	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	firstScreen, _, ok := strings.Cut(string(readme), "\n## ")
	if !ok {
		t.Fatal("README.md has no \"## \" heading")
	}
	if !strings.Contains(firstScreen, "```go\n"+line+"\n```\n") {
		t.Errorf("README.md, before its first heading, has no go code block holding only %q, the line examples/ego/main.go runs", line)
	}
}
