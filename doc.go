// Package offsetstore defines the contract between eGo projections and the
// store that remembers, per projection and shard, the offset a projection has
// reached: [OffsetStore], and the sentinel errors its implementations wrap.
//
// The contract mirrors eGo's (github.com/tochemey/ego/v4/offsetstore),
// method for method, carried here because eGo's modules are not always at
// hand. The messages it passes are this module's, in package
// [github.com/ego-contrib/offsetstore/egopb]: wire-compatible with eGo's,
// but other Go types, so a store is not eGo's interface as it is;
// [github.com/ego-contrib/offsetstore/egoadapter.ToEgo] hands a store to
// eGo.
//
// Implementations:
//   - [github.com/ego-contrib/offsetstore/memory]: in memory, for tests and
//     prototypes.
//   - [github.com/ego-contrib/offsetstore/postgres]: in PostgreSQL, for
//     production and for applications running on many nodes.
//
// Any implementation can check itself against the contract with
// [github.com/ego-contrib/offsetstore/offsetstoretest.Run].
package offsetstore
