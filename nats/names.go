package nats

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
)

// MaxNameBytes is the longest projection name the store holds, in bytes.
// A key spells the name in base64, a third longer, and a server refuses a
// subject that makes its protocol line longer than 4096 bytes (its
// max_control_line); 1024 bytes leave room for the bucket's name and the
// reply subject, and hold any name of 255 characters, eGo's column.
const MaxNameBytes = 1024

// Keys of the bucket: <base64url(name)>.<token>, where token is the shard
// number as 16 lowercase hex digits, or fenceToken, which no shard token
// equals since it is shorter; and barrierKey, which has no dot.
const (
	// fenceToken names the projection's fence: a key every change that
	// adds or removes shards of the projection writes, so that a reset
	// or deletion of all its shards knows whether the shards it read are
	// still all there are (see change.go).
	fenceToken    = "p"
	shardTokenLen = 16
	// barrierKey is the key reads write to, to verify what they read (see
	// [session.verify]).
	barrierKey = "barrier"
)

// encoding spells names in keys: base64url without padding, whose letters
// (A-Z a-z 0-9 - _) a KV key and a subject token may hold, and which has
// no '.', so a key splits into name and token at its one dot. It is
// reversible, so two names never share a key.
var encoding = base64.RawURLEncoding

// CheckProjectionName returns nil if the store can hold name as a
// projection's name exactly, and otherwise an error wrapping
// [offsetstore.ErrInvalidArgument] that says what is wrong with it: it is
// empty, is not valid UTF-8, or is longer than [MaxNameBytes]. Any other
// name is kept as given, with dots, wildcards, spaces, NUL bytes and any
// character, since keys spell it in base64. Every method checks its names
// so before sending anything; a tool can check a name the same way before
// it connects.
func CheckProjectionName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: projection name is empty", offsetstore.ErrInvalidArgument)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: projection name %q is not valid UTF-8", offsetstore.ErrInvalidArgument, name)
	case len(name) > MaxNameBytes:
		return fmt.Errorf("%w: projection name is %d bytes long; the NATS store holds names of at most %d bytes, since a longer one makes a subject longer than a server accepts",
			offsetstore.ErrInvalidArgument, len(name), MaxNameBytes)
	}
	return nil
}

func checkOffset(offset *egopb.Offset) error {
	if offset == nil {
		return fmt.Errorf("%w: offset is nil", offsetstore.ErrInvalidArgument)
	}
	return CheckProjectionName(offset.ProjectionName)
}

func checkID(id *egopb.ProjectionId) error {
	if id == nil {
		return fmt.Errorf("%w: projection id is nil", offsetstore.ErrInvalidArgument)
	}
	return CheckProjectionName(id.ProjectionName)
}

// bucketName matches the names a KeyValue bucket may have.
var bucketName = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// maxBucketBytes is the longest bucket name: a server refuses a stream
// name, KV_<bucket>, longer than 255 bytes (JSMaxNameLen in
// server/jetstream_api.go).
const maxBucketBytes = 255 - len("KV_")

func checkBucket(name string) error {
	switch {
	case !bucketName.MatchString(name):
		return fmt.Errorf("%w: bucket name %q: a bucket's name is one or more of the letters a-z A-Z, digits, '-' and '_'",
			offsetstore.ErrInvalidArgument, name)
	case len(name) > maxBucketBytes:
		return fmt.Errorf("%w: bucket name is %d bytes long; a server takes at most %d, since its stream's name, KV_<bucket>, holds at most 255",
			offsetstore.ErrInvalidArgument, len(name), maxBucketBytes)
	}
	return nil
}

// keys spells the subjects of one bucket.
type keys struct {
	// prefix is what every subject of the bucket starts with: $KV.<bucket>.
	prefix string
}

func newKeys(bucket string) keys { return keys{prefix: "$KV." + bucket + "."} }

// all is the filter of every subject of the bucket.
func (k keys) all() string { return k.prefix + ">" }

// projection is the filter of every key of name: its shards and its
// fence.
func (k keys) projection(name string) string {
	return k.prefix + encoding.EncodeToString([]byte(name)) + ".*"
}

func (k keys) shard(name string, shard uint64) string {
	return k.prefix + encoding.EncodeToString([]byte(name)) + "." + shardToken(shard)
}

func (k keys) fence(name string) string {
	return k.prefix + encoding.EncodeToString([]byte(name)) + "." + fenceToken
}

func (k keys) barrier() string { return k.prefix + barrierKey }

// anyBucket returns filter, a subject or filter of the bucket, with a
// wildcard for the bucket's name: on the bucket's stream it matches the
// same subjects, but a server takes it as a filter, not as a subject (see
// read.go).
func (k keys) anyBucket(filter string) string {
	return "$KV.*." + strings.TrimPrefix(filter, k.prefix)
}

func shardToken(shard uint64) string {
	const digits = "0000000000000000"
	h := strconv.FormatUint(shard, 16)
	return digits[len(h):] + h
}

// A parsedKey is what a subject of the bucket names.
type parsedKey struct {
	name  string
	token string // fenceToken, or a shard's
	shard uint64
}

func (p parsedKey) isShard() bool { return len(p.token) == shardTokenLen }

// parse reads subject back; ok is false for a subject the store did not
// write, which readers skip.
func (k keys) parse(subject string) (p parsedKey, ok bool) {
	rest, found := strings.CutPrefix(subject, k.prefix)
	if !found {
		return p, false
	}
	enc, token, found := strings.Cut(rest, ".")
	if !found {
		return p, false
	}
	name, err := encoding.DecodeString(enc)
	if err != nil || CheckProjectionName(string(name)) != nil {
		return p, false
	}
	p.name, p.token = string(name), token
	switch {
	case token == fenceToken:
		return p, true
	case len(token) == shardTokenLen && strings.ToLower(token) == token:
		shard, err := strconv.ParseUint(token, 16, 64)
		if err != nil {
			return p, false
		}
		p.shard = shard
		return p, true
	}
	return p, false
}
