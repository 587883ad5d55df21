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

// WithLockTimeout sets how long a WriteOffsets of several projections
// waits for a lock before it rolls back to try again, in place of
// lockTimeout: for tests that hold a lock it needs for longer, and must
// see it wait.
func WithLockTimeout(d time.Duration) Option {
	return optionFunc(func(s *OffsetStore) { s.lockTimeout = d })
}
