package nats_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/natstest"
	offsetnats "github.com/ego-contrib/offsetstore/nats"
)

// callerDelay is how long the proxy of a slow caller holds what it sends:
// long enough for a fast store to make and read a change in between,
// however loaded the machine (the tests check that it did).
const callerDelay = 250 * time.Millisecond

// TestOffsetStore_MonotonicWrites_ResetMeanwhile checks rule 12 against a
// reset that lands between a monotonic write's read and its write: a
// caller far from its server (what it sends held 250 ms) writes 150 to a
// shard holding 100, and while its write is on the way, a fast store
// resets the projection to 1000 and reads 1000 back. The write must then
// be refused with ErrOffsetRegression, and the shard keep 1000, through
// WriteOffset and WriteOffsets alike.
func TestOffsetStore_MonotonicWrites_ResetMeanwhile(t *testing.T) {
	t.Parallel()
	c := natstest.RunServer(t)
	bucket := newBucket()
	fast := connectedStore(t, c, 1, offsetnats.WithBucket(bucket))
	slow, proxy := slowStore(t, c.Servers[0], callerDelay, offsetnats.WithBucket(bucket), offsetnats.WithMonotonicWrites())
	for _, tc := range []struct {
		name  string
		write func(context.Context, *egopb.Offset) error
	}{
		{"WriteOffset", func(ctx context.Context, o *egopb.Offset) error { return slow.WriteOffset(ctx, o) }},
		{"WriteOffsets", func(ctx context.Context, o *egopb.Offset) error { return slow.WriteOffsets(ctx, []*egopb.Offset{o}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			name := "monotonic-" + tc.name
			mustWrite(t, fast, offset(name, 0, 100, 1))
			var read *egopb.Offset
			var resetErr, readErr error
			var took time.Duration
			// The write is the publish to the shard's subject, after the
			// read: reset once the proxy holds it.
			wait := onFirst(t, proxy, func() {
				start := time.Now()
				resetErr = fast.ResetOffset(ctx, name, 1000)
				read, readErr = fast.GetCurrentOffset(ctx, id(name, 0))
				took = time.Since(start)
			}, "PUB "+shardSubject(bucket, name, 0)+" ")
			err := tc.write(ctx, offset(name, 0, 150, 2))
			wait()
			switch {
			case resetErr != nil || readErr != nil || read == nil || read.Value != 1000:
				t.Fatalf("setup: ResetOffset(ctx, %s, 1000) = %v, then GetCurrentOffset = %v, %v; want <nil>, then value 1000", name, resetErr, read, readErr)
			case took >= callerDelay:
				t.Fatalf("setup: the reset and read took %v, not less than the %v the write was held: the test did not race them", took, callerDelay)
			}
			if !errors.Is(err, offsetstore.ErrOffsetRegression) {
				t.Errorf("%s(ctx, {%s 0 150}) sent before ResetOffset(ctx, %s, 1000) and landing after it was read = %v; want an error wrapping ErrOffsetRegression: rule 12, later writes count from the reset value", tc.name, name, name, err)
			}
			wantOffset(t, fast, name, 0, &egopb.Offset{ProjectionName: name, ShardNumber: 0, Value: 1000, Timestamp: read.Timestamp})
		})
	}
	proxy.Watch(nil)
}
