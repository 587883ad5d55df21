package nats_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/natstest"
	offsetnats "github.com/ego-contrib/offsetstore/nats"
)

// TestOffsetStore_Offsets_AnswerCutAtServerMaxPending checks that Offsets
// and Snapshot never return part of a projection as the whole of it when
// the server cuts its direct get's answer short: a server stops a
// multi_last answer once it sent max_bytes, by default its max_pending
// (getDirectMulti in server/stream.go), and says how many it left out in
// the end of the batch (Nats-Num-Pending). Here max_pending is 1 MB, as
// large as the default max_payload, and a projection of 999 shards whose
// name is 1,000 bytes long (MaxNameBytes allows 1,024) makes an answer of
// about 1.4 MB. A read must then fail, or read the rest; never return the
// part that came as if it were all.
func TestOffsetStore_Offsets_AnswerCutAtServerMaxPending(t *testing.T) {
	t.Parallel()
	srv := natstest.RunServerWith(t, func(opts *server.Options) { opts.MaxPending = 1 << 20 }).Servers[0].Raw()
	store := offsetnats.NewOffsetStore(srv.ClientURL(), offsetnats.WithBucket(newBucket()), offsetnats.WithCreateBucket(), offsetnats.WithReplicas(1))
	ctx := t.Context()
	if err := store.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	disconnectOnCleanup(t, store)
	name := strings.Repeat("n", 1000)
	const shards = 999
	var offsets []*egopb.Offset
	for shard := range uint64(shards) {
		offsets = append(offsets, &egopb.Offset{ProjectionName: name, ShardNumber: shard, Value: 1000 + int64(shard), Timestamp: 1})
	}
	for chunk := range slices.Chunk(offsets, offsetnats.MaxWriteOffsets) {
		if err := store.WriteOffsets(ctx, chunk); err != nil {
			t.Fatalf("WriteOffsets(ctx, %d offsets) = %v; want <nil>", len(chunk), err)
		}
	}
	got, err := store.Offsets(ctx, name)
	if err == nil && len(got) != shards || err != nil && !strings.Contains(err.Error(), "max_pending") {
		t.Errorf("Offsets(ctx, <name of 1,000 bytes>) = %d offsets, %v; want %d offsets, or an error that names max_pending: a read returns every acknowledged offset, never the part of them a server sent before max_pending cut its answer", len(got), err, shards)
	}
	// The server also drops the client as a slow consumer, which it then
	// waits for: bound the wait.
	sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	all, err := store.Snapshot(sctx)
	if err == nil && len(all) != shards {
		t.Errorf("Snapshot(ctx) = %d offsets, <nil>; want %d offsets, or an error: a read returns every acknowledged offset", len(all), shards)
	}
	t.Logf("slow consumers: %d", srv.NumSlowConsumers())
}
