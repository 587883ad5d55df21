// Package offsetstore is the contract between eGo's projections and the
// stores that keep, per projection and shard, the offset a projection has
// reached: [OffsetStore], the methods eGo calls; [Admin], the methods an
// operator's tool or a test calls on top; and the sentinel errors every
// store wraps ([ErrNotConnected], [ErrInvalidArgument],
// [ErrOffsetRegression]).
//
// A program picks a store and hands it to eGo through
// [github.com/ego-contrib/offsetstore/egoadapter.ToEgo], with eGo's egopb:
//
//	store := postgres.NewOffsetStore(os.Getenv("OFFSETSTORE_POSTGRES_URL"))
//	cfg := ego.NewConfig(events,
//		ego.WithOffsetStore(egoadapter.ToEgo[egopb.Offset, egopb.ProjectionId](store)))
//
// The stores, each satisfying [Admin]:
//   - [github.com/ego-contrib/offsetstore/memory]: in this process's memory,
//     for tests and prototypes.
//   - [github.com/ego-contrib/offsetstore/postgres]: in PostgreSQL, on the
//     table of eGo's own store, durable and shared by every node.
//   - [github.com/ego-contrib/offsetstore/nats]: in a NATS JetStream
//     KeyValue bucket, durable, shared, replicated on three servers.
//
// The contract has eGo's methods (github.com/tochemey/ego/v4/offsetstore),
// over this module's messages, package
// [github.com/ego-contrib/offsetstore/egopb]: the same fields as eGo's, so
// the same bytes on the wire, but other Go types, so that this module does
// not depend on eGo. [github.com/ego-contrib/offsetstore/offsetstoretest]
// checks a store against the rules written on [OffsetStore] and [Admin].
package offsetstore
