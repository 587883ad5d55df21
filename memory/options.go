package memory

import "time"

// An Option configures an [OffsetStore] made by [NewOffsetStore].
type Option interface {
	apply(*OffsetStore)
}

type optionFunc func(*OffsetStore)

func (f optionFunc) apply(s *OffsetStore) { f(s) }

// WithClock sets the clock that stamps the offsets [OffsetStore.ResetOffset]
// rewrites. The default, and what a nil now means, is [time.Now]. Offsets
// given to [OffsetStore.WriteOffset] keep the timestamp they carry.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(s *OffsetStore) { s.now = now })
}

// WithMonotonicWrites makes [OffsetStore.WriteOffset] and
// [OffsetStore.WriteOffsets] refuse an offset whose value is lower than the
// one stored for its projection and shard, with an error wrapping
// [offsetstore.ErrOffsetRegression]; WriteOffsets then writes none of its
// offsets. An equal value is accepted. [OffsetStore.ResetOffset],
// [OffsetStore.ResetShards] and [OffsetStore.Restore] may still lower
// values, and writes above the new value are accepted after them.
//
// eGo itself does not ask this of a store (a projection rewinds with a
// reset, not a write); the option catches projection code that commits out
// of order.
func WithMonotonicWrites() Option {
	return optionFunc(func(s *OffsetStore) { s.monotonic = true })
}

// WithKeepRecordsAfterDisconnect makes [OffsetStore.Disconnect] keep the
// offsets, so that a later [OffsetStore.Connect] in the same process finds
// them. Without it, Disconnect frees every offset.
func WithKeepRecordsAfterDisconnect() Option {
	return optionFunc(func(s *OffsetStore) { s.keep = true })
}
