package nats

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
)

// MaxWriteOffsets is the most offsets one [OffsetStore.WriteOffsets] call
// takes, one message each in one atomic batch: a server holds at most
// 1000 messages in a batch unless configured otherwise (max_batch_size).
// [OffsetStore.ResetShards] and [OffsetStore.DeleteShards] name fewer
// shards than that, their batch carrying one more message.
const MaxWriteOffsets = 1000

// DeleteShards removes the offsets of projectionName's shards, or of every
// shard if shards is nil, at once, and returns the offsets it removed,
// sorted by shard. Shards that have no offset are skipped. See
// [OffsetStore.ResetShards] for how it stays atomic and what it returns.
func (s *OffsetStore) DeleteShards(ctx context.Context, projectionName string, shards []uint64) ([]*egopb.Offset, error) {
	return s.changeShards(ctx, "DeleteShards", projectionName, shards, func(r record) record { return record{delete: true} },
		func(subject string) *nats.Msg {
			msg := &nats.Msg{Subject: subject, Header: nats.Header{}}
			msg.Header.Set(hdrOperation, opDelete)
			return msg
		})
}

// ResetShards sets Value to value, and Timestamp to the clock's now in Unix
// milliseconds, on projectionName's shards, or on every shard if shards is
// nil, at once, and returns the offsets it changed as they were before,
// sorted by shard. Shards that have no offset are skipped, not created: an
// empty result means nothing was reset.
//
// It reads the projection's keys from the stream's leader, then stores, as
// one atomic batch, the change and a condition that what it read is still
// there, reading again and trying again when it is not. For every shard
// the change is [OffsetStore.ResetOffset]'s: the projection's record, on
// the condition that no key of the projection changed since the read.
// For some shards it rewrites each of them, on the condition that its
// message is still the one read, and that the projection's record is too.
func (s *OffsetStore) ResetShards(ctx context.Context, projectionName string, value int64, shards []uint64) ([]*egopb.Offset, error) {
	now := s.clock().UnixMilli()
	data := shardValue{value: value, timestamp: now}.encode()
	return s.changeShards(ctx, "ResetShards", projectionName, shards, func(r record) record { return r.reset(value, now) },
		func(subject string) *nats.Msg { return &nats.Msg{Subject: subject, Data: data} })
}

// changeShards changes name's shards, all of them through the record
// next makes of the current one, or those of shards through the
// message change makes for each.
func (s *OffsetStore) changeShards(ctx context.Context, op, name string, shards []uint64,
	next func(record) record, change func(subject string) *nats.Msg) ([]*egopb.Offset, error) {
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
	for {
		st, err := s.readProjection(rctx, sess, name)
		if err != nil {
			return nil, s.translate(ctx, op, sess, err)
		}
		var changed []*egopb.Offset
		// The lock key carries the batch's condition on what was read.
		lock := &nats.Msg{Subject: s.keys.lock(name), Header: nats.Header{}}
		msgs := []*nats.Msg{lock}
		if shards == nil {
			changed = st.offsets
			if len(changed) == 0 {
				return changed, nil
			}
			r, err := decodeRecord(st.record)
			if err != nil {
				return nil, s.translate(ctx, op, sess, err)
			}
			lock.Header.Set(hdrExpectedSubjSubj, s.keys.projection(name))
			lock.Header.Set(hdrExpectedSubjSeq, strconv.FormatUint(st.last, 10))
			rec := &nats.Msg{Subject: s.keys.record(name), Data: next(r).encode(), Header: nats.Header{}}
			rec.Header.Set(hdrExpectedSubjSeq, seqOf(st.record))
			msgs = append(msgs, rec)
		} else {
			changed = []*egopb.Offset{}
			lock.Header.Set(hdrExpectedSubjSubj, s.keys.record(name))
			lock.Header.Set(hdrExpectedSubjSeq, seqOf(st.record))
			seen := make(map[uint64]bool, len(shards))
			for _, o := range st.offsets {
				seen[o.ShardNumber] = true
			}
			wanted := make(map[uint64]bool, len(shards))
			for _, shard := range shards {
				wanted[shard] = true
			}
			for _, o := range st.offsets {
				if !wanted[o.ShardNumber] {
					continue
				}
				changed = append(changed, o)
				msg := change(s.keys.shard(name, o.ShardNumber))
				if msg.Header == nil {
					msg.Header = nats.Header{}
				}
				msg.Header.Set(hdrExpectedSubjSeq, seqOf(st.shards[o.ShardNumber]))
				msgs = append(msgs, msg)
			}
			if len(changed) == 0 {
				return changed, nil
			}
		}
		_, err = sess.publishBatch(rctx, msgs)
		// The batch may have replaced the record this session remembers.
		sess.records.Delete(name)
		switch {
		case conflict(err):
			continue
		case err != nil:
			return nil, s.translate(ctx, op, sess, err)
		}
		return changed, nil
	}
}

// WriteOffsets writes every offset of offsets as one atomic batch: all of
// them or, if any fails, none, and no reader sees some and not the
// others. It refuses the whole call, writing nothing, if any offset is bad
// input, if two name the same projection and shard, or if there are more
// than [MaxWriteOffsets] (split them: all or nothing then holds for each
// call, not across them); and, with [WithMonotonicWrites], if any would
// lower a stored value, each being written on the condition that its
// shard's message is still the one compared with.
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
	for {
		msgs := make([]*nats.Msg, len(offsets))
		for i, o := range offsets {
			v := shardValue{value: o.Value, timestamp: o.Timestamp}
			msgs[i] = &nats.Msg{Subject: s.keys.shard(o.ProjectionName, o.ShardNumber), Data: v.encode(), Header: nats.Header{}}
			if !s.monotonic {
				continue
			}
			m, stored, ok, err := s.read(wctx, sess, o.ProjectionName, o.ShardNumber)
			if err != nil {
				return s.translate(ctx, op, sess, err)
			}
			if ok && o.Value < stored.value {
				return opError(op, belowStored(o.ProjectionName, o.ShardNumber, o.Value, stored.value))
			}
			msgs[i].Header.Set(hdrExpectedSubjSeq, seqOf(m))
		}
		err := sess.retry(wctx, func(ctx context.Context) error {
			_, err := sess.publishBatch(ctx, msgs)
			return err
		})
		switch {
		case conflict(err):
			continue
		case err != nil:
			return s.translate(ctx, op, sess, err)
		}
		return nil
	}
}
