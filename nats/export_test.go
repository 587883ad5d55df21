package nats

// GroupCounts returns how many groups of writes store's committer sent and
// how many writes they held, since it connected; 0, 0 when not connected.
func GroupCounts(store *OffsetStore) (groups, writes int64) {
	sess := store.sess.Load()
	if sess == nil {
		return 0, 0
	}
	return sess.commits.groups.Load(), sess.commits.writes.Load()
}
