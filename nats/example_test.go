package nats_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ego-contrib/offsetstore/egopb"
	offsetnats "github.com/ego-contrib/offsetstore/nats"
)

// On a cluster of three servers, a bucket of three replicas keeps every
// acknowledged offset, and takes writes, while any one server is away.
func ExampleNewOffsetStore() {
	ctx := context.Background()
	store := offsetnats.NewOffsetStore("nats://n1:4222,nats://n2:4222,nats://n3:4222",
		offsetnats.WithCreateBucket(), // or create it once, with allow_atomic
		offsetnats.WithReplicas(3),    // used when the store creates the bucket
	)
	// eGo calls Ping, never Connect, before a projection starts: Ping connects.
	if err := store.Ping(ctx); err != nil {
		log.Fatal(err)
	}
	// eGo never calls Disconnect: the program does.
	defer store.Disconnect(ctx)

	err := store.WriteOffset(ctx, &egopb.Offset{
		ProjectionName: "accounts", ShardNumber: 142, Value: 15, Timestamp: time.Now().UnixMilli(),
	})
	if err != nil {
		log.Fatal(err)
	}
	current, err := store.GetCurrentOffset(ctx, &egopb.ProjectionId{ProjectionName: "accounts", ShardNumber: 142})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(current.GetValue())
}

// With WithConn, the store uses the application's own connection, and the
// URL is empty: the connection says where the servers are.
func ExampleWithConn() {
	ctx := context.Background()
	nc, err := nats.Connect(os.Getenv("OFFSETSTORE_NATS_URL"), nats.MaxReconnects(-1))
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()

	store := offsetnats.NewOffsetStore("", offsetnats.WithConn(nc), offsetnats.WithBucket("offsets_store"))
	if err := store.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	defer store.Disconnect(ctx) // leaves nc open
}
