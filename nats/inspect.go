package nats

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
)

// Offsets returns the offsets of projectionName, sorted by shard number as
// a uint64. A projection with no offsets gives an empty slice, not an
// error. It writes a barrier, then reads every key of the projection in
// one direct get, from a server that had stored the barrier, and returns
// them as they were then: at one instant between the call and the
// return, through a leader in touch with the others (see the package
// documentation). A projection of more than 1024 keys, deleted shards
// included, cannot be read at one instant: Offsets fails on it.
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
// uint64. It writes the bucket's barrier key, then reads every key of the
// bucket in one direct get, from a server that had stored the barrier,
// and returns the offsets as they were then: at one instant between the
// call and the return, through a leader in touch with the others (see
// the package documentation). A bucket of more than 1024 keys, deleted
// shards and projections' fences included, is read one projection at a
// time: each projection's offsets are then as they were at one instant,
// not all at the same one.
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
	msgs, err := s.scanBucket(rctx, sess)
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

// scanBucket returns the last message of every key of the bucket, as
// they were at one instant between the call and the return or, if the
// bucket has more keys than one direct get returns (1024, or what fits
// in the server's max_pending), of each projection's
// keys as they were at one instant (see [OffsetStore.Snapshot]).
func (s *OffsetStore) scanBucket(ctx context.Context, sess *session) ([]*message, error) {
	barrier := &nats.Msg{Subject: sess.barrierSubject}
	msgs, err := sess.scanAfter(ctx, s.keys.all(), barrier)
	if !errors.Is(err, errTooManyKeys) && !errors.Is(err, errAnswerCut) {
		return msgs, err
	}
	b, err := sess.publish(ctx, barrier)
	if err != nil {
		return nil, err
	}
	info, err := sess.streamInfo(ctx, s.keys.all())
	if err != nil {
		return nil, err
	}
	names := make(map[string]bool)
	for subject := range info.State.Subjects {
		if k, ok := s.keys.parse(subject); ok {
			names[k.name] = true
		}
	}
	msgs = nil
	for name := range names {
		some, err := sess.lastAfter(ctx, s.keys.projection(name), b)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, some...)
	}
	return msgs, nil
}

// projectionState is what a scan of one projection's keys found.
type projectionState struct {
	offsets []*egopb.Offset
	// shards holds the last message of every shard key: a value, or a
	// delete marker.
	shards map[uint64]*message
	// fence is the projection's fence's message, or nil.
	fence *message
}

// offset returns the offset of shard, which must have one.
func (st projectionState) offset(shard uint64) *egopb.Offset {
	i, _ := slices.BinarySearchFunc(st.offsets, shard, func(o *egopb.Offset, shard uint64) int { return cmp.Compare(o.ShardNumber, shard) })
	return st.offsets[i]
}

// readProjection reads name's keys, after writing a barrier, and returns
// them as they were at one instant between the call and the return (see
// [session.scanAfter]). It leaves the projection's fence alone, so that
// reads do not fail the conditions of concurrent resets and deletions.
func (s *OffsetStore) readProjection(ctx context.Context, sess *session, name string) (projectionState, error) {
	msgs, err := sess.scanAfter(ctx, s.keys.projection(name), &nats.Msg{Subject: sess.barrierSubject})
	if err != nil {
		return projectionState{}, err
	}
	return s.projectionOf(name, msgs)
}

// listProjection reads name's keys in four round trips, whatever their
// number: the fence's message, then the list of the projection's keys
// (a stream info of its subject filter), then every shard key's message,
// asked at once. The keys are not read at one instant: a change that
// relies on them conditions its batch on each key it relies on, and on
// the fence. The list is complete for that use: every key that exists
// when the fence is read is in it, since a key is never removed, a batch
// that adds one writes the fence after it, so that the fence's sequence
// is above the key's, and the list is taken from a state of the stream
// that includes the fence's sequence, asked again until it does.
func (s *OffsetStore) listProjection(ctx context.Context, sess *session, name string) (projectionState, error) {
	fence, err := sess.last(ctx, s.keys.fence(name))
	if err != nil {
		return projectionState{}, err
	}
	var subjects []string
	for {
		info, err := sess.streamInfo(ctx, s.keys.projection(name))
		if err != nil {
			return projectionState{}, err
		}
		if fence == nil || info.State.LastSeq >= fence.seq {
			for subject := range info.State.Subjects {
				if k, ok := s.keys.parse(subject); ok && k.isShard() {
					subjects = append(subjects, subject)
				}
			}
			break
		}
		// Answered from a state older than the fence read: a replica
		// catching up, or a leader that lost its place.
		select {
		case <-ctx.Done():
			return projectionState{}, ctx.Err()
		case <-time.After(retryWait):
		}
	}
	msgs, err := sess.lastOfEach(ctx, subjects)
	if err != nil {
		return projectionState{}, err
	}
	if fence != nil {
		msgs = append(msgs, fence)
	}
	return s.projectionOf(name, msgs)
}

// projectionOf sorts out name's messages: its fence, and its shards.
func (s *OffsetStore) projectionOf(name string, msgs []*message) (projectionState, error) {
	st := projectionState{shards: make(map[uint64]*message), offsets: []*egopb.Offset{}}
	for _, m := range msgs {
		k, ok := s.keys.parse(m.subject)
		switch {
		case !ok:
		case k.token == fenceToken:
			st.fence = m
		case k.isShard():
			v, ok, err := valueOf(m)
			if err != nil {
				return projectionState{}, err
			}
			st.shards[k.shard] = m
			if ok {
				st.offsets = append(st.offsets, &egopb.Offset{ProjectionName: name, ShardNumber: k.shard, Value: v.value, Timestamp: v.timestamp})
			}
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
