package main

import (
	"bytes"
	"log"
	"os"
	"strings"
	"testing"
)

func TestMain_PrintsOffsetThenReset(t *testing.T) {
	var out bytes.Buffer
	log.SetOutput(&out)
	t.Cleanup(func() { log.SetOutput(os.Stderr) })

	main()

	for _, want := range []string{"current offset: 15\n", "offset after reset: 0\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("main() logged %q; want a line ending %q", out.String(), want)
		}
	}
}

// The README's Quickstart must stay the program this package runs.
func TestREADMEQuickstartIsThisProgram(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "## Quickstart\n")
	if !ok {
		t.Fatal("README.md has no \"## Quickstart\" section")
	}
	_, block, ok := strings.Cut(section, "```go\n")
	if !ok {
		t.Fatal("README.md's Quickstart has no go code block")
	}
	block, _, _ = strings.Cut(block, "```")

	source, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	// The README leaves out the command's doc comment.
	_, program, _ := strings.Cut(string(source), "package main\n")
	program = "package main\n" + program
	if block != program {
		t.Errorf("README.md's Quickstart differs from examples/quickstart/main.go (after its doc comment); copy main.go into the README")
	}
}
