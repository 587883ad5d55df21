// Package nats is an [offsetstore.OffsetStore] that keeps eGo projections'
// offsets in a NATS JetStream KeyValue bucket: durable, shared by every
// node of an application, and, with three replicas, kept through the loss
// of any one server, with no database to run.
//
//	store := nats.NewOffsetStore("nats://n1:4222,nats://n2:4222,nats://n3:4222",
//		nats.WithCreateBucket(), nats.WithReplicas(3))
//	if err := store.Ping(ctx); err != nil { ... } // connects, as eGo does
//	defer store.Disconnect(ctx)
//	err := store.WriteOffset(ctx, &egopb.Offset{ProjectionName: "accounts", ShardNumber: 0, Value: 15, Timestamp: now})
//	current, err := store.GetCurrentOffset(ctx, &egopb.ProjectionId{ProjectionName: "accounts"})
//
// It needs nats-server 2.12 or later (atomic batch publishing), and was
// tested with 2.15.3.
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
// "<value> <timestamp>" in decimal, readable with the nats command.
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
// Concurrent [OffsetStore.WriteOffset] calls share round trips: a lone
// write goes out at once from its caller, and the writes that arrive while
// it or a group is in flight go out together, up to 4 groups in flight,
// each as one atomic batch (on a bucket of one replica on file, where the
// server would stage each batch on disk and sync it, as separate messages
// sent at once). A group's callers get its outcome.
// [OffsetStore.WriteOffsets], [OffsetStore.ResetShards] and
// [OffsetStore.DeleteShards] of some shards are atomic batches too, with a
// condition on every key they change, read again and tried again when a
// condition fails.
//
// # Caveats
//
//   - A bucket made elsewhere must allow atomic publishing (allow_atomic);
//     [WithCreateBucket] turns it on. Without [WithCreateBucket], Connect
//     fails on a missing bucket and says how to create it.
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
//     still be stored: its caller gets the context's error either way. A
//     nil error always means acknowledged by a majority of the replicas.
//     Calls made with a context that has no deadline give up after 10
//     seconds.
//   - When the stream's leader is lost, writes in flight to it wait for
//     their context (or 2 seconds, for a group) and fail; the writes after
//     them go through the new leader, elected within a couple of seconds
//     (see the README for the figures measured). The store retries by
//     itself only requests the servers did not take: no responders, or no
//     stream leader.
//   - [OffsetStore.WriteOffsets] takes at most [MaxWriteOffsets] offsets,
//     the server's default largest atomic batch; split larger sets, all or
//     nothing then holding for each call. A server configured with a
//     smaller max_batch_size refuses larger calls with its own error.
//   - [OffsetStore.ResetShards] and [OffsetStore.DeleteShards] report the
//     offsets they changed as read just before; a write of another shard
//     proposed to the cluster but not yet stored when they checked their
//     condition is changed (every shard) but may be missing from the
//     report, and one of the shards named is skipped (some shards).
//   - [WithMonotonicWrites] writes are not grouped: each costs three round
//     trips (the shard and the record read, the conditional write).
package nats
