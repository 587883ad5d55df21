package postgres_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: the
// committer of every store, and the pools the stores open, must be gone
// once the stores are disconnected.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
