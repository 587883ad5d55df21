package nats

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ego-contrib/offsetstore"
)

// minServerVersion is the oldest nats-server the store takes, as major
// and minor: 2.12 brought atomic batches. Servers before it ignore
// allow_atomic, so that a batch there is plain messages, each stored on
// its own, and a write can slip in between.
var minServerVersion = [2]int{2, 12}

// checkServer returns an error wrapping [ErrServerVersion] if the server
// nc is connected to is older than minServerVersion.
func checkServer(nc *nats.Conn, minServerVersion [2]int) error {
	v := nc.ConnectedServerVersion()
	if v == "" {
		return fmt.Errorf("the connection is not connected to a server (it is %v)", nc.Status())
	}
	major, minor, ok := parseVersion(v)
	if !ok {
		return fmt.Errorf("%w: cannot read the version %q of the server at %s; the store needs nats-server %d.%d or later",
			ErrServerVersion, v, nc.ConnectedUrlRedacted(), minServerVersion[0], minServerVersion[1])
	}
	if major < minServerVersion[0] || major == minServerVersion[0] && minor < minServerVersion[1] {
		return fmt.Errorf("%w: the server at %s runs nats-server %s; the store needs %d.%d or later on every server, whose atomic batches keep its resets and multi-shard changes whole (older servers ignore allow_atomic and store a batch's messages one by one): upgrade the servers",
			ErrServerVersion, nc.ConnectedUrlRedacted(), v, minServerVersion[0], minServerVersion[1])
	}
	return nil
}

// parseVersion reads the major and minor numbers of a server's version,
// such as 2.12.3 or 2.14.0-RC.1.
func parseVersion(v string) (major, minor int, ok bool) {
	parts := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	return major, minor, err1 == nil && err2 == nil
}

// checkConn returns an error wrapping [offsetstore.ErrInvalidArgument]
// if nc, a caller's connection ([WithConn]), would send a publish made
// while it is disconnected once it reconnects: nats.go keeps such
// publishes in its reconnect buffer (ReconnectBufSize, 8 MB by default)
// and returns nil from the publish, so that a write whose caller already
// got an error could be stored later, over a later write. Without the
// buffer (a negative size), a publish while disconnected fails at once
// with [nats.ErrReconnectBufExceeded], and is never sent.
func checkConn(nc *nats.Conn) error {
	if nc.Opts.AllowReconnect && nc.Opts.ReconnectBufSize >= 0 {
		return fmt.Errorf("%w: WithConn: the connection keeps publishes made while it reconnects and sends them once it is back (its reconnect buffer is %d bytes), so a write whose caller was told it failed could be stored later, over a later one: connect with nats.ReconnectBufSize(-1), or nats.NoReconnect()",
			offsetstore.ErrInvalidArgument, nc.Opts.ReconnectBufSize)
	}
	return nil
}

// prepareBucket checks that the bucket's stream exists, takes atomic
// batches and keeps every offset (see [checkSettings]), and creates it,
// or turns batches on, if the store may. After creating or changing the
// stream it reads the stream's configuration back from the server, since
// a server that does not know a setting drops it without an error.
func (s *OffsetStore) prepareBucket(ctx context.Context, js jetstream.JetStream) (jetstream.StreamConfig, error) {
	ctx, cancel := withCallTimeout(ctx)
	defer cancel()
	stream, err := js.Stream(ctx, s.streamName())
	changed := false
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound) && s.createBucket:
		if stream, err = s.createStream(ctx, js); err != nil {
			return jetstream.StreamConfig{}, err
		}
		changed = true
	case errors.Is(err, jetstream.ErrStreamNotFound):
		return jetstream.StreamConfig{}, fmt.Errorf("bucket %q (stream %s) does not exist: make the store with nats.WithCreateBucket() to create it on Connect, or create a KeyValue bucket of that name whose stream has allow_atomic set (nats-server 2.12 or later): %w",
			s.bucket, s.streamName(), err)
	case err != nil:
		return jetstream.StreamConfig{}, fmt.Errorf("look up bucket %q (stream %s): %w", s.bucket, s.streamName(), jetStreamError(err))
	}
	cfg := stream.CachedInfo().Config
	if err := s.checkSettings(cfg); err != nil {
		return cfg, err
	}
	if !cfg.AllowAtomicPublish {
		if !s.createBucket {
			return cfg, fmt.Errorf("%w: bucket %q (stream %s) does not take atomic batches, which the store's resets and multi-shard changes use: set allow_atomic on the stream (nats-server 2.12 or later), or make the store with nats.WithCreateBucket() to set it on Connect",
				ErrBucketSettings, s.bucket, s.streamName())
		}
		cfg.AllowAtomicPublish = true
		if _, err := js.UpdateStream(ctx, cfg); err != nil {
			return cfg, fmt.Errorf("set allow_atomic on bucket %q (stream %s): %w", s.bucket, s.streamName(), settingsError(err))
		}
		changed = true
	}
	if !changed {
		return cfg, nil
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return cfg, fmt.Errorf("read back bucket %q (stream %s): %w", s.bucket, s.streamName(), err)
	}
	cfg = info.Config
	if !cfg.AllowAtomicPublish {
		return cfg, fmt.Errorf("%w: bucket %q (stream %s) does not take atomic batches after the store set allow_atomic: the server dropped it, which servers before nats-server 2.12 do; upgrade every server of the cluster",
			ErrBucketSettings, s.bucket, s.streamName())
	}
	return cfg, s.checkSettings(cfg)
}

