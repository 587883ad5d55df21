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
// # Guarantees
//
// Every call that returns nil took effect at one instant between its call
// and its return, through whichever server, while servers step down, are
// killed or are cut off from the others: a read returns every write,
// reset and deletion acknowledged before it was called; a reset or
// deletion changes all its shards at once, no reader sees some changed
// and others not, and a shard written, added or deleted meanwhile is
// neither missed nor brought back. A write, reset or deletion returns nil
// only once the stream's leader acknowledged it, which it does once a
// majority of the bucket's replicas hold it. With [WithMonotonicWrites],
// no write lowers a shard below the value a write, reset or deletion
// acknowledged before it left (contract rule 12). The tests check these
// with porcupine through three servers, a leader cut off by a network
// partition, killed and stepping down included.
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
//     $KV.<bucket>.>; a subject_transform; a duplicate_window shorter
//     than 30 s (see Resets and deletions). Also refused, as no write could
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
// for a quorum. So when there is one, Disconnect writes a barrier (see
// Reads) on the same connection, and waits for its acknowledgement: the servers take one connection's
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
// with [offsetstore.ErrInvalidArgument]. A shard's key holds its offset,
// "<value> <timestamp>" in decimal, readable with the nats command, or a
// KV delete marker once the shard is deleted: the key alone says what the
// shard holds, so a reset or deletion rewrites the keys it changes.
//
// Besides its shards, a projection has a fence, the key <name>.p, which
// every change that may add or remove one of its shards writes: the first
// write of a shard (in one atomic batch with the shard, after it), and
// every reset and deletion. Its content means nothing, only its sequence
// does: a reset or deletion that read the projection's keys knows, by the
// fence's sequence, whether they are still all there are. Deleting,
// purging or compacting it by hand (nats kv del, purge, compact) changes
// no offset. The bucket also holds the key barrier, which reads write to
// (see Reads); its content means nothing either.
//
// # Reads
//
// [OffsetStore.GetCurrentOffset] first stores a barrier, a message on the
// barrier key, which the stream's leader acknowledges only once a
// majority of the replicas stored it and it applied it: so it was still
// the leader, and had applied every write acknowledged before. Then it
// asks, with one direct get (a multi_last batch, answered by whichever
// server of the stream's replicas hears it first, from what it has
// applied), for the last message of the shard's key and of the barrier
// key; the answer says up to which sequence it was read. When that is the
// barrier's or later, the server that answered had applied the barrier,
// so every write acknowledged before the read, and the shard's message is
// the one it held at that sequence, committed after the call. An earlier
// sequence means a replica that lags, or a leader cut off from the
// others, which still believes it leads: the read asks again until a
// server recent enough answers, or its context ends. So a read through a
// cut-off leader waits, and fails with its context, rather than return
// what that leader holds, and no direct get is trusted as it is, however
// many replicas the bucket has or comes to have. Two round trips, one
// after the other; writes made meanwhile do not hold the read up.
//
// An answer without the shard's message cannot tell whether the key has
// none or its message was replaced as the server read it; a bucket whose
// stream does not allow direct gets gets no answer at all (the store
// then stops asking for the rest of the session). The read is then
// verified instead: it asks for the key with $JS.API.STREAM.MSG.GET
// (which only a server that believes it leads answers), then stores a
// barrier on the condition that the key's last message is still the one
// read, which a leader checks against what it has applied and proposes
// only if it holds; when the key changed meanwhile, the read reads again.
// The condition names the key with a wildcard for the bucket's name,
// $KV.*.<key>, which on the bucket's stream matches that key alone, so
// that the server checks it against what it has applied, not against
// writes it proposed and has not yet applied, which come after the read.
//
// [OffsetStore.Offsets] and [OffsetStore.Snapshot] write first (the
// projection's fence, the bucket's barrier key), then read one message
// per round trip, in the order of their sequences, from whichever server
// answers, until they read one at least as recent as what they wrote: a
// server's state is a prefix of the stream's, so they read everything up
// to it, as it was once what they wrote was committed. A server that
// says there is nothing that recent is a leader cut off from the others:
// they ask again, until another answers or their context ends. Writes
// made meanwhile come after, and do not hold them up.
//
// A request safe to send twice (a read, a barrier) that gets no answer
// within a second, as when its leader vanished, is sent again, to the
// leader elected meanwhile; a request the servers did not take (no
// responders, no stream leader) is sent again after 50 ms; each try's
// answer is read on its own.
//
// # Writes
//
// [OffsetStore.WriteOffset] stores one message, sent from its caller's
// goroutine and acknowledged on its own, as a plain KeyValue put does.
// The first write of a session (a connection, from Connect to Disconnect)
// to a key it has not seen hold a message is an atomic batch of two, the
// shard and the fence, since it may add a shard; a key keeps a message
// once it has one, since the store purges none. Concurrent writes are not
// grouped: on three servers, 64 writers got 0.72 to 0.80 times the
// throughput of one message per call when their writes went out in
// groups of 7 to 26, as atomic batches or as messages sent at once (see
// the README's Performance section). With [WithMonotonicWrites], a write
// asks the leader for the shard's key, then writes on the condition that
// the key's last message is still the one it read
// (Nats-Expected-Last-Subject-Sequence), which every write, reset and
// deletion of the shard replaces; a value that would refuse the write is
// read again as GetCurrentOffset reads it, so that a refusal never rests
// on what a leader cut off from the others holds.
//
// # Resets and deletions
//
// [OffsetStore.ResetOffset], [OffsetStore.ResetShards] and
// [OffsetStore.DeleteShards] read the projection's keys, then rewrite
// every shard they change in one atomic batch, with the fence, on the
// condition that the fence and every deleted shard's marker are still the
// ones read: the shards rewritten are then, when the batch lands, exactly
// those that have an offset, since a shard added or deleted meanwhile
// wrote the fence, and a deleted shard written again replaced its marker.
// ResetShards and DeleteShards also condition the batch on every shard
// they change, so that what they return is what they changed, as it was
// just before. When a condition fails, they read again and try again.
// They read the keys in four round trips, however many there are: the
// fence, the list of the projection's keys (a stream info of its subject
// filter, from a state that includes the fence read), then every shard
// key at once. If they find nothing to change, they read the projection
// as Offsets does, and return when that finds nothing to change either.
// A store's ResetOffset of a projection it reset before writes its batch
// from what it kept of the keys, without reading them: the batch's
// conditions check all of it. Their conditions name literal subjects,
// which the leader checks against the writes it has proposed and not yet
// applied too.
//
// A refusal of an atomic batch (a reset's, a deletion's, a WriteOffsets',
// a first write's) does not prove that it was not stored: a server cut
// off from the others that still believes it leads keeps listening on
// the bucket's subjects, and once the cut heals it answers from its stale
// state, before the real leader acknowledges the same batch. So the last
// message of each batch carries a message id of its own (Nats-Msg-Id),
// and after a refusal the store writes the barrier key with that id: the
// leader, which checks ids within the stream's duplicate window, answers
// that the id is held, and the store returns as if the batch had been
// acknowledged, or stores it, so that the batch can no longer land, and
// the refusal stands. Only a leader that a majority follow acknowledges
// the barrier. It costs one round trip per refusal.
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
//   - The bucket keeps a key per projection and shard ever written (a
//     deleted shard's key holds a delete marker), a fence per projection,
//     and the barrier key: storage grows with keys, not with writes.
//   - A stream that mirrors the bucket with mirror_direct answers the
//     bucket's direct gets too, from its own, later state: do not mirror a
//     bucket of one replica that way, or read it through a replicated one.
//   - The bucket is meant for this store alone: readers skip keys they did
//     not write, and a history of more than one message per key costs
//     [OffsetStore.Snapshot] more round trips.
//   - The store relies on every key it has seen hold a message keeping
//     one. Removing messages by hand (nats kv compact, nats stream purge or
//     rmm) while the projection is written and reset may make a reset miss
//     a shard written meanwhile; deleting or purging a shard's key by hand
//     (nats kv del, purge) while a ResetOffset of its projection runs may
//     bring the shard back with the reset's value, as if deleted before.
//     Offsets change through the store, or offsetctl, only.
//   - A write, reset or deletion whose context ends after it was sent may
//     still be stored, until [OffsetStore.Disconnect] returns nil: its
//     caller gets the context's error either way. A nil error always
//     means acknowledged by a majority of the replicas. Calls made with a
//     context that has no deadline give up after 10 seconds.
//   - When the stream's leader is lost, writes in flight to it wait for
//     their context and fail, since sending one again could store it after
//     a later change; the writes after them go through the new leader,
//     elected within a couple of seconds when the old one shuts down, and
//     after 4 to 9 seconds (the servers' election timeout) when it is
//     killed or cut off (see the README for the figures measured). The
//     store retries writes by itself only when the servers did not take
//     them: no responders, no stream leader, an atomic batch dropped whole.
//   - [OffsetStore.WriteOffsets] takes at most [MaxWriteOffsets] offsets,
//     half the server's default largest atomic batch, to leave room for a
//     fence per projection; split larger sets, all or nothing then holding
//     for each call. [OffsetStore.ResetOffset], and ResetShards and
//     DeleteShards of all shards, fail on a projection with more than 999
//     shard keys, deleted ones included: they change them in one batch. A
//     server configured with a smaller max_batch_size refuses larger
//     batches with its own error.
//   - [OffsetStore.ResetShards] and [OffsetStore.DeleteShards] try again
//     while a shard they change is written between their read and their
//     batch: on a projection written continuously they wait for their
//     context. Stop the projection first, as eGo needs anyway.
//     [OffsetStore.ResetOffset] overwrites such a write instead.
//   - A server stages an atomic batch to a bucket of one replica on disk,
//     in a file store of its own, synced: on a bucket of one replica, a
//     reset, a deletion, a WriteOffsets and the first write of a session
//     to a key each cost that (see the README's Performance section).
//   - A [WithMonotonicWrites] write costs two round trips: the read, then
//     the conditional write; one that is refused, two more.
//   - A read of a key that has no message, or of a bucket without direct
//     gets, that meets a write to the key between its two round trips
//     reads again: a key written again and again, faster than that, is
//     read again until the read's context ends. eGo reads a shard before
//     its worker writes it.
package nats
