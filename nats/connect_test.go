package nats_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/natstest"
	offsetnats "github.com/ego-contrib/offsetstore/nats"
)

// connectBoth calls Connect on one store and Ping on another made with
// the same options, since eGo connects through Ping, and returns both
// errors, disconnecting whatever connected.
func connectBoth(t *testing.T, url string, opts ...offsetnats.Option) map[string]error {
	t.Helper()
	errs := make(map[string]error)
	for _, call := range []string{"Connect", "Ping"} {
		store := offsetnats.NewOffsetStore(url, opts...)
		if call == "Connect" {
			errs[call] = store.Connect(t.Context())
		} else {
			errs[call] = store.Ping(t.Context())
		}
		_ = store.Disconnect(context.Background())
	}
	return errs
}

// kvStream returns the configuration of a KeyValue bucket's stream as the
// store creates it, taking atomic batches.
func kvStream(bucket string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:               "KV_" + bucket,
		Subjects:           []string{"$KV." + bucket + ".>"},
		MaxMsgsPerSubject:  1,
		MaxMsgs:            -1,
		MaxBytes:           -1,
		MaxMsgSize:         -1,
		MaxConsumers:       -1,
		Storage:            jetstream.FileStorage,
		Replicas:           1,
		AllowRollup:        true,
		DenyDelete:         true,
		Discard:            jetstream.DiscardNew,
		AllowDirect:        true,
		AllowAtomicPublish: true,
	}
}

// jetStream is jsOn's JetStream context alone.
func jetStream(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	_, js := jsOn(t, url)
	return js
}

// TestOffsetStore_Connect_RefusesServersBefore2_12 starts a real
// nats-server 2.11.0, which ignores allow_atomic (so that atomic batches
// are plain messages there, and a concurrent write can slip into a
// reset), and checks that Connect and Ping refuse it, naming the version
// and 2.12, whether they would create the bucket or find it made.
func TestOffsetStore_Connect_RefusesServersBefore2_12(t *testing.T) {
	srv := natstest.RunRelease(t, "v2.11.0")
	existing := newBucket()
	// A bucket made on 2.11 with allow_atomic asked for, which the
	// server drops.
	if _, err := jetStream(t, srv.URL()).CreateStream(t.Context(), kvStream(existing)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts []offsetnats.Option
	}{
		{"WithCreateBucket", []offsetnats.Option{offsetnats.WithBucket(newBucket()), offsetnats.WithCreateBucket()}},
		{"WithCreateBucket on a bucket made", []offsetnats.Option{offsetnats.WithBucket(existing), offsetnats.WithCreateBucket()}},
		{"a bucket made", []offsetnats.Option{offsetnats.WithBucket(existing)}},
	} {
		for call, err := range connectBoth(t, srv.URL(), tc.opts...) {
			if !errors.Is(err, offsetnats.ErrServerVersion) || !strings.Contains(err.Error(), "2.11.0") || !strings.Contains(err.Error(), "2.12") {
				t.Errorf("%s(ctx) on nats-server 2.11.0 (%s) = %v; want an error wrapping ErrServerVersion that names 2.11.0 and 2.12: a server before 2.12 ignores atomic batches", call, tc.name, err)
			}
		}
	}

	// Past the version's check, the bucket's is the next line of defence:
	// the store reads back what the server made of allow_atomic.
	for _, bucket := range []string{newBucket(), existing} {
		opts := []offsetnats.Option{offsetnats.WithBucket(bucket), offsetnats.WithCreateBucket(), offsetnats.WithMinServerVersion(2, 11)}
		for call, err := range connectBoth(t, srv.URL(), opts...) {
			if !errors.Is(err, offsetnats.ErrBucketSettings) || !strings.Contains(err.Error(), "allow_atomic") {
				t.Errorf("%s(ctx) on nats-server 2.11.0, its version let through, WithCreateBucket (bucket %s) = %v; want an error wrapping ErrBucketSettings that names allow_atomic: the server dropped it", call, bucket, err)
			}
		}
	}
}

