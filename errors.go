package offsetstore

import "errors"

var (
	// ErrNotConnected is returned when an operation that reads or changes
	// offsets is called on a store that is not connected: never connected,
	// or disconnected since.
	ErrNotConnected = errors.New("offset store is not connected")

	// ErrInvalidArgument is returned when a caller passes input the store
	// cannot accept: a nil offset or projection id, a projection name
	// that is empty or not valid UTF-8, or a name the store cannot hold
	// exactly. The error wrapping it says which.
	ErrInvalidArgument = errors.New("invalid argument")

	// ErrOffsetRegression is returned by a store that enforces monotonic
	// offsets (rule 12 of [OffsetStore]) when a write carries a value
	// lower than the one stored.
	ErrOffsetRegression = errors.New("offset regression")
)
