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
// [NewOffsetStore] takes a server list as nats.go does, and these options:
// [WithBucket] (default [DefaultBucket]), [WithCreateBucket] and
// [WithReplicas] (three replicas on a cluster, one on a server alone),
// [WithConn] (a connection of yours, which must have no reconnect buffer),
// [WithMonotonicWrites] (refuse writes below the stored value, contract
// rule 12) and [WithClock] (the time resets stamp). The store satisfies
// [offsetstore.Admin].
//
// It needs nats-server 2.12 or later (atomic batch publishing), and was
// tested with 2.15.3. [OffsetStore.Connect], and [OffsetStore.Ping] on a
// store not connected, refuse every server and bucket on which an
// acknowledged offset could be lost or go back, with an error that names
// the version or the setting and what to do: a server before 2.12
// ([ErrServerVersion]), a bucket with a TTL, limits that discard old
// offsets, memory storage, a duplicate window under 30 s, or no atomic
// batches once the store tried to turn them on ([ErrBucketSettings]), a server without JetStream, and a
// bucket name a server refuses ([offsetstore.ErrInvalidArgument]).
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
// a write that returns nil held a value no lower than its shard's at the
// instant it took effect, resets and deletions run meanwhile included,
// and one refused with [offsetstore.ErrOffsetRegression] was below it.
// A call that failed is never sent later, and [OffsetStore.Disconnect]
// returns nil only when no write it sent can still be stored; otherwise
// its error wraps [ErrWritesInDoubt].
//
// The tests check these with porcupine through three servers, and, with
// OFFSETSTORE_NATS_FAULTS=1, while the stream's leader steps down, is cut
// off by a network partition and is killed. How the store does it (its
// keys, reads after a barrier, atomic batches conditioned on what they
// read), how it behaves when servers fail, what it costs and what to tune
// are in docs/nats.md, beside this package in the repository; the
// comments of read.go, change.go and settle.go hold the reasoning.
//
// # Caveats
//
//   - Connect checks the version of the server it reaches, not of every
//     server of a cluster: a cluster must run 2.12 or later throughout.
//     It checks the bucket's settings on a store's first successful
//     Connect only.
//   - The bucket is meant for this store alone. Change offsets through
//     the store or offsetctl: removing messages by hand (nats kv compact,
//     nats stream purge) while a projection is written and reset may make
//     a reset miss a shard written meanwhile.
//   - [OffsetStore.WriteOffsets] takes at most [MaxWriteOffsets] offsets.
//     [OffsetStore.ResetOffset], and ResetShards and DeleteShards of all
//     shards, fail on a projection with more than 999 shard keys, deleted
//     ones included: they change them in one atomic batch.
//     [OffsetStore.Offsets] reads at most 1024 keys at once, and fails on
//     a projection of more; [OffsetStore.Snapshot] of a bucket of more
//     reads each projection at one instant, not all at the same one.
//   - [OffsetStore.ResetShards] and [OffsetStore.DeleteShards] try again
//     while a shard they change is written between their read and their
//     batch: on a projection written continuously they wait for their
//     context. Stop the projection first, as eGo needs anyway.
//   - A call whose context has no deadline gives up after 10 seconds.
package nats
