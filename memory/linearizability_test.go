package memory_test

import (
	"fmt"
	"testing"

	"github.com/ego-contrib/offsetstore/internal/lincheck"
	"github.com/ego-contrib/offsetstore/memory"
)

// TestOffsetStore_Linearizable checks that concurrent WriteOffset,
// GetCurrentOffset and ResetOffset calls behave as if each took effect at
// one instant between its call and its return (rules 8 and 9): a reset is
// seen by every shard at once or by none, and a read returns the Value and
// Timestamp of one write. Each of 200 histories has 4 clients making 100
// calls each on a new store; internal/lincheck's own tests show the check
// catching a torn reset and a torn write.
func TestOffsetStore_Linearizable(t *testing.T) {
	const rounds = 200
	run := lincheck.Run{Clients: 4, OpsPerClient: 100}
	ops := 0
	for round := range rounds {
		store := memory.NewOffsetStore(memory.WithClock(lincheck.Clock))
		if err := store.Connect(t.Context()); err != nil {
			t.Fatalf("Connect(ctx) = %v; want <nil>", err)
		}
		history := run.History(t, store, "lin", uint64(round))
		ops += len(history)
		lincheck.Verify(t, fmt.Sprintf("round %d", round), history)
	}
	t.Logf("operations checked for linearizability: %d in %d histories", ops, rounds)
}
