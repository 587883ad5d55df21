package offsetstoretest

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
)

// A racer is one goroutine's part in a [race]: it is called with 0, 1,
// 2, ... and returns false, having reported why, to stop the race.
type racer func(i int) bool

// raceFor is how long a race lasts at least. Bugs that a race shows, such
// as a read that mixes two writes, show in a window of nanoseconds, and
// only while the goroutines involved run on two cores at once: a few
// milliseconds of racing, which is what a few thousand calls to a store in
// memory take, catch them in few runs on a loaded machine.
const raceFor = 250 * time.Millisecond

// race runs every driver and every follower on a goroutine of its own, all
// at once. A driver steps until it has taken steps steps, the followers
// have, between them, taken rounds, and raceFor has passed; a follower
// steps until every driver has stopped. A racer that returns false stops
// them all. race returns when all have stopped.
//
// Counting the followers' rounds as well as the time makes drivers and
// followers overlap however slow the store is: a store in memory gets many
// driver steps per round, one over a network may get many rounds per
// step. Every racer yields after each step, so that on a machine with few
// cores the goroutines take turns often instead of each running its whole
// loop in one time slice.
func race(steps, rounds int, drivers, followers []racer) {
	var stop, driven atomic.Bool
	var followed atomic.Int64
	var driving, following sync.WaitGroup
	deadline := time.Now().Add(raceFor)
	for _, f := range followers {
		following.Go(func() {
			for i := 0; !stop.Load() && !driven.Load(); i++ {
				if !f(i) {
					stop.Store(true)
					return
				}
				followed.Add(1)
				runtime.Gosched()
			}
		})
	}
	for _, d := range drivers {
		driving.Go(func() {
			for i := 0; !stop.Load() && (i < steps || followed.Load() < int64(rounds) || time.Now().Before(deadline)); i++ {
				if !d(i) {
					stop.Store(true)
					return
				}
				runtime.Gosched()
			}
		})
	}
	driving.Wait()
	driven.Store(true)
	following.Wait()
}

// pairedTimestamp is the timestamp written with value in the cases that
// check that a reader never sees the Value of one write with the
// Timestamp of another.
func pairedTimestamp(value int64) int64 { return 1_700_000_000_000 + value }

// readOnward reads id and returns what it read, or reports and returns ok
// false if the read fails or finds a lower value than last, which the same
// goroutine read before it. A nil offset stands for nothing written yet, so
// reading one after an offset is going backwards too.
func (h *harness) readOnward(ctx context.Context, id *egopb.ProjectionId, last *egopb.Offset) (o *egopb.Offset, ok bool) {
	o, err := h.store.GetCurrentOffset(ctx, id)
	switch {
	case err != nil:
		h.errorf("%s = %s, %v; want no error", getName(id), offsetString(o), err)
		return nil, false
	case o != nil && (o.ProjectionName != id.ProjectionName || o.ShardNumber != id.ShardNumber):
		h.errorf("%s = %s, <nil>; want an offset of that projection and shard", getName(id), offsetString(o))
		return nil, false
	case last != nil && (o == nil || o.Value < last.Value):
		h.errorf("%s = %s, <nil> after a read of %s; want a value of at least %d",
			getName(id), offsetString(o), offsetString(last), last.Value)
		return nil, false
	}
	return o, true
}

func testConcurrent(h *harness) {
	const (
		shards  = 4
		readers = 3
		writes  = 1000
		reads   = 4000
	)
	ctx := h.t.Context()
	// written[shard] is the last value its writer wrote, for the check
	// after the race.
	var written [shards]int64
	var writers []racer
	for shard := range uint64(shards) {
		writers = append(writers, func(i int) bool {
			v := int64(i + 1)
			o := newOffset("p", shard, v, pairedTimestamp(v))
			if err := h.store.WriteOffset(ctx, o); err != nil {
				h.errorf("%s = %v; want <nil>", writeCall(o).name, err)
				return false
			}
			written[shard] = v
			return true
		})
	}
	var followers []racer
	for range readers {
		// Offsets go backwards only if the same reader sees them do so,
		// so each reader keeps its own record of what it read.
		last := make([]*egopb.Offset, shards)
		followers = append(followers, func(i int) bool {
			shard := uint64(i % shards)
			id := newID("p", shard)
			o, ok := h.readOnward(ctx, id, last[shard])
			if !ok {
				return false
			}
			if o != nil && o.Timestamp != pairedTimestamp(o.Value) {
				h.errorf("%s = %s, <nil>; want timestamp %d, the one written with value %d: a read must not mix two writes",
					getName(id), offsetString(o), pairedTimestamp(o.Value), o.Value)
				return false
			}
			last[shard] = o
			return true
		})
	}
	race(writes, reads, writers, followers)
	for shard, v := range written {
		h.wantStored(newOffset("p", uint64(shard), v, pairedTimestamp(v)))
	}
}

func testConnectionChurn(h *harness) {
	const (
		churners = 2
		workers  = 3
		cycles   = 100
		calls    = 600
	)
	ctx := h.t.Context()
	var churn []racer
	for range churners {
		churn = append(churn, func(int) bool {
			// Every cycle ends with Connect, so whichever order the
			// churners stop in, the store ends connected.
			for _, c := range []call{disconnectCall, pingCall, disconnectCall, connectCall} {
				if got, err := c.do(ctx, h.store); err != nil {
					h.errorf("%s = %s; want <nil>", c.name, got)
					return false
				}
			}
			return true
		})
	}
	var followers []racer
	for shard := range uint64(workers) {
		calls := []call{writeCall(newOffset("p", shard, 1, 1)), getCall(newID("p", shard)), resetCall("p", 2)}
		followers = append(followers, func(i int) bool {
			c := calls[i%len(calls)]
			if got, err := c.do(ctx, h.store); err != nil && !errors.Is(err, offsetstore.ErrNotConnected) {
				h.errorf("%s = %s; want <nil> or an error wrapping offsetstore.ErrNotConnected", c.name, got)
				return false
			}
			return true
		})
	}
	race(cycles, calls, churn, followers)
	h.wantUsable()
}
