package offsetstoretest_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if a goroutine outlives them: the
// suite's concurrent cases must join everything they start.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
