package nats

import (
	"cmp"
	"context"
	"errors"
	"slices"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
)

// Offsets returns the offsets of projectionName, sorted by shard number as
// a uint64. A projection with no offsets gives an empty slice, not an
// error. It reads every key of the projection from the stream's leader,
// one message per round trip, and returns them as they were at one
// instant (see [OffsetStore.Snapshot]).
func (s *OffsetStore) Offsets(ctx context.Context, projectionName string) ([]*egopb.Offset, error) {
	const op = "Offsets"
	if err := check(ctx, op, errors.Join(s.optErr, CheckProjectionName(projectionName))); err != nil {
		return nil, err
	}
	sess, err := s.session(op)
	if err != nil {
		return nil, err
	}
	defer sess.leave()
	rctx, cancel := withCallTimeout(ctx)
	defer cancel()
	st, err := s.readProjection(rctx, sess, projectionName)
	if err != nil {
		return nil, s.translate(ctx, op, sess, err)
	}
	return st.offsets, nil
}

// Projections returns a summary of every projection that has at least one
// offset, sorted by name as Go sorts strings (byte by byte). It reads the
// whole bucket, as [OffsetStore.Snapshot] does.
func (s *OffsetStore) Projections(ctx context.Context) ([]offsetstore.ProjectionSummary, error) {
	offsets, err := s.snapshot(ctx, "Projections")
	if err != nil {
		return nil, err
	}
	summaries := []offsetstore.ProjectionSummary{}
	for _, o := range offsets {
		if n := len(summaries); n == 0 || summaries[n-1].Name != o.ProjectionName {
			summaries = append(summaries, offsetstore.ProjectionSummary{Name: o.ProjectionName, MinValue: o.Value, MaxValue: o.Value, LastUpdate: o.Timestamp})
		}
		sum := &summaries[len(summaries)-1]
		sum.Shards++
		sum.MinValue, sum.MaxValue = min(sum.MinValue, o.Value), max(sum.MaxValue, o.Value)
		sum.LastUpdate = max(sum.LastUpdate, o.Timestamp)
	}
	return summaries, nil
}

// Snapshot returns every offset in the bucket, sorted by projection name
// as [OffsetStore.Projections] sorts them, then by shard number as a
// uint64. It reads every message of the bucket from the stream's leader,
// one per round trip, in the order of their sequences, and returns the
// offsets as they were when the leader said there were no more: a write
// made during the scan to a key already read is stored later, and read
// again.
func (s *OffsetStore) Snapshot(ctx context.Context) ([]*egopb.Offset, error) {
	return s.snapshot(ctx, "Snapshot")
}

func (s *OffsetStore) snapshot(ctx context.Context, op string) ([]*egopb.Offset, error) {
	if err := check(ctx, op, s.optErr); err != nil {
		return nil, err
	}
	sess, err := s.session(op)
	if err != nil {
		return nil, err
	}
	defer sess.leave()
	rctx, cancel := withCallTimeout(ctx)
	defer cancel()
	msgs, err := sess.scan(rctx, s.keys.all())
	if err != nil {
		return nil, s.translate(ctx, op, sess, err)
	}
	byName := make(map[string][]*message)
	for _, m := range msgs {
		if k, ok := s.keys.parse(m.subject); ok {
			byName[k.name] = append(byName[k.name], m)
		}
	}
	var offsets []*egopb.Offset
	for name, msgs := range byName {
		st, err := s.projectionOf(name, msgs)
		if err != nil {
			return nil, s.translate(ctx, op, sess, err)
		}
		offsets = append(offsets, st.offsets...)
	}
	sortOffsets(offsets)
	return offsets, nil
}

// projectionState is what a scan of one projection's keys found.
type projectionState struct {
	offsets []*egopb.Offset
	// shards holds the message of each shard that has an offset.
	shards map[uint64]*message
	// record is the projection's record's message, or nil.
	record *message
	// last is the highest sequence among the projection's keys: the last
	// sequence on its subject filter when it was read.
	last uint64
}

// readProjection reads name's keys from the stream's leader.
func (s *OffsetStore) readProjection(ctx context.Context, sess *session, name string) (projectionState, error) {
	msgs, err := sess.scan(ctx, s.keys.projection(name))
	if err != nil {
		return projectionState{}, err
	}
	return s.projectionOf(name, msgs)
}

// projectionOf applies name's record to the messages of its shards.
func (s *OffsetStore) projectionOf(name string, msgs []*message) (projectionState, error) {
	st := projectionState{shards: make(map[uint64]*message), offsets: []*egopb.Offset{}}
	var shards []*message
	var keyOf []parsedKey
	for _, m := range msgs {
		st.last = max(st.last, m.seq)
		k, ok := s.keys.parse(m.subject)
		switch {
		case !ok:
		case k.token == projectionToken:
			st.record = m
		case k.isShard():
			shards = append(shards, m)
			keyOf = append(keyOf, k)
		}
	}
	r, err := decodeRecord(st.record)
	if err != nil {
		return projectionState{}, err
	}
	for i, m := range shards {
		v, ok, err := r.apply(m)
		if err != nil {
			return projectionState{}, err
		}
		if ok {
			shard := keyOf[i].shard
			st.shards[shard] = m
			st.offsets = append(st.offsets, &egopb.Offset{ProjectionName: name, ShardNumber: shard, Value: v.value, Timestamp: v.timestamp})
		}
	}
	sortOffsets(st.offsets)
	return st, nil
}

// sortOffsets sorts offsets by name, byte by byte, then by shard as a
// uint64.
func sortOffsets(offsets []*egopb.Offset) {
	slices.SortFunc(offsets, func(a, b *egopb.Offset) int {
		return cmp.Or(cmp.Compare(a.ProjectionName, b.ProjectionName), cmp.Compare(a.ShardNumber, b.ShardNumber))
	})
}
