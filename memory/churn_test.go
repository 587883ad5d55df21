package memory_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/memory"
)

// The churn tests race Connect, Disconnect and Ping against every other
// operation. They are meant for go test -race: besides their own checks,
// the race detector sees every access the store makes under churn.
const (
	churnConnectors = 2
	churnWorkers    = 4
	churnIterations = 1500
	// churnWaitTimeout bounds each wait that churn starts, so that a
	// wait for an offset nobody writes ends quickly.
	churnWaitTimeout = time.Millisecond
)

// churnConnections runs Connect, Disconnect and Ping at random from when
// start is closed until stop is, and checks that they never fail.
func churnConnections(t *testing.T, store *memory.OffsetStore, seed uint64, start, stop <-chan struct{}) {
	t.Helper()
	ctx := t.Context()
	<-start
	rng := rand.New(rand.NewPCG(seed, 0))
	calls := []struct {
		name string
		do   func(context.Context) error
	}{
		{"Connect", store.Connect},
		{"Disconnect", store.Disconnect},
		{"Ping", store.Ping},
	}
	for {
		select {
		case <-stop:
			return
		default:
		}
		c := calls[rng.IntN(len(calls))]
		if err := c.do(ctx); err != nil {
			t.Errorf("%s(ctx) under churn = %v; want <nil>: Connect, Disconnect and Ping never fail (rules 1, 9)", c.name, err)
			return
		}
		churnYield()
	}
}

// TestOffsetStore_Churn races connection changes with every other
// operation, on a store that frees its records on Disconnect. Nothing may
// panic or race, and the only error allowed is ErrNotConnected, or, for a
// wait, the end of its context.
func TestOffsetStore_Churn(t *testing.T) {
	store := memory.NewOffsetStore()
	names := []string{"a", "b"}
	var succeeded, refused, timedOut atomic.Int64
	start, stop := make(chan struct{}), make(chan struct{})
	var connectors, workers sync.WaitGroup
	for i := range churnConnectors {
		connectors.Go(func() { churnConnections(t, store, uint64(i), start, stop) })
	}
	for w := range churnWorkers {
		workers.Go(func() {
			ctx := t.Context()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			<-start
			for i := range churnIterations {
				churnYield()
				name := names[rng.IntN(len(names))]
				shard := rng.Uint64N(4)
				id := &egopb.ProjectionId{ProjectionName: name, ShardNumber: shard}
				var (
					call    string
					err     error
					waiting bool
				)
				switch rng.IntN(12) {
				case 0, 1, 2:
					call = "WriteOffset"
					err = store.WriteOffset(ctx, &egopb.Offset{ProjectionName: name, ShardNumber: shard, Value: int64(i)})
				case 3:
					call = "GetCurrentOffset"
					var got *egopb.Offset
					got, err = store.GetCurrentOffset(ctx, id)
					if got != nil && (got.ProjectionName != name || got.ShardNumber != shard) {
						t.Errorf("GetCurrentOffset(ctx, %s) = %s; want an offset of that projection and shard", fmtID(id), fmtOffset(got))
					}
				case 4:
					call = "ResetOffset"
					err = store.ResetOffset(ctx, name, int64(i))
				case 5:
					call = "Offsets"
					var got []*egopb.Offset
					got, err = store.Offsets(ctx, name)
					if !slices.IsSortedFunc(got, compareOffsets) ||
						slices.ContainsFunc(got, func(o *egopb.Offset) bool { return o.ProjectionName != name }) {
						t.Errorf("Offsets(ctx, %q) = %v; want only that projection's offsets, sorted by shard", name, rowsOf(got))
					}
				case 6:
					call = "Projections"
					var got []offsetstore.ProjectionSummary
					got, err = store.Projections(ctx)
					if !slices.IsSortedFunc(got, func(a, b offsetstore.ProjectionSummary) int { return strings.Compare(a.Name, b.Name) }) {
						t.Errorf("Projections(ctx) = %v; want summaries sorted by name", got)
					}
				case 7:
					call = "Snapshot+Restore"
					var snapshot []*egopb.Offset
					snapshot, err = store.Snapshot(ctx)
					if !slices.IsSortedFunc(snapshot, compareOffsets) {
						t.Errorf("Snapshot(ctx) = %v; want offsets sorted by name, then shard", rowsOf(snapshot))
					}
					if err == nil {
						err = store.Restore(ctx, snapshot)
					}
				case 8:
					call = "DeleteShards"
					_, err = store.DeleteShards(ctx, name, []uint64{shard})
				case 9:
					call = "WriteOffsets"
					err = store.WriteOffsets(ctx, []*egopb.Offset{{ProjectionName: name, ShardNumber: shard, Value: int64(i)}})
				case 10:
					call, waiting = "WaitForOffset", true
					wctx, cancel := context.WithTimeout(ctx, churnWaitTimeout)
					var got *egopb.Offset
					got, err = store.WaitForOffset(wctx, id, int64(rng.IntN(2*churnIterations)))
					cancel()
					if err == nil && (got == nil || got.ProjectionName != name || got.ShardNumber != shard) {
						t.Errorf("WaitForOffset(ctx, %s, _) = %s, <nil>; want an offset of that projection and shard", fmtID(id), fmtOffset(got))
					}
				case 11:
					call, waiting = "WaitForOffsets", true
					wctx, cancel := context.WithTimeout(ctx, churnWaitTimeout)
					_, err = store.WaitForOffsets(wctx, name, map[uint64]int64{shard: int64(rng.IntN(2 * churnIterations))})
					cancel()
				}
				switch {
				case err == nil:
					succeeded.Add(1)
					continue
				case errors.Is(err, offsetstore.ErrNotConnected):
					refused.Add(1)
					continue
				case waiting && errors.Is(err, context.DeadlineExceeded):
					timedOut.Add(1)
					continue
				}
				t.Errorf("%s under churn = %v; want <nil> or an error wrapping %q (or, for a wait, %q): churn never causes another error (rule 9)",
					call, err, offsetstore.ErrNotConnected, context.DeadlineExceeded)
				return
			}
		})
	}
	close(start)
	workers.Wait()
	close(stop)
	connectors.Wait()
	t.Logf("%d calls succeeded, %d were refused while disconnected, %d waits timed out",
		succeeded.Load(), refused.Load(), timedOut.Load())
}

