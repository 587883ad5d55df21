package memory_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: the
// waiting helpers promise that none does.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
