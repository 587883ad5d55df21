package nats_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/natstest"
	offsetnats "github.com/ego-contrib/offsetstore/nats"
)

// refuseOnce returns a batch answer (offsetnats.WithBatchAnswer) that,
// once armed, lets the servers store the next batch, calls meanwhile,
// and answers it with a refusal of code: what the store gets when a
// server cut off from the others, which still believes it leads, answers
// first once the cut heals, while the real leader stores the batch.
func refuseOnce(armed *atomic.Bool, code int, meanwhile func()) offsetnats.Option {
	return offsetnats.WithBatchAnswer(func(seq uint64, err error) (uint64, error) {
		if err != nil || !armed.CompareAndSwap(true, false) {
			return seq, err
		}
		if meanwhile != nil {
			meanwhile()
		}
		return 0, offsetnats.Refusal(code)
	})
}

// TestOffsetStore_ResetShards_RefusedButStored checks that a ResetShards
// whose batch was stored, but answered with a failed condition (10071),
// returns the offsets its batch changed, as they were before it: not
// what it reads after its own batch, which is its own value.
func TestOffsetStore_ResetShards_RefusedButStored(t *testing.T) {
	t.Parallel()
	c := natstest.RunServer(t)
	var armed atomic.Bool
	store := connectedStore(t, c, 1, refuseOnce(&armed, 10071, nil))
	mustWrite(t, store, &egopb.Offset{ProjectionName: "p", ShardNumber: 0, Value: 5, Timestamp: 50})
	mustWrite(t, store, &egopb.Offset{ProjectionName: "p", ShardNumber: 1, Value: 10, Timestamp: 100})
	armed.Store(true)
	got, err := store.ResetShards(t.Context(), "p", -69, []uint64{1})
	if err != nil || len(got) != 1 || got[0].GetShardNumber() != 1 || got[0].GetValue() != 10 || got[0].GetTimestamp() != 100 {
		t.Fatalf("ResetShards(ctx, p, -69, [1]), its stored batch answered 10071, = %v, %v; want [shard 1: 10 @100], <nil>: a reset returns what it changed, as it was before (rule 9)", got, err)
	}
	if armed.Load() {
		t.Fatal("the batch was not refused: the test tested nothing")
	}
	o, err := store.GetCurrentOffset(t.Context(), &egopb.ProjectionId{ProjectionName: "p", ShardNumber: 1})
	if err != nil || o.GetValue() != -69 {
		t.Errorf("GetCurrentOffset(ctx, {p 1}) after the reset = %v, %v; want -69, <nil>", o, err)
	}
}

// TestOffsetStore_WriteOffsets_RefusedButStored checks that a
// WriteOffsets whose batch was stored, but answered with "incomplete
// batch" (10176), which the store sends again when it is true, is not
// stored again: between the two, a read saw it, and another store's
// write to the same shard was acknowledged, which a second copy would
// overwrite.
func TestOffsetStore_WriteOffsets_RefusedButStored(t *testing.T) {
	t.Parallel()
	c := natstest.RunServer(t)
	bucket := newBucket()
	other := connectedStore(t, c, 1, offsetnats.WithBucket(bucket))
	var armed atomic.Bool
	var seen *egopb.Offset
	var meanwhileErr error
	store := storeAt(t, c.Servers[0], bucket, refuseOnce(&armed, 10176, func() {
		ctx := context.Background()
		seen, meanwhileErr = other.GetCurrentOffset(ctx, &egopb.ProjectionId{ProjectionName: "p", ShardNumber: 1})
		meanwhileErr = errors.Join(meanwhileErr, other.WriteOffset(ctx, &egopb.Offset{ProjectionName: "p", ShardNumber: 1, Value: 30, Timestamp: 300}))
	}))
	armed.Store(true)
	if err := store.WriteOffsets(t.Context(), []*egopb.Offset{{ProjectionName: "p", ShardNumber: 1, Value: 20, Timestamp: 200}}); err != nil {
		t.Fatalf("WriteOffsets(ctx, [p/1: 20]), its stored batch answered 10176, = %v; want <nil>: it was stored", err)
	}
	if meanwhileErr != nil || seen.GetValue() != 20 {
		t.Fatalf("between the batch and its answer, GetCurrentOffset then WriteOffset(30) through another store = %v, %v; want 20, <nil>", seen, meanwhileErr)
	}
	o, err := store.GetCurrentOffset(t.Context(), &egopb.ProjectionId{ProjectionName: "p", ShardNumber: 1})
	if err != nil || o.GetValue() != 30 || o.GetTimestamp() != 300 {
		t.Errorf("GetCurrentOffset(ctx, {p 1}) = %v, %v; want 30 @300, <nil>: the write of 30, acknowledged after a read saw 20, must not be overwritten by 20 sent again", o, err)
	}
}
