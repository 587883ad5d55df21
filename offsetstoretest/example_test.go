package offsetstoretest_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/offsetstoretest"
)

// A projection that commits its offset must retry when the store is down.
// Here the store fails the first two writes, as a database that is
// restarting would.
func ExampleFaultyStore() {
	ctx := context.Background()
	store := offsetstoretest.NewFaultyStore(newReferenceStore())
	if err := store.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	store.FailNext(offsetstoretest.OpWriteOffset, 2, errors.New("database is down"))

	offset := &egopb.Offset{ProjectionName: "accounts", ShardNumber: 1, Value: 42, Timestamp: 1_700_000_000_000}
	for attempt := 1; ; attempt++ {
		err := store.WriteOffset(ctx, offset)
		if err == nil {
			fmt.Printf("attempt %d: committed offset %d\n", attempt, offset.Value)
			break
		}
		fmt.Printf("attempt %d: %v\n", attempt, err)
	}
	fmt.Println("WriteOffset calls:", store.Calls(offsetstoretest.OpWriteOffset))

	stored, err := store.GetCurrentOffset(ctx, &egopb.ProjectionId{ProjectionName: "accounts", ShardNumber: 1})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("stored offset:", stored.GetValue())
	// Output:
	// attempt 1: database is down
	// attempt 2: database is down
	// attempt 3: committed offset 42
	// WriteOffset calls: 3
	// stored offset: 42
}
