package nats

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/nats-io/nats.go"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
)

// MaxWriteOffsets is the most offsets one [OffsetStore.WriteOffsets] call
// takes. It writes them as one atomic batch, with a message for the fence
// of each projection that may gain a shard, and a server holds at most
// 1000 messages in a batch unless configured otherwise (max_batch_size):
// half of it leaves room for every fence. [OffsetStore.ResetShards] and
// [OffsetStore.DeleteShards] name fewer shards than that.
const MaxWriteOffsets = 500

// maxBatch is the most messages a server holds in one atomic batch,
// unless configured otherwise (max_batch_size).
const maxBatch = 1000

// ResetOffset sets the value of every shard of projectionName that has an
// offset to value, and its timestamp to the clock's now in Unix
// milliseconds, at once: no reader sees some shards reset and others not,
// and no shard written, added or deleted meanwhile is missed or brought
// back. Resetting a projection with no offsets changes nothing.
//
// It reads the projection's keys as [OffsetStore.Offsets] does, then
// rewrites every shard that has an offset in one atomic batch, on the
// condition that the projection's fence, which every change that adds or
// removes one of its shards writes, and each deleted shard's marker, are
// still the ones it read: so the shards it rewrites are, when the batch
// lands, exactly those that have an offset. A write to one of them
// meanwhile is overwritten, as it would be by a reset just after it;
// when a condition fails, the store reads again and tries again (see the
// package documentation for how it reads the keys, and what it costs).
func (s *OffsetStore) ResetOffset(ctx context.Context, projectionName string, value int64) error {
	now := s.clock().UnixMilli()
	data := shardValue{value: value, timestamp: now}.encode()
	_, err := s.changeShards(ctx, "ResetOffset", projectionName, nil, false,
		func(subject string) *nats.Msg { return &nats.Msg{Subject: subject, Data: data} })
	return err
}

// DeleteShards removes the offsets of projectionName's shards, or of every
// shard if shards is nil, at once, and returns the offsets it removed,
// sorted by shard. Shards that have no offset are skipped. It writes a KV
// delete marker to each shard's key; see [OffsetStore.ResetShards] for
// how it stays atomic and what it returns.
func (s *OffsetStore) DeleteShards(ctx context.Context, projectionName string, shards []uint64) ([]*egopb.Offset, error) {
	return s.changeShards(ctx, "DeleteShards", projectionName, shards, true, deleteMarker)
}

// ResetShards sets Value to value, and Timestamp to the clock's now in Unix
// milliseconds, on projectionName's shards, or on every shard if shards is
// nil, at once, and returns the offsets it changed as they were before,
// sorted by shard. Shards that have no offset are skipped, not created: an
// empty result means nothing was reset.
//
// It reads the projection's keys as [OffsetStore.Offsets] does, then
// rewrites the shards, as [OffsetStore.ResetOffset] does, in one atomic
// batch, on the condition that none of the keys it read changed since:
// every shard it changes, every deleted shard it would change if it were
// written again, and the projection's fence, which every change that
// adds a shard writes. So the offsets it returns are those it changed, as
// they were just before; when a condition fails, it reads again and tries
// again. A shard written over and over meanwhile makes it try again
// until ctx ends: stop the projection first.
func (s *OffsetStore) ResetShards(ctx context.Context, projectionName string, value int64, shards []uint64) ([]*egopb.Offset, error) {
	now := s.clock().UnixMilli()
	data := shardValue{value: value, timestamp: now}.encode()
	return s.changeShards(ctx, "ResetShards", projectionName, shards, true,
		func(subject string) *nats.Msg { return &nats.Msg{Subject: subject, Data: data} })
}

// deleteMarker is a KV delete marker for subject.
func deleteMarker(subject string) *nats.Msg {
	msg := &nats.Msg{Subject: subject, Header: nats.Header{}}
	msg.Header.Set(hdrOperation, opDelete)
	return msg
}

