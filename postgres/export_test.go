package postgres

// BatchCounts returns how many batches the store's committer has sent
// since Connect, and how many writes they held; 0, 0 if not connected.
func BatchCounts(s *OffsetStore) (batches, writes int64) {
	sess := s.sess.Load()
	if sess == nil {
		return 0, 0
	}
	return sess.commits.batches.Load(), sess.commits.rows.Load()
}