// TestOffsetStore_Connect_RefusesBucketsThatLoseOffsets creates buckets
// whose streams take atomic batches but have a setting under which an
// acknowledged offset could be lost or go back, and checks that Connect
// and Ping refuse each, with and without WithCreateBucket, naming the
// setting; and that settings which lose nothing are accepted.
func TestOffsetStore_Connect_RefusesBucketsThatLoseOffsets(t *testing.T) {
	c := natstest.RunServer(t)
	js := jetStream(t, c.URL())
	for _, tc := range []struct {
		name    string
		change  func(cfg *jetstream.StreamConfig)
		setting string // what the error must name; "" if the bucket is fine
	}{
		{"a TTL", func(cfg *jetstream.StreamConfig) { cfg.MaxAge = time.Hour }, "max_age"},
		{"max_msgs discarding old", func(cfg *jetstream.StreamConfig) {
			cfg.MaxMsgs, cfg.Discard = 1000, jetstream.DiscardOld
		}, "max_msgs"},
		{"max_bytes discarding old", func(cfg *jetstream.StreamConfig) {
			cfg.MaxBytes, cfg.Discard = 1<<20, jetstream.DiscardOld
		}, "max_bytes"},
		{"memory storage", func(cfg *jetstream.StreamConfig) { cfg.Storage = jetstream.MemoryStorage }, "storage"},
		{"interest retention", func(cfg *jetstream.StreamConfig) { cfg.Retention = jetstream.InterestPolicy }, "retention"},
		{"work queue retention", func(cfg *jetstream.StreamConfig) { cfg.Retention = jetstream.WorkQueuePolicy }, "retention"},
		{"discard new per subject", func(cfg *jetstream.StreamConfig) { cfg.DiscardNewPerSubject = true }, "discard_new_per_subject"},
		{"subjects of another bucket", func(cfg *jetstream.StreamConfig) { cfg.Subjects = []string{"$KV.elsewhere.>"} }, "subjects"},
		{"a subject transform", func(cfg *jetstream.StreamConfig) {
			cfg.SubjectTransform = &jetstream.SubjectTransformConfig{Source: cfg.Subjects[0], Destination: "moved.>"}
		}, "subject_transform"},
		{"no acknowledgements", func(cfg *jetstream.StreamConfig) { cfg.NoAck = true }, "no_ack"},
		{"a duplicate window of 1s", func(cfg *jetstream.StreamConfig) { cfg.Duplicates = time.Second }, "duplicate_window"},

		{"the store's own", func(cfg *jetstream.StreamConfig) {}, ""},
		{"max_msgs discarding new", func(cfg *jetstream.StreamConfig) { cfg.MaxMsgs = 1000 }, ""},
		{"a history of 64", func(cfg *jetstream.StreamConfig) {
			cfg.MaxMsgsPerSubject, cfg.Discard = 64, jetstream.DiscardOld
		}, ""},
	} {
		bucket := newBucket()
		cfg := kvStream(bucket)
		tc.change(&cfg)
		if _, err := js.CreateStream(t.Context(), cfg); err != nil {
			t.Fatalf("CreateStream(ctx, %s) = %v", tc.name, err)
		}
		for _, create := range []bool{false, true} {
			opts := []offsetnats.Option{offsetnats.WithBucket(bucket)}
			if create {
				opts = append(opts, offsetnats.WithCreateBucket())
			}
			for call, err := range connectBoth(t, c.URL(), opts...) {
				switch {
				case tc.setting == "" && err != nil:
					t.Errorf("%s(ctx) on a bucket with %s (WithCreateBucket %t) = %v; want <nil>: it loses no offset", call, tc.name, create, err)
				case tc.setting != "" && (!errors.Is(err, offsetnats.ErrBucketSettings) || !strings.Contains(err.Error(), tc.setting)):
					t.Errorf("%s(ctx) on a bucket with %s (WithCreateBucket %t) = %v; want an error wrapping ErrBucketSettings that names %s: an acknowledged offset could be lost",
						call, tc.name, create, err, tc.setting)
				}
			}
		}
	}
}

// TestOffsetStore_Connect_BadBucketNames checks that a bucket name the
// store cannot use is refused with ErrInvalidArgument before anything is
// asked of the server, and that a bucket the server refuses to create
// gives ErrInvalidArgument too, not the server's error alone.
func TestOffsetStore_Connect_BadBucketNames(t *testing.T) {
	for _, name := range []string{"", "a.b", "a b", "a*", strings.Repeat("b", 253)} {
		store := offsetnats.NewOffsetStore("nats://127.0.0.1:1", offsetnats.WithBucket(name), offsetnats.WithCreateBucket())
		if err := store.Connect(t.Context()); !errors.Is(err, offsetstore.ErrInvalidArgument) {
			t.Errorf("Connect(ctx) with bucket %q (%d bytes) = %v; want an error wrapping ErrInvalidArgument, before connecting", name, len(name), err)
		}
	}
	c := natstest.RunServer(t)
	// A stream of more than 5 replicas, which no server creates.
	store := offsetnats.NewOffsetStore(c.URL(), offsetnats.WithBucket(newBucket()), offsetnats.WithCreateBucket(), offsetnats.WithReplicas(6))
	if err := store.Connect(t.Context()); !errors.Is(err, offsetstore.ErrInvalidArgument) {
		t.Errorf("Connect(ctx) with WithReplicas(6) = %v; want an error wrapping ErrInvalidArgument: the server refuses the bucket's settings", err)
	}
}

