package offsetstoretest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
)

// race runs every driver on a goroutine of its own and, meanwhile, every
// follower over and over on one of its own, until the drivers have all
// returned or the follower returns false. It returns when all have stopped.
func race(drivers []func(), followers []func() bool) {
	var done atomic.Bool
	var driving, following sync.WaitGroup
	for _, f := range followers {
		following.Go(func() {
			for !done.Load() && f() {
			}
		})
	}
	for _, d := range drivers {
		driving.Go(d)
	}
	driving.Wait()
	done.Store(true)
	following.Wait()
}

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
		writes  = 250
		readers = 3
	)
	ctx := h.t.Context()
	var writers []func()
	for shard := range uint64(shards) {
		writers = append(writers, func() {
			for v := int64(1); v <= writes; v++ {
				o := newOffset("p", shard, v, v)
				if err := h.store.WriteOffset(ctx, o); err != nil {
					h.errorf("%s = %v; want <nil>", writeCall(o).name, err)
					return
				}
			}
		})
	}
	var followers []func() bool
	for range readers {
		// Offsets go backwards only if the same reader sees them do so,
		// so each reader keeps its own record of what it read.
		last := make([]*egopb.Offset, shards)
		followers = append(followers, func() bool {
			for shard := range uint64(shards) {
				o, ok := h.readOnward(ctx, newID("p", shard), last[shard])
				if !ok {
					return false
				}
				last[shard] = o
			}
			return true
		})
	}
	race(writers, followers)
	for shard := range uint64(shards) {
		h.wantStored(newOffset("p", shard, writes, writes))
	}
}

func testConnectionChurn(h *harness) {
	const (
		churners = 2
		rounds   = 100
		workers  = 3
	)
	ctx := h.t.Context()
	var drivers []func()
	for range churners {
		drivers = append(drivers, func() {
			for range rounds {
				for _, c := range []call{disconnectCall, pingCall, disconnectCall, connectCall} {
					if got, err := c.do(ctx, h.store); err != nil {
						h.errorf("%s = %s; want <nil>", c.name, got)
						return
					}
				}
			}
		})
	}
	var followers []func() bool
	for shard := range uint64(workers) {
		calls := []call{writeCall(newOffset("p", shard, 1, 1)), getCall(newID("p", shard)), resetCall("p", 2)}
		followers = append(followers, func() bool {
			for _, c := range calls {
				if got, err := c.do(ctx, h.store); err != nil && !errors.Is(err, offsetstore.ErrNotConnected) {
					h.errorf("%s = %s; want <nil> or an error wrapping offsetstore.ErrNotConnected", c.name, got)
					return false
				}
			}
			return true
		})
	}
	race(drivers, followers)
	// Every churner's last call is Connect, so whichever order they ran
	// in, the store must be connected now.
	h.wantUsable()
}