// churnYield lets another goroutine run between two calls: on a machine
// with few cores, goroutines that never block would otherwise each run
// their whole loop in one time slice, one after another, and race little.
func churnYield() { runtime.Gosched() }

// TestOffsetStore_Churn_KeepRecordsLosesNothing races connection changes
// with writers and readers on a store that keeps its records through
// Disconnect. Each writer owns one shard and writes increasing values;
// when everything has stopped, each shard must hold the last value whose
// write returned nil, and no reader may have seen a shard go backwards.
func TestOffsetStore_Churn_KeepRecordsLosesNothing(t *testing.T) {
	const (
		name    = "kept"
		writers = 3
		readers = 2
	)
	store := memory.NewOffsetStore()
	store.KeepRecordsAfterDisconnect = true
	if err := store.Connect(t.Context()); err != nil {
		t.Fatalf("Connect(ctx) = %v; want <nil>", err)
	}
	// lastOK[shard] is the last value written with a nil error, 0 if none;
	// each is written by its shard's writer only.
	var lastOK [writers]int64
	var writing atomic.Int32
	writing.Store(writers)
	var refused atomic.Int64
	start, stop := make(chan struct{}), make(chan struct{})
	var connectors, workers sync.WaitGroup
	for i := range churnConnectors {
		connectors.Go(func() { churnConnections(t, store, uint64(i), start, stop) })
	}
	for w := range writers {
		workers.Go(func() {
			defer writing.Add(-1)
			ctx := t.Context()
			shard := uint64(w)
			<-start
			for value := int64(1); value <= churnIterations; value++ {
				churnYield()
				err := store.WriteOffset(ctx, &egopb.Offset{ProjectionName: name, ShardNumber: shard, Value: value})
				switch {
				case err == nil:
					lastOK[shard] = value
				case errors.Is(err, offsetstore.ErrNotConnected):
					refused.Add(1)
				default:
					t.Errorf("WriteOffset(ctx, {%q %d %d 0}) under churn = %v; want <nil> or an error wrapping %q (rule 9)", name, shard, value, err, offsetstore.ErrNotConnected)
					return
				}
			}
		})
	}
	for r := range readers {
		workers.Go(func() {
			ctx := t.Context()
			rng := rand.New(rand.NewPCG(uint64(r), 2))
			var seen [writers]int64
			// saw records a value read for a shard; it must not be below
			// one this reader saw before.
			saw := func(call string, o *egopb.Offset) bool {
				if o.ShardNumber >= writers || o.Value < seen[o.ShardNumber] {
					t.Errorf("%s under churn returned %s after this reader saw value %d; want a value that never goes backwards (rule 9) on shards 0 to %d",
						call, fmtOffset(o), seen[o.ShardNumber%writers], writers-1)
					return false
				}
				seen[o.ShardNumber] = o.Value
				return true
			}
			<-start
			for writing.Load() > 0 {
				churnYield()
				var (
					call string
					got  []*egopb.Offset
					err  error
				)
				shard := rng.Uint64N(writers)
				id := &egopb.ProjectionId{ProjectionName: name, ShardNumber: shard}
				switch rng.IntN(4) {
				case 0:
					call = "GetCurrentOffset"
					var o *egopb.Offset
					o, err = store.GetCurrentOffset(ctx, id)
					if o != nil {
						got = append(got, o)
					}
				case 1:
					call = "Offsets"
					got, err = store.Offsets(ctx, name)
				case 2:
					call = "Snapshot"
					got, err = store.Snapshot(ctx)
				case 3:
					call = "WaitForOffset"
					wctx, cancel := context.WithTimeout(ctx, churnWaitTimeout)
					var o *egopb.Offset
					o, err = store.WaitForOffset(wctx, id, seen[shard]+1)
					cancel()
					if errors.Is(err, context.DeadlineExceeded) {
						err = nil
					}
					if o != nil {
						got = append(got, o)
					}
				}
				if err != nil && !errors.Is(err, offsetstore.ErrNotConnected) {
					t.Errorf("%s under churn = %v; want <nil> or an error wrapping %q (rule 9)", call, err, offsetstore.ErrNotConnected)
					return
				}
				for _, o := range got {
					if !saw(call, o) {
						return
					}
				}
			}
		})
	}
	close(start)
	workers.Wait()
	close(stop)
	connectors.Wait()

	if err := store.Connect(t.Context()); err != nil {
		t.Fatalf("Connect(ctx) = %v; want <nil>", err)
	}
	for shard, want := range lastOK {
		id := &egopb.ProjectionId{ProjectionName: name, ShardNumber: uint64(shard)}
		got, err := store.GetCurrentOffset(t.Context(), id)
		switch {
		case want == 0 && (got != nil || err != nil):
			t.Errorf("GetCurrentOffset(ctx, %s) = %s, %v; want <nil>, <nil>: no write to the shard succeeded", fmtID(id), fmtOffset(got), err)
		case want != 0 && (err != nil || got == nil || got.Value != want):
			t.Errorf("GetCurrentOffset(ctx, %s) = %s, %v; want value %d, the last write that returned nil: KeepRecordsAfterDisconnect loses nothing", fmtID(id), fmtOffset(got), err, want)
		}
	}
	t.Logf("%d of %d writes refused while disconnected; last acknowledged values per shard: %v",
		refused.Load(), writers*churnIterations, lastOK)
}
