package nats_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/ego-contrib/offsetstore/internal/natstest"
	offsetnats "github.com/ego-contrib/offsetstore/nats"
)

// TestOffsetStore_Snapshot_MoreThan100000Keys checks that Snapshot
// returns every offset of a bucket of more than 100,000 keys, or fails:
// with more than 1024 keys it lists the bucket's projections with a
// stream info of its subjects, which a server answers with 100,000
// subjects at most (JSMaxSubjectDetails in server/jetstream_api.go),
// saying how many there are in total. 101 projections of 1,000 shards
// are written as the store writes them ("<value> <timestamp>" at
// <base64url(name)>.<shard as 16 hex digits>), directly, to keep the test
// short. It runs with OFFSETSTORE_NATS_FAULTS=1, with the long tests.
func TestOffsetStore_Snapshot_MoreThan100000Keys(t *testing.T) {
	if os.Getenv(faultsVariable) != "1" {
		t.Skipf("writes a bucket of 101,000 keys: set %s=1 to run it", faultsVariable)
	}
	t.Parallel()
	c := natstest.RunServer(t)
	bucket := newBucket()
	store := newStore(t, c, 1, offsetnats.WithBucket(bucket))
	ctx := t.Context()
	if err := store.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	_, js := jsOn(t, c.URL())
	const projections, shards = 101, 1000
	start := time.Now()
	for p := range projections {
		name := fmt.Sprintf("p%03d", p)
		for shard := range uint64(shards) {
			if _, err := js.PublishAsync(shardSubject(bucket, name, shard), fmt.Appendf(nil, "%d 1", shard+1)); err != nil {
				t.Fatal(err)
			}
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		t.Fatal("publishes not acknowledged after a minute")
	}
	t.Logf("wrote %d keys in %v", projections*shards, time.Since(start))
	start = time.Now()
	got, err := store.Snapshot(ctx)
	t.Logf("Snapshot in %v", time.Since(start))
	if err == nil && len(got) != projections*shards {
		t.Errorf("Snapshot(ctx) = %d offsets, <nil>; want %d offsets, or an error: a snapshot returns every offset of the bucket", len(got), projections*shards)
	}
	sums, err := store.Projections(ctx)
	if err == nil && len(sums) != projections {
		t.Errorf("Projections(ctx) = %d projections, <nil>; want %d, or an error", len(sums), projections)
	}
}