// changeShards writes change(subject) to the key of each of name's shards
// that has an offset, among shards, or all if shards is nil, in one
// atomic batch, and returns the offsets it changed as they were. The
// batch is conditioned on the projection's fence and on each deleted
// shard's marker, and, if exact, on each changed shard's message too;
// it reads again and tries again while a condition fails. A change of
// all shards that is not exact (ResetOffset) starts from the view the
// session kept of the projection after its last such change, if any,
// and reads the keys only if the view is no longer true.
func (s *OffsetStore) changeShards(ctx context.Context, op, name string, shards []uint64, exact bool,
	change func(subject string) *nats.Msg) ([]*egopb.Offset, error) {
	if err := check(ctx, op, errors.Join(s.optErr, CheckProjectionName(name))); err != nil {
		return nil, err
	}
	sess, err := s.session(op)
	if err != nil {
		return nil, err
	}
	defer sess.leave()
	if len(shards) >= MaxWriteOffsets {
		return nil, opError(op, fmt.Errorf("%w: %d shards; one call changes fewer than %d, one atomic batch",
			offsetstore.ErrInvalidArgument, len(shards), MaxWriteOffsets))
	}
	rctx, cancel := withCallTimeout(ctx)
	defer cancel()
	cache := !exact && shards == nil
	var v *view
	if cache {
		if cached, ok := sess.views.Load(name); ok {
			v = cached.(*view)
		}
	}
	// The batch's conditions check what was read, so the keys may be
	// read in any order, from any state, unless the read finds nothing to
	// change: then it returns what it read, which must be the projection
	// at one instant since the call.
	consistent := false
	for {
		if v == nil {
			var st projectionState
			if consistent {
				st, err = s.readProjection(rctx, sess, name)
			} else {
				st, err = s.listProjection(rctx, sess, name)
			}
			if err != nil {
				return nil, s.translate(ctx, op, sess, err)
			}
			v = st.view(shards)
		}
		switch {
		case len(v.offsets) == 0 && consistent:
			return []*egopb.Offset{}, nil
		case len(v.offsets) == 0:
			consistent, v = true, nil
			continue
		}
		msgs := s.changeMsgs(op, name, v, exact, change)
		if len(msgs) > maxBatch {
			return nil, opError(op, fmt.Errorf("projection %q has %d shard keys, deleted ones included; the store changes them in one atomic batch, which a server holds to %d messages (max_batch_size)",
				name, len(v.offsets)+len(v.markers), maxBatch))
		}
		fence, err := sess.publishBatch(rctx, msgs)
		switch {
		case conflict(err):
			sess.views.Delete(name)
			v = nil
			continue
		case err != nil:
			sess.views.Delete(name)
			return nil, s.translate(ctx, op, sess, err)
		}
		if cache {
			// The batch ends with the fence: its sequence is the fence's.
			sess.views.Store(name, &view{fence: fence, offsets: v.offsets, markers: v.markers})
		}
		changed := make([]*egopb.Offset, len(v.offsets))
		for i, k := range v.offsets {
			changed[i] = k.offset
		}
		return changed, nil
	}
}

// A view is what a change of some of a projection's shards relies on:
// the shards it changes, the deleted shards among those it may change,
// and the projection's fence.
type view struct {
	// fence is the sequence of the fence's message, 0 if it has none.
	fence   uint64
	offsets []shardKey
	markers []shardKey
}

// shardKey is a shard's key as read: its last message's sequence, and
// the offset it holds, if any.
type shardKey struct {
	shard   uint64
	subject string
	seq     uint64
	offset  *egopb.Offset
}

// view returns the view of st that a change of shards, or all if nil,
// relies on.
func (st projectionState) view(shards []uint64) *view {
	var named map[uint64]bool
	if shards != nil {
		named = make(map[uint64]bool, len(shards))
		for _, shard := range shards {
			named[shard] = true
		}
	}
	v := &view{}
	if st.fence != nil {
		v.fence = st.fence.seq
	}
	for _, shard := range slices.Sorted(maps.Keys(st.shards)) {
		if named != nil && !named[shard] {
			continue
		}
		m := st.shards[shard]
		k := shardKey{shard: shard, subject: m.subject, seq: m.seq}
		if m.deleted() {
			v.markers = append(v.markers, k)
			continue
		}
		k.offset = st.offset(shard)
		v.offsets = append(v.offsets, k)
	}
	return v
}

// changeMsgs returns the batch of a change that relies on v: change's
// message for each shard with an offset, conditioned on the shard's
// message if exact; then a message to the fence, conditioned on the
// fence; then, for each deleted shard, a message to the fence
// conditioned on the shard's marker, since a write to a deleted shard's
// key adds the shard back without writing the fence. The batch ends with
// the fence, so that its acknowledgement carries the fence's sequence,
// and changes no marker.
func (s *OffsetStore) changeMsgs(op, name string, v *view, exact bool, change func(subject string) *nats.Msg) []*nats.Msg {
	msgs := make([]*nats.Msg, 0, len(v.offsets)+1+len(v.markers))
	for _, k := range v.offsets {
		msg := change(k.subject)
		if exact {
			if msg.Header == nil {
				msg.Header = nats.Header{}
			}
			msg.Header.Set(hdrExpectedSubjSeq, strconv.FormatUint(k.seq, 10))
		}
		msgs = append(msgs, msg)
	}
	fence := s.fenceMsg(name, op)
	fence.Header.Set(hdrExpectedSubjSeq, strconv.FormatUint(v.fence, 10))
	msgs = append(msgs, fence)
	for _, k := range v.markers {
		msg := s.fenceMsg(name, op)
		msg.Header.Set(hdrExpectedSubjSubj, k.subject)
		msg.Header.Set(hdrExpectedSubjSeq, strconv.FormatUint(k.seq, 10))
		msgs = append(msgs, msg)
	}
	return msgs
}