// TestOffsetStore_Connect_NoJetStream checks that Connect on a server
// without JetStream says that JetStream is not enabled, rather than "no
// responders".
func TestOffsetStore_Connect_NoJetStream(t *testing.T) {
	srv := natstest.RunServerWith(t, func(opts *server.Options) { opts.JetStream = false }).Servers[0].Raw()
	for _, create := range []bool{false, true} {
		opts := []offsetnats.Option{offsetnats.WithBucket(newBucket())}
		if create {
			opts = append(opts, offsetnats.WithCreateBucket())
		}
		for call, err := range connectBoth(t, srv.ClientURL(), opts...) {
			if !errors.Is(err, jetstream.ErrJetStreamNotEnabled) || !strings.Contains(err.Error(), "JetStream is not enabled") {
				t.Errorf("%s(ctx) on a server without JetStream (WithCreateBucket %t) = %v; want an error wrapping jetstream.ErrJetStreamNotEnabled that says JetStream is not enabled", call, create, err)
			}
		}
	}
}

// TestOffsetStore_WithConn_RefusesReplayingConnections checks that the
// store refuses a connection that would keep publishes made while it is
// disconnected and send them once it reconnects, after their callers got
// an error (nats.go's default reconnect buffer): such a write could land
// after a later one and undo it. A connection without the buffer, or
// that never reconnects, is taken.
func TestOffsetStore_WithConn_RefusesReplayingConnections(t *testing.T) {
	c := natstest.RunServer(t)
	for _, tc := range []struct {
		name string
		opts []nats.Option
		ok   bool
	}{
		{"default options", nil, false},
		{"ReconnectBufSize(1<<20)", []nats.Option{nats.ReconnectBufSize(1 << 20)}, false},
		{"ReconnectBufSize(-1)", []nats.Option{nats.ReconnectBufSize(-1)}, true},
		{"NoReconnect()", []nats.Option{nats.NoReconnect()}, true},
	} {
		nc, err := nats.Connect(c.URL(), tc.opts...)
		if err != nil {
			t.Fatal(err)
		}
		store := offsetnats.NewOffsetStore("", offsetnats.WithConn(nc), offsetnats.WithBucket(newBucket()), offsetnats.WithCreateBucket())
		err = store.Connect(t.Context())
		switch {
		case tc.ok && err != nil:
			t.Errorf("Connect(ctx) WithConn of a connection with %s = %v; want <nil>: it never replays a publish", tc.name, err)
		case !tc.ok && (!errors.Is(err, offsetstore.ErrInvalidArgument) || !strings.Contains(err.Error(), "ReconnectBufSize(-1)")):
			t.Errorf("Connect(ctx) WithConn of a connection with %s = %v; want an error wrapping ErrInvalidArgument that says ReconnectBufSize(-1): it would send a failed write later", tc.name, err)
		}
		_ = store.Disconnect(context.Background())
		nc.Close()
	}
}

// TestOffsetStore_CreateBucket_DefaultReplicas checks that WithCreateBucket
// without WithReplicas makes a bucket of one replica on a server that is
// not in a cluster, and of three on a cluster of three.
func TestOffsetStore_CreateBucket_DefaultReplicas(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(testing.TB) *natstest.Cluster
		want int
	}{
		{"one server", natstest.RunServer, 1},
		{"a cluster of three", natstest.RunCluster, 3},
	} {
		c := tc.run(t)
		bucket := newBucket()
		store := offsetnats.NewOffsetStore(c.URL(), offsetnats.WithBucket(bucket), offsetnats.WithCreateBucket())
		if err := store.Ping(t.Context()); err != nil {
			t.Fatalf("Ping(ctx) on %s = %v; want <nil>", tc.name, err)
		}
		_ = store.Disconnect(context.Background())
		stream, err := jetStream(t, c.URL()).Stream(t.Context(), "KV_"+bucket)
		if err != nil {
			t.Fatal(err)
		}
		if got := stream.CachedInfo().Config.Replicas; got != tc.want {
			t.Errorf("WithCreateBucket() without WithReplicas on %s made a bucket of %d replicas; want %d: the default keeps offsets through the loss of a server where there are three", tc.name, got, tc.want)
		}
	}

	// Three replicas do not fit on a cluster of two: Connect fails rather
	// than make a bucket of fewer.
	c := natstest.RunClusterOf(t, 2)
	store := offsetnats.NewOffsetStore(c.URL(), offsetnats.WithBucket(newBucket()), offsetnats.WithCreateBucket())
	err := store.Connect(t.Context())
	_ = store.Disconnect(context.Background())
	if err == nil || !strings.Contains(err.Error(), "3 replicas") || !strings.Contains(err.Error(), "WithReplicas") {
		t.Errorf("Connect(ctx) WithCreateBucket() on a cluster of two = %v; want an error saying 3 replicas and WithReplicas: the default does not make a weaker bucket", err)
	}
}