// createStream creates the bucket's stream, with [WithReplicas]'s
// replicas or, by default, three, or one on a server that is not in a
// cluster. A cluster where three do not fit fails: the store does not
// make a bucket weaker than asked without being told.
func (s *OffsetStore) createStream(ctx context.Context, js jetstream.JetStream) (jetstream.Stream, error) {
	replicas := s.replicas
	if replicas == 0 {
		replicas = defaultReplicas
	}
	stream, err := createStreamRetrying(ctx, js, s.streamConfig(replicas))
	if s.replicas == 0 && apiCode(err) == errCodeReplicasNotSupported {
		replicas = 1
		stream, err = createStreamRetrying(ctx, js, s.streamConfig(replicas))
	}
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		stream, err = js.Stream(ctx, s.streamName())
	}
	if err != nil {
		how := "as WithReplicas asks"
		if s.replicas == 0 {
			how = "the default: 3 on a cluster, 1 on a server alone; WithReplicas chooses another number"
		}
		return nil, fmt.Errorf("create bucket %q (stream %s) of %d replicas (%s): %w", s.bucket, s.streamName(), replicas, how, settingsError(err))
	}
	return stream, nil
}

// createStreamRetrying creates the stream cfg, trying again until ctx
// ends while the cluster cannot place it for now: a server it counts on
// is offline to the meta leader, as for a few seconds after the cluster
// starts or a server restarts, or the request got no answer within a
// few seconds, as from a meta leader that was just replaced. Creating a
// stream that exists with the same settings succeeds, so a request sent
// twice creates one stream.
func createStreamRetrying(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	for {
		tctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		stream, err := js.CreateStream(tctx, cfg)
		cancel()
		transient := apiCode(err) == errCodeNoPeers && strings.Contains(err.Error(), "peer offline") ||
			ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded)
		if !transient {
			return stream, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// defaultReplicas is how many replicas [WithCreateBucket] asks for on a
// cluster unless [WithReplicas] says otherwise: the bucket then keeps
// every acknowledged offset, and takes writes, through the loss of any
// one server.
const defaultReplicas = 3

// streamConfig is the bucket's stream as [WithCreateBucket] creates it: a
// KeyValue bucket, as the jetstream package would make it, that keeps one
// message per key and takes atomic batches.
func (s *OffsetStore) streamConfig(replicas int) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:               s.streamName(),
		Subjects:           []string{s.keys.all()},
		MaxMsgsPerSubject:  1,
		MaxMsgs:            -1,
		MaxBytes:           -1,
		MaxMsgSize:         -1,
		MaxConsumers:       -1,
		Storage:            jetstream.FileStorage,
		Replicas:           replicas,
		AllowRollup:        true,
		DenyDelete:         true,
		Discard:            jetstream.DiscardNew,
		Duplicates:         2 * time.Minute,
		AllowDirect:        true,
		AllowAtomicPublish: true,
	}
}

// minDuplicates is the shortest duplicate window the store takes: a
// refused batch's message id must be remembered until the store has
// asked whether it was stored (see [session.landed]), which it does at
// once, and gives up on after half the window.
const minDuplicates = 30 * time.Second

