package nats

import (
	"fmt"
	"strconv"
	"strings"
)

// A shard's key holds the offset last written, reset or deleted: a value
// "<value> <timestamp>" in decimal, or a KV delete marker when the shard
// was deleted. A reset or deletion rewrites the key of every shard it
// changes, so that a key alone says what its shard holds.

// shardValue is a shard's offset: its value and timestamp.
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

// valueOf returns the offset a shard's last message m holds, or ok false
// when it holds none: no message, or a delete marker.
func valueOf(m *message) (v shardValue, ok bool, err error) {
	if m == nil || m.deleted() {
		return v, false, nil
	}
	v, err = decodeShard(m.data)
	return v, err == nil, err
}
