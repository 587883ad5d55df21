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
