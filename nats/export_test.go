package nats

// WithMinServerVersion makes the store take servers from major.minor on,
// so that a test can reach, on an older server, the checks that come
// after the version's.
func WithMinServerVersion(major, minor int) Option {
	return optionFunc(func(s *OffsetStore) { s.minVersion = [2]int{major, minor} })
}
