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
