// Package projection is a stand-in for an eGo projection runner, small
// enough to read in a minute: a [Worker] handles the events of one shard in
// batches and commits its offset after each batch, retrying a failed
// commit. Its tests show how to test such code against the memory store
// without sleeping.
package projection

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
)

// Worker commits, for one projection, the offset it has reached on each
// shard it runs. It needs a Name and a Store; the other fields may be left
// zero.
type Worker struct {
	Name  string
	Store offsetstore.OffsetStore
	// Batch is how many events are handled between two commits; 0 or
	// less commits after every event.
	Batch int
	// Attempts is how many times a commit is tried before Run gives up;
	// 0 or less tries once.
	Attempts int
	// Backoff is the pause before the first retry; it doubles before each
	// further one. There is no pause after the last attempt.
	Backoff time.Duration
}

// Run handles events, the offsets of one shard in order, starting after
// the offset the store holds for it, and commits after every batch.
func (w *Worker) Run(ctx context.Context, shard uint64, events []int64) error {
	if w.Store == nil {
		return fmt.Errorf("projection %s shard %d: the Worker has no Store", w.Name, shard)
	}
	current, err := w.Store.GetCurrentOffset(ctx, &egopb.ProjectionId{ProjectionName: w.Name, ShardNumber: shard})
	if err != nil {
		return fmt.Errorf("projection %s shard %d: read offset: %w", w.Name, shard, err)
	}
	var done int64 // nil means start from the beginning
	if current != nil {
		done = current.GetValue()
	}
	size := max(w.Batch, 1)
	for batch := range slices.Chunk(events, size) {
		last := batch[len(batch)-1]
		if last <= done {
			continue
		}
		// A real projection would apply the batch to a read model here.
		if err := w.commit(ctx, shard, last); err != nil {
			return err
		}
		done = last
	}
	return nil
}

func (w *Worker) commit(ctx context.Context, shard uint64, value int64) error {
	offset := &egopb.Offset{ProjectionName: w.Name, ShardNumber: shard, Value: value, Timestamp: time.Now().UnixMilli()}
	attempts := max(w.Attempts, 1)
	backoff := w.Backoff
	for attempt := 1; ; attempt++ {
		err := w.Store.WriteOffset(ctx, offset)
		if err == nil {
			return nil
		}
		if attempt == attempts {
			return fmt.Errorf("projection %s shard %d: commit offset %d, %d attempts: %w", w.Name, shard, value, attempts, err)
		}
		select {
		case <-time.After(backoff):
			backoff *= 2
		case <-ctx.Done():
			return fmt.Errorf("projection %s shard %d: commit offset %d: %w", w.Name, shard, value, ctx.Err())
		}
	}
}
