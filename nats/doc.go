// Package nats is an [offsetstore.OffsetStore] that keeps eGo projections'
// offsets in a NATS JetStream KeyValue bucket: durable, shared by every
// node of an application, and, with three replicas, kept through the loss
// of any one server, with no database to run.
//
//	store := nats.NewOffsetStore("nats://n1:4222,nats://n2:4222,nats://n3:4222",
//		nats.WithCreateBucket()) // three replicas on a cluster, one on a server alone
//	if err := store.Ping(ctx); err != nil { ... } // connects, as eGo does
//	defer store.Disconnect(ctx)
//	err := store.WriteOffset(ctx, &egopb.Offset{ProjectionName: "accounts", ShardNumber: 0, Value: 15, Timestamp: now})
//	current, err := store.GetCurrentOffset(ctx, &egopb.ProjectionId{ProjectionName: "accounts"})
//
// It needs nats-server 2.12 or later (atomic batch publishing), and was
// tested with 2.15.3.
//
// # Connecting
//
// [OffsetStore.Connect], and [OffsetStore.Ping] on a store not connected,
// refuse every server and bucket on which an acknowledged offset could be
// lost or go back, with an error that names the version or the setting:
//
//   - a server older than 2.12 ([ErrServerVersion]): it ignores
//     allow_atomic, so that an atomic batch is stored message by message
//     and a write can slip into a reset. Connect checks the version of the
//     server it reaches, and, after it creates the bucket or turns atomic
//     batches on, reads the bucket's settings back to check that the
//     servers kept allow_atomic.
//   - a bucket whose stream has one of these settings
//     ([ErrBucketSettings]), since each can remove an offset's last
//     message, or make the store read where it did not write: max_age (a
//     TTL); max_msgs or max_bytes with discard old; retention other than
//     limits (interest and work queue remove messages); memory storage
//     (lost when the servers restart); subjects that do not include
//     $KV.<bucket>.>; a subject_transform. Also refused, as no write could
//     succeed: no_ack, and discard_new_per_subject (it refuses every
//     rewrite of a key). Any other setting keeps each key's last message:
//     max_msgs_per_subject keeps at least one, and max_msgs or max_bytes
//     with discard new make writes fail once the bucket is full, and lose
//     nothing. The store never changes these settings; it only turns
//     allow_atomic on, with [WithCreateBucket].
//   - a server without JetStream: the error wraps
//     [jetstream.ErrJetStreamNotEnabled] and says so.
//   - a bucket name that is not one or more of a-z A-Z 0-9 - _, or longer
//     than 252 bytes, before asking the server; and a bucket the server
//     refuses to create (more than 5 replicas, say): both wrap
//     [offsetstore.ErrInvalidArgument].
//
// [WithCreateBucket] without [WithReplicas] asks for three replicas, and
// takes one only when the server answers that it is not in a cluster; a
// cluster that cannot place three (a cluster of two, say) fails Connect
// rather than get a weaker bucket.
//
// A write that fails is never sent later. The store's own connection has
// no reconnect buffer (nats.ReconnectBufSize(-1)): a request made while
// it reconnects fails at once, unsent, and the store tries it again until
// the call's context ends. With nats.go's default buffer it would be kept
// and sent once the connection is back, after its caller was told it
// failed, where it could undo a later write. For the same reason Connect
// refuses a [WithConn] connection that has the buffer, with
// [offsetstore.ErrInvalidArgument]: make it with nats.ReconnectBufSize(-1)
// or nats.NoReconnect().
//
// [OffsetStore.Disconnect] returns nil only when no write the store sent
// can be stored after it returns. A write whose context ended before its
// acknowledgement came may still be stored: it may wait in a leader's log
// for a quorum. So when there is one, Disconnect writes an empty message,
// the fence, to the bucket's key "fence" on the same connection, and
// waits for its acknowledgement: the servers take one connection's
// messages to a stream in the order it sent them, and a leader
// acknowledges a message once the entries before it in its log are
// stored, so each earlier write is then stored or never will be. If the
// context ends first, or the connection reconnected since such a write
// was sent (the old connection's last bytes may still reach a server), it
// returns an error wrapping [ErrWritesInDoubt].
//
// # Keys
//
// The bucket (default [DefaultBucket], the stream KV_offsets_store) holds
// one key per projection and shard, <name>.<shard>, where <name> is the
// projection's name in base64url without padding and <shard> the shard
// number as 16 lowercase hex digits: a name keeps every character it has,
// dots, wildcards, spaces, NUL bytes and any other, since the key spells
// it in letters a subject holds; two names never share a key, since the
// encoding is reversible and has no dot; and every key of a projection
// matches the subject filter <name>.*. A name longer than [MaxNameBytes]
// would make a subject longer than a server accepts: the store refuses it
// with [offsetstore.ErrInvalidArgument]. A shard's value is
// "<value> <timestamp>" in decimal, readable with the nats command. The
// key "fence" is [OffsetStore.Disconnect]'s (see Connecting), and holds
// nothing.
//
// Besides its shards, a projection has a record, the key <name>.p: its
// last reset or deletion, which applies to every shard whose message the
// stream stored before it, by stream sequence. That is how a reset is
// atomic across shards and misses none: [OffsetStore.ResetOffset] stores
// one message. A shard written before it is reset; one written after it
// keeps its own value; and a shard written while the reset runs is stored
// either before or after it, so no reader sees some shards reset and
// others not, and none is missed. The record is written on the condition
// that it is still the one the store read (Nats-Expected-Last-Subject-
// Sequence), so that concurrent resets and deletions never undo each
// other. Readers combine a shard's message with the record.
//
// A condition on a wildcard filter (Nats-Expected-Last-Subject-Sequence-
// Subject) would have been the other way: rewrite every shard in one
// atomic batch, on the condition that no key of the projection changed
// since they were read. The server checks such a condition against the
// messages it has stored, not against writes proposed to the cluster and
// not yet applied (which it does track for a literal subject), so a shard
// written in that window would be missed; the record has no such window.
//
// # Reads are linearizable
//
// A KeyValue bucket allows direct gets, which any replica answers, from
// what it has applied: a replica that lags its leader answers with an
// offset older than one already acknowledged through another server. On a
// replicated bucket the store never uses them. It asks $JS.API.STREAM.MSG.GET, which only the
// stream's leader answers, from what it has applied, which includes every
// write it acknowledged, and which reads isolated from atomic batches. So
// a read through any server returns every write and reset acknowledged
// through any other; the tests check this with porcupine through three
// servers, and see it fail with direct gets. A newly elected leader counts
// as leader only once it has processed the entries its predecessor
// committed (server/raft.go), so a leader change keeps this. A read costs two round trips
// to the leader (the shard and the record), sent at once;
// [OffsetStore.Offsets] and [OffsetStore.Snapshot] read one message per
// round trip. On a bucket of one replica, whose one server answers both
// kinds of get, the store asks for direct gets, which cost that server
// less.
//
// # Writes
//
// [OffsetStore.WriteOffset] stores one message, sent from its caller's
// goroutine and acknowledged on its own. Concurrent writes are not grouped:
// on three servers, 64 writers got 0.72 to 0.80 times the throughput of one
// message per call when their writes went out in groups of 7 to 26, as
// atomic batches or as messages sent at once. A batch waits for its last
// message, and the servers stage it before they replicate it, while each
// message still costs them a raft entry and a store on every replica (see
// the README's Performance section). [OffsetStore.WriteOffsets], [OffsetStore.ResetShards] and
// [OffsetStore.DeleteShards] of some shards are atomic batches too, with a
// condition on every key they change, read again and tried again when a
// condition fails.
//
// # Caveats
//
//   - A bucket made elsewhere must allow atomic publishing (allow_atomic);
//     [WithCreateBucket] turns it on. Without [WithCreateBucket], Connect
//     fails on a missing bucket and says how to create it.
//   - Connect checks the version of the server it reaches, not of every
//     server of a cluster: a cluster must run 2.12 or later throughout.
//     It checks the bucket's settings on a store's first successful
//     Connect only: later Connects of the same [OffsetStore] reuse what it
//     found, and do not see a setting changed since.
//   - The bucket keeps a key per projection and shard ever written, and a
//     record per projection ever reset or deleted: a deleted shard is a
//     delete marker, a deleted projection's shards stay as messages below
//     its record. Storage grows with keys, not with writes.
//   - A leader cut off from the others by a network partition answers reads
//     until it learns that it lost its leadership (the server does not
//     confirm it with a quorum for each read): for that while, a read
//     through it may miss a write acknowledged by the new leader. The
//     tests stop servers; they do not partition them.
//   - A stream that mirrors the bucket with mirror_direct answers the
//     bucket's direct gets too, from its own, later state: do not mirror a
//     bucket of one replica that way, or read it through a replicated one.
//   - The bucket is meant for this store alone: readers skip keys they did
//     not write, and a history of more than one message per key costs
//     [OffsetStore.Snapshot] more round trips.
//   - A write, reset or deletion whose context ends after it was sent may
//     still be stored, until [OffsetStore.Disconnect] returns nil: its
//     caller gets the context's error either way. A nil error always
//     means acknowledged by a majority of the replicas. Calls made with a
//     context that has no deadline give up after 10 seconds.
//   - When the stream's leader is lost, writes in flight to it wait for
//     their context and fail; the writes after
//     them go through the new leader, elected within a couple of seconds
//     (see the README for the figures measured). The store retries by
//     itself only requests the servers did not take: no responders, no
//     stream leader, or not sent while the connection reconnects.
//   - [OffsetStore.WriteOffsets] takes at most [MaxWriteOffsets] offsets,
//     the server's default largest atomic batch; split larger sets, all or
//     nothing then holding for each call. A server configured with a
//     smaller max_batch_size refuses larger calls with its own error.
//   - [OffsetStore.ResetShards] and [OffsetStore.DeleteShards] report the
//     offsets they changed as read just before; a write of another shard
//     proposed to the cluster but not yet stored when they checked their
//     condition is changed (every shard) but may be missing from the
//     report, and one of the shards named is skipped (some shards).
//   - A [WithMonotonicWrites] write costs two round trips: the shard and
//     the record read at once, then the conditional write.
package nats
