package nats_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/internal/natstest"
)

// TestOffsetStore_Disconnect_WaitsForWritesInFlight checks that Disconnect
// returns only once the writes in flight have returned, so that a write
// refused with ErrNotConnected was not stored: 16 writers write rising
// values to shards of their own until Disconnect stops them, and each
// shard must then hold the last value acknowledged, never one refused.
func TestOffsetStore_Disconnect_WaitsForWritesInFlight(t *testing.T) {
	c := natstest.RunServer(t)
	for round := range 5 {
		store := connectedStore(t, c, 1)
		const writers = 16
		acked := make([]int64, writers)
		var wg sync.WaitGroup
		var failed []error
		var mu sync.Mutex
		for w := range writers {
			wg.Go(func() {
				for v := int64(1); ; v++ {
					err := store.WriteOffset(t.Context(), offset("p", uint64(w), v, v))
					if err == nil {
						acked[w] = v
						continue
					}
					if !errors.Is(err, offsetstore.ErrNotConnected) {
						mu.Lock()
						failed = append(failed, err)
						mu.Unlock()
					}
					return
				}
			})
		}
		time.Sleep(50 * time.Millisecond)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		err := store.Disconnect(ctx)
		cancel()
		if err != nil {
			t.Fatalf("round %d: Disconnect(ctx) = %v; want <nil>", round, err)
		}
		wg.Wait()
		for _, err := range failed {
			t.Errorf("round %d: WriteOffset = %v; want <nil> or ErrNotConnected", round, err)
		}
		if err := store.Connect(t.Context()); err != nil {
			t.Fatalf("round %d: Connect(ctx) = %v; want <nil>", round, err)
		}
		for w := range writers {
			if acked[w] == 0 {
				continue
			}
			wantOffset(t, store, "p", uint64(w), offset("p", uint64(w), acked[w], acked[w]))
		}
		if t.Failed() {
			return
		}
	}
}
