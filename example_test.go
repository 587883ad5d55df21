package offsetstore_test

import (
	"context"
	"fmt"
	"log"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/memory"
)

// An operator's tool written against Admin runs on any store of this
// module; in a test, on the memory store.
func ExampleAdmin() {
	ctx := context.Background()
	var store offsetstore.Admin = memory.NewOffsetStore()
	if err := store.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	defer store.Disconnect(ctx)

	// Restore a backup: every offset, or none.
	err := store.WriteOffsets(ctx, []*egopb.Offset{
		{ProjectionName: "accounts", ShardNumber: 17, Value: 120, Timestamp: 1_700_000_000_000},
		{ProjectionName: "accounts", ShardNumber: 93, Value: 80, Timestamp: 1_700_000_000_500},
		{ProjectionName: "orders", ShardNumber: 5, Value: 7, Timestamp: 1_700_000_000_900},
	})
	if err != nil {
		log.Fatal(err)
	}

	summaries, err := store.Projections(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range summaries {
		fmt.Printf("%s: shards %d, values %d to %d\n", s.Name, s.Shards, s.MinValue, s.MaxValue)
	}

	// Rewind one shard, and see what it was.
	before, err := store.ResetShards(ctx, "accounts", 0, []uint64{93})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("reset shard", before[0].GetShardNumber(), "from", before[0].GetValue())

	// Delete every shard of a projection: nil means all of them.
	deleted, err := store.DeleteShards(ctx, "orders", nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("deleted", len(deleted), "offset of orders")

	offsets, err := store.Offsets(ctx, "accounts")
	if err != nil {
		log.Fatal(err)
	}
	for _, o := range offsets {
		fmt.Println("accounts shard", o.GetShardNumber(), "at", o.GetValue())
	}
	// Output:
	// accounts: shards 2, values 80 to 120
	// orders: shards 1, values 7 to 7
	// reset shard 93 from 80
	// deleted 1 offset of orders
	// accounts shard 17 at 120
	// accounts shard 93 at 0
}
