package nats

import (
	"fmt"
	"strconv"
	"strings"
)

// The bucket holds, for each projection, one message per shard and one
// record. A shard's message holds the offset last written, as
// "<value> <timestamp>" in decimal; a KV delete marker when the shard was
// deleted alone. The record holds the projection's last reset, or its
// deletion, which apply to the shards written before it, by stream
// sequence: see [record.apply].

// shardValue is a shard's own value and timestamp.
type shardValue struct {
	value, timestamp int64
}

func (v shardValue) encode() []byte {
	b := strconv.AppendInt(nil, v.value, 10)
	b = append(b, ' ')
	return strconv.AppendInt(b, v.timestamp, 10)
}

func decodeShard(data []byte) (shardValue, error) {
	value, ts, ok := strings.Cut(string(data), " ")
	if !ok {
		return shardValue{}, fmt.Errorf("nats store: shard value %q is not \"<value> <timestamp>\"", data)
	}
	v, err1 := strconv.ParseInt(value, 10, 64)
	t, err2 := strconv.ParseInt(ts, 10, 64)
	if err1 != nil || err2 != nil {
		return shardValue{}, fmt.Errorf("nats store: shard value %q is not \"<value> <timestamp>\"", data)
	}
	return shardValue{value: v, timestamp: t}, nil
}

// A record is a projection's last reset or deletion. It applies to every
// shard whose message has a lower sequence than the record's: a reset
// gives such a shard the reset's value and timestamp, a deletion removes
// it. A shard written after the record has a higher sequence and keeps its
// own value. A reset that replaces a deletion carries the deletion's
// sequence, so that the shards deleted stay deleted.
type record struct {
	// seq is the record's own sequence; 0 when the projection has none.
	seq    uint64
	delete bool
	// value and timestamp are a reset's.
	value, timestamp int64
	// deletedBefore is, for a reset, the sequence of the last deletion
	// before it: shards below it are gone.
	deletedBefore uint64
}

// cutoff is the sequence below which a shard's message is deleted.
func (r record) cutoff() uint64 {
	if r.delete {
		return r.seq
	}
	return r.deletedBefore
}

// apply returns what a reader sees of a shard whose message is m (nil if
// it has none): its offset, or ok false if it has none.
func (r record) apply(m *message) (v shardValue, ok bool, err error) {
	switch {
	case m == nil, m.deleted(), m.seq < r.cutoff():
		return v, false, nil
	case m.seq < r.seq:
		return shardValue{value: r.value, timestamp: r.timestamp}, true, nil
	}
	v, err = decodeShard(m.data)
	return v, err == nil, err
}

// reset returns the record of a reset to value at timestamp that follows
// r.
func (r record) reset(value, timestamp int64) record {
	return record{value: value, timestamp: timestamp, deletedBefore: r.cutoff()}
}

func (r record) encode() []byte {
	if r.delete {
		return []byte("delete")
	}
	return fmt.Appendf(nil, "reset %d %d %d", r.value, r.timestamp, r.deletedBefore)
}

// decodeRecord reads the record m holds; a nil or deleted m is no record.
func decodeRecord(m *message) (record, error) {
	if m == nil || m.deleted() {
		return record{}, nil
	}
	r := record{seq: m.seq}
	if string(m.data) == "delete" {
		r.delete = true
		return r, nil
	}
	if _, err := fmt.Sscanf(string(m.data), "reset %d %d %d", &r.value, &r.timestamp, &r.deletedBefore); err != nil {
		return record{}, fmt.Errorf("nats store: projection record %q is not one this store writes: %w", m.data, err)
	}
	return r, nil
}