// TestOffsetStore_FullBucket_LosesNothing checks the settings the store
// accepts though they limit the bucket, max_msgs and max_bytes with
// discard new: once the bucket is full, writes fail with an error, and
// every offset acknowledged before still reads as written.
func TestOffsetStore_FullBucket_LosesNothing(t *testing.T) {
	c := natstest.RunServer(t)
	js := jetStream(t, c.URL())
	for _, tc := range []struct {
		name   string
		change func(cfg *jetstream.StreamConfig)
	}{
		{"max_msgs", func(cfg *jetstream.StreamConfig) { cfg.MaxMsgs = 8 }},
		{"max_bytes", func(cfg *jetstream.StreamConfig) { cfg.MaxBytes = 512 }},
	} {
		bucket := newBucket()
		cfg := kvStream(bucket)
		tc.change(&cfg)
		if _, err := js.CreateStream(t.Context(), cfg); err != nil {
			t.Fatal(err)
		}
		store := offsetnats.NewOffsetStore(c.URL(), offsetnats.WithBucket(bucket))
		if err := store.Connect(t.Context()); err != nil {
			t.Fatalf("Connect(ctx) on a bucket with %s and discard new = %v; want <nil>", tc.name, err)
		}
		var acked []*egopb.Offset
		full := false
		for shard := range uint64(100) {
			o := offset("p", shard, int64(shard)+1, 1)
			if err := store.WriteOffset(t.Context(), o); err != nil {
				full = true
				break
			}
			acked = append(acked, o)
		}
		if !full {
			t.Errorf("WriteOffset of 100 shards on a bucket with %s and discard new: every write succeeded; want the bucket full before", tc.name)
		}
		for _, o := range acked {
			wantOffset(t, store, "p", o.ShardNumber, o)
		}
		_ = store.Disconnect(context.Background())
	}
}

// flakyJetStream answers CreateStream with errs, one per call, then with
// success.
type flakyJetStream struct {
	jetstream.JetStream
	errs  []error
	calls int
}

func (f *flakyJetStream) CreateStream(ctx context.Context, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	f.calls++
	if f.calls <= len(f.errs) {
		return nil, f.errs[f.calls-1]
	}
	return nil, nil
}

// TestCreateStream_RetriesWhileAPeerIsOffline checks that the bucket's
// creation is sent again while the cluster answers that a server it
// counts on is offline, as for a few seconds after a cluster starts or a
// server restarts (seen in about one test run in five here, under load),
// and not when it cannot place the replicas at all.
func TestCreateStream_RetriesWhileAPeerIsOffline(t *testing.T) {
	offline := &jetstream.APIError{Code: 500, ErrorCode: 10005, Description: "no suitable peers for placement, peer offline"}
	tooFew := &jetstream.APIError{Code: 500, ErrorCode: 10005, Description: "no suitable peers for placement"}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	js := &flakyJetStream{errs: []error{offline, offline, offline}}
	if _, err := offsetnats.CreateStreamRetrying(ctx, js, jetstream.StreamConfig{Name: "KV_b"}); err != nil || js.calls != 4 {
		t.Errorf("createStreamRetrying after 3 answers of a peer offline = %v after %d calls; want <nil> after 4", err, js.calls)
	}
	js = &flakyJetStream{errs: []error{tooFew}}
	if _, err := offsetnats.CreateStreamRetrying(ctx, js, jetstream.StreamConfig{Name: "KV_b"}); !errors.Is(err, tooFew) || js.calls != 1 {
		t.Errorf("createStreamRetrying on a cluster too small = %v after %d calls; want the server's error after 1", err, js.calls)
	}
	short, cancelShort := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancelShort()
	js = &flakyJetStream{errs: slices.Repeat([]error{offline}, 1000)}
	if _, err := offsetnats.CreateStreamRetrying(short, js, jetstream.StreamConfig{Name: "KV_b"}); !errors.Is(err, offline) {
		t.Errorf("createStreamRetrying while a peer stays offline = %v; want the server's error once the context ends", err)
	}
}
