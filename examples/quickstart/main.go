// Command quickstart is the README's Quickstart: it connects an in-memory
// offset store, commits an offset, reads it back, resets the projection and
// reads the reset value.
package main

import (
	"context"
	"log"
	"time"

	"github.com/ego-contrib/offsetstore/egopb"
	memory "github.com/ego-contrib/offsetstore/memory"
)

func main() {
	ctx := context.Background()

	// keep offsets during reconnects in tests
	store := memory.NewOffsetStore(memory.WithKeepRecordsAfterDisconnect())

	if err := store.Connect(ctx); err != nil {
		log.Fatalf("connect offset store: %v", err)
	}
	defer store.Disconnect(ctx)

	offset := &egopb.Offset{
		ShardNumber:    0,
		ProjectionName: "accounts-projection",
		Value:          15,
		Timestamp:      time.Now().UnixMilli(),
	}

	if err := store.WriteOffset(ctx, offset); err != nil {
		log.Fatalf("write offset: %v", err)
	}

	id := &egopb.ProjectionId{
		ShardNumber:    0,
		ProjectionName: "accounts-projection",
	}
	current, err := store.GetCurrentOffset(ctx, id)
	if err != nil {
		log.Fatalf("read offset: %v", err)
	}
	log.Printf("current offset: %d", current.GetValue())

	if err := store.ResetOffset(ctx, "accounts-projection", 0); err != nil {
		log.Fatalf("reset offset: %v", err)
	}

	current, err = store.GetCurrentOffset(ctx, id)
	if err != nil {
		log.Fatalf("read offset: %v", err)
	}
	log.Printf("offset after reset: %d", current.GetValue())
}
