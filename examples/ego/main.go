// Command ego hands an in-memory offset store of this module to eGo in one
// line, then uses it as eGo's projections do: Ping, read each shard's
// offset once at start, commit after handling events, resume after a
// restart.
//
// eGo cannot be downloaded where this module is built, so two things stand
// in for it here: the package egopb beside this file for
// github.com/tochemey/ego/v4/egopb, and the interface offsetStore below for
// github.com/tochemey/ego/v4/offsetstore.OffsetStore. In a program that uses
// eGo, import eGo's instead; the line that hands the store over stays as it
// is.
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/ego-contrib/offsetstore/egoadapter"
	"github.com/ego-contrib/offsetstore/examples/ego/egopb"
	"github.com/ego-contrib/offsetstore/memory"
)

// offsetStore is eGo v4's offsetstore.OffsetStore, as eGo declares it.
type offsetStore interface {
	Connect(ctx context.Context) error
	Disconnect(ctx context.Context) error
	Ping(ctx context.Context) error
	WriteOffset(ctx context.Context, offset *egopb.Offset) error
	GetCurrentOffset(ctx context.Context, projectionID *egopb.ProjectionId) (current *egopb.Offset, err error)
	ResetOffset(ctx context.Context, projectionName string, value int64) error
}

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, w io.Writer) error {
	// The one line: this module's store, with eGo's method set over eGo's
	// messages. It goes wherever eGo takes an offsetstore.OffsetStore.
	store := egoadapter.ToEgo[egopb.Offset, egopb.ProjectionId](memory.NewOffsetStore())
	defer store.Disconnect(ctx)

	// eGo spreads entities over 271 partitions by hash, so a projection's
	// shards are a few scattered numbers. Each event is known by its time,
	// in Unix nanoseconds, which eGo commits as the offset's Value.
	events := map[uint64][]int64{
		142: {1_764_150_000_000_000_001, 1_764_150_000_000_000_004},
		17:  {1_764_150_000_000_000_002},
		250: {1_764_150_000_000_000_003, 1_764_150_000_000_000_005},
	}
	fmt.Fprintln(w, "first start:")
	if err := project(ctx, w, store, "accounts", events); err != nil {
		return err
	}

	events[17] = append(events[17], 1_764_150_000_000_000_006)
	fmt.Fprintln(w, "after a restart:")
	return project(ctx, w, store, "accounts", events)
}

// project does with store what an eGo projection does when it starts: it
// pings the store (eGo never calls Connect, and Ping connects), reads each
// shard's offset once, and handles the events after it, committing the
// offset of each.
func project(ctx context.Context, w io.Writer, store offsetStore, name string, events map[uint64][]int64) error {
	if err := store.Ping(ctx); err != nil {
		return fmt.Errorf("ping offset store: %w", err)
	}
	for _, shard := range slices.Sorted(maps.Keys(events)) {
		current, err := store.GetCurrentOffset(ctx, &egopb.ProjectionId{ProjectionName: name, ShardNumber: shard})
		if err != nil {
			return fmt.Errorf("read offset of %s shard %d: %w", name, shard, err)
		}
		// No offset yet (nil) means from the beginning: GetValue of nil is 0.
		start := current.GetValue()
		handled := 0
		for _, at := range events[shard] {
			if at <= start {
				continue
			}
			handled++
			offset := &egopb.Offset{ShardNumber: shard, ProjectionName: name, Value: at, Timestamp: time.Now().UnixMilli()}
			if err := store.WriteOffset(ctx, offset); err != nil {
				return fmt.Errorf("commit offset of %s shard %d: %w", name, shard, err)
			}
		}
		fmt.Fprintf(w, "  %s shard %d: started after %d, events handled: %d\n", name, shard, start, handled)
	}
	return nil
}
