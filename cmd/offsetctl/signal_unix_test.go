//go:build unix

package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestImport_InterruptWhileReadingTheInput interrupts an import whose
// input never ends, as an import - typed by mistake at a terminal: the
// read must heed the signal, and offsetctl end, saying so.
func TestImport_InterruptWhileReadingTheInput(t *testing.T) {
	t.Parallel()
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			fifo := filepath.Join(t.TempDir(), "offsets.jsonl")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Fatalf("Mkfifo(%s) = %v", fifo, err)
			}
			// No command may hang: this one has ignored the signal.
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			args := []string{"import", fifo, "--url", "postgres://nobody@127.0.0.1:1/none"}
			cmd := exec.CommandContext(ctx, binary, args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Opening the FIFO to write returns once offsetctl has opened it
			// to read: offsetctl is then past setting up its signals.
			w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			// Half a line; the rest never comes, and w stays open.
			if _, err := w.WriteString(`{"projectionName":"a"`); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			err = cmd.Wait()
			if ctx.Err() != nil {
				t.Fatalf("offsetctl %s: still running a minute after %v; killed", strings.Join(args, " "), sig)
			}
			var exitErr *exec.ExitError
			if !errors.As(err, &exitErr) || exitErr.ExitCode() != exitFailure {
				t.Errorf("offsetctl %s, then %v: Wait() = %v; want exit %d", strings.Join(args, " "), sig, err, exitFailure)
			}
			wantOneLineError(t, result{stderr: stderr.String()}, "interrupted while reading "+fifo, "nothing imported")
		})
	}
}
