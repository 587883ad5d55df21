package main

import "errors"

// defaultBucket is the bucket of --bucket when it is not given.
const defaultBucket = "offsets_store"

// natsBackend is NATS JetStream: not built in yet.
func natsBackend(e *env) (*backend, error) {
	return nil, errors.New("the NATS JetStream backend is not built into this offsetctl: use a postgres:// --url")
}
