package nats_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: the
// committer of every store, and the connections the stores open, must be
// gone once the stores are disconnected, and the servers the tests start
// once they are shut down.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
