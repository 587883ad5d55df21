// Command nats runs the NATS JetStream offset store: against the servers of
// $OFFSETSTORE_NATS_URL, a single nats-server -js or a cluster, or, when
// it is unset, against a server it starts in its own process, storing in
// a temporary directory it removes, so that it runs on a fresh machine
// with nothing installed. It connects as eGo does (with Ping), commits
// offsets, reads them back and rewinds the projection, in the bucket
// offsetstore_example, which it creates: of three replicas on a cluster,
// of one on a single server.
//
//	go run ./examples/nats
//	OFFSETSTORE_NATS_URL=nats://127.0.0.1:4222 go run ./examples/nats
//	OFFSETSTORE_NATS_URL=nats://n1:4222,nats://n2:4222,nats://n3:4222 go run ./examples/nats
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/nats"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url := os.Getenv("OFFSETSTORE_NATS_URL")
	if url == "" {
		srv, dir, err := startServer()
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(dir)
		defer srv.Shutdown()
		url = srv.ClientURL()
		log.Printf("OFFSETSTORE_NATS_URL is unset: started a server in this process at %s", url)
	}
	if err := run(ctx, url, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// startServer starts a server with JetStream on a free port, storing in a
// new temporary directory.
func startServer() (*server.Server, string, error) {
	dir, err := os.MkdirTemp("", "offsetstore-nats-")
	if err != nil {
		return nil, "", err
	}
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir, NoSigs: true, NoLog: true})
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", err
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		os.RemoveAll(dir)
		return nil, "", fmt.Errorf("the in-process NATS server is not ready after 10s")
	}
	return srv, dir, nil
}

func run(ctx context.Context, url string, out io.Writer) error {
	store := nats.NewOffsetStore(url,
		nats.WithBucket("offsetstore_example"),
		// Or create the bucket once, with allow_atomic. The store makes
		// it of three replicas on a cluster, so that any one server may
		// go, and of one on a single server.
		nats.WithCreateBucket(),
	)
	// eGo never calls Connect: it pings the store before a projection
	// starts, and Ping connects.
	if err := store.Ping(ctx); err != nil {
		return err
	}
	defer store.Disconnect(context.Background())

	now := time.Now().UnixMilli()
	for shard, value := range []int64{15, 42} {
		err := store.WriteOffset(ctx, &egopb.Offset{ProjectionName: "accounts", ShardNumber: uint64(shard), Value: value, Timestamp: now})
		if err != nil {
			return err
		}
	}
	for shard := range uint64(2) {
		o, err := store.GetCurrentOffset(ctx, &egopb.ProjectionId{ProjectionName: "accounts", ShardNumber: shard})
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "accounts shard %d: offset %d\n", shard, o.GetValue())
	}

	// Rewind the projection, every shard at once.
	if err := store.ResetOffset(ctx, "accounts", 0); err != nil {
		return err
	}
	offsets, err := store.Offsets(ctx, "accounts")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "accounts after reset: %d shards, offsets %d and %d\n", len(offsets), offsets[0].Value, offsets[1].Value)
	return nil
}
