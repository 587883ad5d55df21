package offsetstore_test

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// The README's program that hands a store to eGo lives in a module of its
// own, which the go command run on this module never builds.
func TestEgoEngineExampleCompiles(t *testing.T) {
	cmd := exec.Command("go", "vet", "./...")
	cmd.Dir = filepath.Join("examples", "egoengine")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("go vet ./... in examples/egoengine = %v:\n%s\nwant it to build: the README shows its run.go", err, out)
	}
}