// WriteOffsets writes every offset of offsets as one atomic batch: all of
// them or, if any fails, none, and no reader sees some and not the
// others. It refuses the whole call, writing nothing, if any offset is bad
// input, if two name the same projection and shard, or if there are more
// than [MaxWriteOffsets] (split them: all or nothing then holds for each
// call, not across them); and, with [WithMonotonicWrites], if any would
// lower a stored value, each being written on the condition that its
// shard's message is still the one compared with. The batch writes the
// fence of each projection with a shard key the session has not seen
// hold a message, as [OffsetStore.WriteOffset] does.
func (s *OffsetStore) WriteOffsets(ctx context.Context, offsets []*egopb.Offset) error {
	const op = "WriteOffsets"
	argErr := s.optErr
	type key struct {
		name  string
		shard uint64
	}
	seen := make(map[key]int, len(offsets))
	for i, o := range offsets {
		if argErr != nil {
			break
		}
		if err := checkOffset(o); err != nil {
			argErr = fmt.Errorf("offsets[%d]: %w", i, err)
			break
		}
		k := key{o.ProjectionName, o.ShardNumber}
		if j, ok := seen[k]; ok {
			argErr = fmt.Errorf("%w: offsets[%d] and offsets[%d] are both for projection %q shard %d",
				offsetstore.ErrInvalidArgument, j, i, k.name, k.shard)
			break
		}
		seen[k] = i
	}
	if argErr == nil && len(offsets) > MaxWriteOffsets {
		argErr = fmt.Errorf("%w: %d offsets; one call writes at most %d, one atomic batch: split them",
			offsetstore.ErrInvalidArgument, len(offsets), MaxWriteOffsets)
	}
	if err := check(ctx, op, argErr); err != nil {
		return err
	}
	sess, err := s.session(op)
	if err != nil {
		return err
	}
	defer sess.leave()
	if len(offsets) == 0 {
		return nil
	}
	wctx, cancel := withCallTimeout(ctx)
	defer cancel()
	subjects := make([]string, len(offsets))
	for i, o := range offsets {
		subjects[i] = s.keys.shard(o.ProjectionName, o.ShardNumber)
	}
	for {
		var stored []*message
		if s.monotonic {
			if stored, err = s.readStored(wctx, sess, offsets, subjects); err != nil {
				return s.translate(ctx, op, sess, err)
			}
		}
		var fences []*nats.Msg
		fenced := make(map[string]bool)
		msgs := make([]*nats.Msg, len(offsets))
		for i, o := range offsets {
			v := shardValue{value: o.Value, timestamp: o.Timestamp}
			msgs[i] = &nats.Msg{Subject: subjects[i], Data: v.encode(), Header: nats.Header{}}
			adds := false
			if s.monotonic {
				msgs[i].Header.Set(hdrExpectedSubjSeq, seqOf(stored[i]))
				adds = stored[i] == nil
			} else {
				_, known := sess.known.Load(subjects[i])
				adds = !known
			}
			if adds && !fenced[o.ProjectionName] {
				fenced[o.ProjectionName] = true
				fences = append(fences, s.fenceMsg(o.ProjectionName, op))
			}
		}
		_, err := sess.publishBatch(wctx, append(msgs, fences...))
		switch {
		case conflict(err):
			continue
		case err != nil:
			return s.translate(ctx, op, sess, err)
		}
		for _, subject := range subjects {
			sess.known.Store(subject, struct{}{})
		}
		return nil
	}
}

// readStored reads the last message of each of subjects, the keys of
// offsets, from the stream's leader, and returns them, or an error
// wrapping [offsetstore.ErrOffsetRegression] if one of offsets is below
// the value stored. A value that would refuse the call is read again,
// verified, so that a refusal never rests on what a leader cut off from
// the others holds.
func (s *OffsetStore) readStored(ctx context.Context, sess *session, offsets []*egopb.Offset, subjects []string) ([]*message, error) {
	stored, below, err := s.readEach(ctx, sess, offsets, subjects, false)
	if err != nil || below == nil {
		return stored, err
	}
	if stored, below, err = s.readEach(ctx, sess, offsets, subjects, true); err != nil {
		return nil, err
	}
	if below != nil {
		return nil, below
	}
	return stored, nil
}

// readEach reads the last message of each of subjects, one at a time,
// verified if linearizable is set, and returns them, or, as below, the
// error of the first of offsets below the value its key holds.
func (s *OffsetStore) readEach(ctx context.Context, sess *session, offsets []*egopb.Offset, subjects []string, linearizable bool) (stored []*message, below, err error) {
	stored = make([]*message, len(offsets))
	for i, o := range offsets {
		m, err := s.read(ctx, sess, subjects[i], linearizable)
		if err != nil {
			return nil, nil, err
		}
		v, ok, err := valueOf(m)
		if err != nil {
			return nil, nil, err
		}
		if ok && o.Value < v.value {
			return nil, belowStored(o.ProjectionName, o.ShardNumber, o.Value, v.value), nil
		}
		stored[i] = m
	}
	return stored, nil, nil
}
