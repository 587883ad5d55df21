package nats

import "github.com/nats-io/nats.go"

// ConnStatus returns the status of the connection s uses, for tests that
// must act once the client has seen its server go; 0 when s is not
// connected.
func ConnStatus(s *OffsetStore) nats.Status {
	sess := s.sess.Load()
	if sess == nil {
		return 0
	}
	return sess.nc.Status()
}

// WithMinServerVersion makes the store take servers from major.minor on,
// so that a test can reach, on an older server, the checks that come
// after the version's.
func WithMinServerVersion(major, minor int) Option {
	return optionFunc(func(s *OffsetStore) { s.minVersion = [2]int{major, minor} })
}

// Doubts returns how many writes the connection s uses sent and never
// saw acknowledged nor refused.
func Doubts(s *OffsetStore) int {
	sess := s.sess.Load()
	if sess == nil {
		return 0
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	return sess.doubts
}

// CreateStreamRetrying is createStreamRetrying, for a test to give it a
// JetStream that fails as a cluster does.
var CreateStreamRetrying = createStreamRetrying

// WithBatchAnswer makes answer stand in for the servers' answer to every
// atomic batch the store sends, given the real one, so that a test can
// refuse a batch that was stored, as a server cut off from the others
// that still believes it leads answers first once the cut heals.
func WithBatchAnswer(answer func(seq uint64, err error) (uint64, error)) Option {
	return optionFunc(func(s *OffsetStore) { s.batchAnswer = answer })
}

// Refusal returns the error a server answers when it refuses a write
// with err_code code, such as 10071 (a condition failed) or 10176 (an
// incomplete batch).
func Refusal(code int) error {
	return &apiError{Code: 400, ErrCode: code, Description: "refused by the test"}
}
