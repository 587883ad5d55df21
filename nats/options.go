package nats

import (
	"time"

	"github.com/nats-io/nats.go"
)

// DefaultBucket is the KeyValue bucket a store uses unless [WithBucket]
// names another.
const DefaultBucket = "offsets_store"

// An Option configures an [OffsetStore] made by [NewOffsetStore].
type Option interface {
	apply(*OffsetStore)
}

type optionFunc func(*OffsetStore)

func (f optionFunc) apply(s *OffsetStore) { f(s) }

// WithConn makes the store use nc, a connection the caller owns: the store
// does not read its URL, and [OffsetStore.Disconnect] leaves nc open. A
// nil nc is ignored.
//
// nc must not replay publishes: nats.go keeps, by default, what is
// published while a connection reconnects and sends it once it is back,
// after the publisher was told the write failed, where it could undo a
// later write. Connect refuses such a connection with an error wrapping
// [offsetstore.ErrInvalidArgument]; make nc with [nats.ReconnectBufSize]
// of -1 (publishes fail while it reconnects, and are never sent), or with
// [nats.NoReconnect].
func WithConn(nc *nats.Conn) Option {
	return optionFunc(func(s *OffsetStore) { s.callerConn = nc })
}

// WithBucket makes the store keep its offsets in the KeyValue bucket called
// name rather than [DefaultBucket]: the stream KV_<name>, on the subjects
// $KV.<name>.>. A name of anything but letters, digits, '-' and '_' makes
// [OffsetStore.Connect] fail with [offsetstore.ErrInvalidArgument].
func WithBucket(name string) Option {
	return optionFunc(func(s *OffsetStore) { s.bucket = name })
}

// WithReplicas sets how many servers keep a copy of the bucket when the
// store creates it ([WithCreateBucket]). The default is 3 on a cluster,
// and 1 on a server that is not in one (the server says so when asked
// for more): with 3, the bucket keeps every acknowledged offset, and
// takes writes, through the loss of any one server. A cluster that cannot
// place 3 (a cluster of two, say) makes Connect fail rather than make a
// weaker bucket; WithReplicas then chooses. A bucket that exists keeps
// its own setting. Values below 1 mean the default.
func WithReplicas(n int) Option {
	return optionFunc(func(s *OffsetStore) { s.replicas = max(n, 0) })
}

// WithCreateBucket makes [OffsetStore.Connect] create the bucket if it is
// missing, with [WithReplicas]'s replicas, and turn on atomic batches on
// a bucket that lacks them, then read the bucket's settings back from the
// server to check that it took them. Without it, Connect fails on a
// missing bucket and says how to create it. Either way, Connect refuses a
// bucket whose settings could lose offsets (see [ErrBucketSettings]).
func WithCreateBucket() Option {
	return optionFunc(func(s *OffsetStore) { s.createBucket = true })
}

// WithClock sets the clock that stamps the offsets [OffsetStore.ResetOffset]
// rewrites; the default, and what a nil now means, is [time.Now]. Offsets
// given to [OffsetStore.WriteOffset] keep the timestamp they carry.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(s *OffsetStore) { s.now = now })
}

// WithMonotonicWrites makes [OffsetStore.WriteOffset] and
// [OffsetStore.WriteOffsets] refuse an offset whose value is lower than
// the one stored for its projection and shard, with an error wrapping
// [offsetstore.ErrOffsetRegression], and change nothing; an equal value is
// accepted. The store reads the shard's key from the stream's leader and
// writes on the condition that the key's last message is still the one it
// read (Nats-Expected-Last-Subject-Sequence), trying again if it is not.
// Every write, reset and deletion of the shard replaces that message, so
// none, from this process or another, can slip in between. Each such
// write costs two round trips, and a refusal two more: the value that
// refuses it is read again after a barrier (see the package
// documentation). [OffsetStore.ResetOffset] may still lower values, later
// writes counting from the reset value.
func WithMonotonicWrites() Option {
	return optionFunc(func(s *OffsetStore) { s.monotonic = true })
}