// checkSettings returns an error wrapping [ErrBucketSettings] if the
// bucket's stream, cfg, has a setting under which an acknowledged offset
// could be lost, or read as absent, or under which the store's writes
// would never be acknowledged. The package documentation lists them and
// says why; every other setting keeps each key's last message.
func (s *OffsetStore) checkSettings(cfg jetstream.StreamConfig) error {
	var bad []string
	if !slices.Contains(cfg.Subjects, s.keys.all()) {
		bad = append(bad, fmt.Sprintf("subjects %q do not include %s, where the store writes: its writes would go to another stream, or nowhere", cfg.Subjects, s.keys.all()))
	}
	if cfg.SubjectTransform != nil {
		bad = append(bad, "subject_transform stores messages under other subjects than the keys the store reads")
	}
	if cfg.MaxAge > 0 {
		bad = append(bad, fmt.Sprintf("max_age (a TTL) of %v removes offsets that are not rewritten within it", cfg.MaxAge))
	}
	if cfg.Discard == jetstream.DiscardOld && cfg.MaxMsgs > 0 {
		bad = append(bad, fmt.Sprintf("max_msgs of %d with discard old removes the oldest offsets once the bucket holds that many", cfg.MaxMsgs))
	}
	if cfg.Discard == jetstream.DiscardOld && cfg.MaxBytes > 0 {
		bad = append(bad, fmt.Sprintf("max_bytes of %d with discard old removes the oldest offsets once the bucket holds that much", cfg.MaxBytes))
	}
	if cfg.Discard == jetstream.DiscardNew && cfg.DiscardNewPerSubject {
		bad = append(bad, "discard_new_per_subject refuses a write to a key that holds max_msgs_per_subject messages already, which is every rewrite of an offset")
	}
	if cfg.Retention != jetstream.LimitsPolicy {
		bad = append(bad, fmt.Sprintf("retention %s removes messages once consumers have them, or when none is interested", cfg.Retention))
	}
	if cfg.Storage != jetstream.FileStorage {
		bad = append(bad, fmt.Sprintf("storage %s loses every offset when the servers holding the bucket restart", cfg.Storage))
	}
	if cfg.Duplicates < minDuplicates {
		bad = append(bad, fmt.Sprintf("duplicate_window of %v is shorter than %v: the store tells a batch a stale server refused but the leader stored by its message id, which the leader remembers for that long", cfg.Duplicates, minDuplicates))
	}
	if cfg.NoAck {
		bad = append(bad, "no_ack: the servers never acknowledge a write, so no write could succeed")
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("%w: bucket %q (stream %s): %s: use a bucket without these settings, or change them on its stream where the server allows it (nats stream edit %s)",
		ErrBucketSettings, s.bucket, s.streamName(), strings.Join(bad, "; "), s.streamName())
}

// Error codes of JetStream's API that Connect maps.
const (
	errCodeStreamInvalidConfig  = 10052
	errCodeReplicasNotSupported = 10074 // replicas > 1 on a server not in a cluster
	errCodeNoPeers              = 10005 // no suitable peers for placement
	errCodeNameHasPathSeparator = 10128
)

func apiCode(err error) jetstream.ErrorCode {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode
	}
	return 0
}

// settingsError marks, as [offsetstore.ErrInvalidArgument], a server's
// refusal of the stream the store asked for: its name or its replicas
// came from the caller's options.
func settingsError(err error) error {
	switch apiCode(err) {
	case errCodeStreamInvalidConfig, errCodeReplicasNotSupported, errCodeNameHasPathSeparator:
		return fmt.Errorf("%w: the server refuses the bucket's settings: %w", offsetstore.ErrInvalidArgument, err)
	}
	if errors.Is(err, jetstream.ErrInvalidStreamName) {
		return fmt.Errorf("%w: %w", offsetstore.ErrInvalidArgument, err)
	}
	return jetStreamError(err)
}

// jetStreamError says that JetStream is not enabled, wrapping
// [jetstream.ErrJetStreamNotEnabled], when err shows it: no server
// answered JetStream's API, or the server says so.
func jetStreamError(err error) error {
	switch code := apiCode(err); {
	case errors.Is(err, nats.ErrNoResponders):
		return fmt.Errorf("JetStream is not enabled: no server answered JetStream's API (run nats-server with -js, or a jetstream block in its configuration): %w", jetstream.ErrJetStreamNotEnabled)
	case code == jetstream.JSErrCodeJetStreamNotEnabledForAccount, code == jetstream.JSErrCodeJetStreamNotEnabled:
		return fmt.Errorf("JetStream is not enabled for the connection's account (%w): %w", err, jetstream.ErrJetStreamNotEnabled)
	}
	return err
}
