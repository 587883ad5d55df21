package egoadapter_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egoadapter"
	"github.com/ego-contrib/offsetstore/egoadapter/internal/egotestpb"
	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/memory"
)

// egotestpb stands in for eGo's egopb here: its messages have eGo's shape.
func ExampleToEgo() {
	ctx := context.Background()
	store := egoadapter.ToEgo[egotestpb.Offset, egotestpb.ProjectionId](memory.NewOffsetStore())

	// eGo never calls Connect, only Ping, which connects the store.
	if err := store.Ping(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer store.Disconnect(ctx)

	offset := &egotestpb.Offset{ShardNumber: 142, ProjectionName: "accounts", Value: 1_764_150_000_000_000_001, Timestamp: 1_764_150_000_000}
	if err := store.WriteOffset(ctx, offset); err != nil {
		fmt.Println(err)
		return
	}
	current, err := store.GetCurrentOffset(ctx, &egotestpb.ProjectionId{ProjectionName: "accounts", ShardNumber: 142})
	fmt.Printf("%T %d %v\n", current, current.GetValue(), err)

	// A shard with no offset: nil, nil, and eGo starts from the beginning.
	current, err = store.GetCurrentOffset(ctx, &egotestpb.ProjectionId{ProjectionName: "accounts", ShardNumber: 17})
	fmt.Println(current == nil, err)
	// Output:
	// *egotestpb.Offset 1764150000000000001 <nil>
	// true <nil>
}

func ExampleFromEgo() {
	ctx := context.Background()
	// In a test of a store written for eGo, that store goes here; this one is
	// the memory store, seen through eGo's method set.
	var egoStore egoadapter.EgoOffsetStore[egotestpb.Offset, egotestpb.ProjectionId] = egoadapter.ToEgo[egotestpb.Offset, egotestpb.ProjectionId](memory.NewOffsetStore())

	// store is an offsetstore.OffsetStore, so offsetstoretest.Run can check it.
	store := egoadapter.FromEgo[egotestpb.Offset, egotestpb.ProjectionId](egoStore)
	if err := store.Connect(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer store.Disconnect(ctx)

	err := store.WriteOffset(ctx, nil)
	fmt.Println(errors.Is(err, offsetstore.ErrInvalidArgument))
	current, err := store.GetCurrentOffset(ctx, &egopb.ProjectionId{ProjectionName: "accounts", ShardNumber: 3})
	fmt.Println(current == nil, err)
	// Output:
	// true
	// true <nil>
}
