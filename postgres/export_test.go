package postgres

import "time"

// BatchCounts returns how many batches the store's committer has sent
// since Connect, and how many writes they held; 0, 0 if not connected.
func BatchCounts(s *OffsetStore) (batches, writes int64) {
	sess := s.sess.Load()
	if sess == nil {
		return 0, 0
	}
	return sess.commits.batches.Load(), sess.commits.rows.Load()
}

// WithLockTimeout sets how long every attempt of a WriteOffsets of several
// projections waits for a row before it rolls back to try again, in place
// of defaultLockWaits: for tests that hold a row it needs for longer, and
// must see it wait.
func WithLockTimeout(d time.Duration) Option {
	return optionFunc(func(s *OffsetStore) { s.lockWaits = lockWaits{first: d, most: d} })
}

// HasLane reports whether projection name has a lane: its writes queue
// there, rather than going out in shared batches, having met a lock held,
// or behind a change.
func HasLane(s *OffsetStore, name string) bool {
	sess := s.sess.Load()
	if sess == nil {
		return false
	}
	c := sess.commits
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.lanes[name]
	return l != nil
}

// WithSharedBatches sets how many shared batches may be in flight at
// once, in place of maxSharedBatches: for benchmarks that compare the
// bound with others.
func WithSharedBatches(n int) Option {
	return optionFunc(func(s *OffsetStore) { s.sharedBatches = n })
}

// WithoutAnswerYield turns off the committer's yield once a shared batch
// is answered, for benchmarks that measure what it earns.
func WithoutAnswerYield() Option {
	return optionFunc(func(s *OffsetStore) { s.noYield = true })
}

// Splits returns how many units of writes of several projections the
// store's committer has sent again apart, each projection's in its lane,
// having met a lock held; 0 if not connected.
func Splits(s *OffsetStore) int64 {
	sess := s.sess.Load()
	if sess == nil {
		return 0
	}
	return sess.commits.splits.Load()
}

// LockClass seeds the advisory lock keys, for tests that take the store's
// locks from another session.
const LockClass = lockClass
