package nats_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/natstest"
	offsetnats "github.com/ego-contrib/offsetstore/nats"
)

// TestOffsetStore_Connect_RefusesBucketsOf0_1_0 checks that Connect
// refuses a bucket written by version 0.1.0, whose projection keys
// <name>.p hold a reset or deletion record that this version would not
// apply (bringing back the values it replaced), and says how to migrate;
// and that a bucket this version wrote, resets and deletions included,
// connects.
func TestOffsetStore_Connect_RefusesBucketsOf0_1_0(t *testing.T) {
	t.Parallel()
	c := natstest.RunServer(t)
	ctx := t.Context()
	bucket := newBucket()
	current := connectedStore(t, c, 1, offsetnats.WithBucket(bucket))
	for _, name := range []string{"reset", "deleted"} {
		if err := current.WriteOffset(ctx, &egopb.Offset{ProjectionName: name, ShardNumber: 1, Value: 100, Timestamp: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := current.ResetOffset(ctx, "reset", 5); err != nil {
		t.Fatal(err)
	}
	if _, err := current.DeleteShards(ctx, "deleted", nil); err != nil {
		t.Fatal(err)
	}
	again := offsetnats.NewOffsetStore(c.URL(), offsetnats.WithBucket(bucket))
	if err := again.Connect(ctx); err != nil {
		t.Fatalf("Connect(ctx) on a bucket this version reset and deleted in = %v; want <nil>", err)
	}
	disconnectOnCleanup(t, again)

	_, js := jsOn(t, c.URL())
	for _, record := range []string{"reset 5 1700000000000 0", "delete"} {
		t.Run(strings.Fields(record)[0], func(t *testing.T) {
			old := newBucket()
			kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: old})
			if err != nil {
				t.Fatal(err)
			}
			name := base64.RawURLEncoding.EncodeToString([]byte("accounts"))
			if _, err := kv.Put(ctx, name+".0000000000000001", []byte("100 1")); err != nil {
				t.Fatal(err)
			}
			if _, err := kv.Put(ctx, name+".p", []byte(record)); err != nil {
				t.Fatal(err)
			}
			store := offsetnats.NewOffsetStore(c.URL(), offsetnats.WithBucket(old), offsetnats.WithCreateBucket())
			err = store.Connect(ctx)
			if !errors.Is(err, offsetnats.ErrBucketSettings) || !strings.Contains(err.Error(), "0.1.0") || !strings.Contains(err.Error(), "import") {
				t.Errorf("Connect(ctx) on a bucket of 0.1.0 with the record %q = %v; want an error wrapping ErrBucketSettings that names 0.1.0 and how to migrate", record, err)
			}
			if err == nil {
				_ = store.Disconnect(ctx)
			}
		})
	}
}
