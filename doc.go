// Package offsetstore defines the contract between eGo projections and the
// store that remembers, per projection and shard, the offset a projection has
// reached: [OffsetStore], and the sentinel errors its implementations wrap.
//
// The contract is eGo's (github.com/tochemey/ego/v4/offsetstore), carried
// here because eGo's modules are not always at hand; the messages it passes
// are in package [github.com/ego-contrib/offsetstore/egopb], wire-compatible
// with eGo's but other Go types:
// [github.com/ego-contrib/offsetstore/egoadapter.ToEgo] hands a store to
// eGo.
//
// Implementations:
//   - [github.com/ego-contrib/offsetstore/memory]: in memory, for tests and
//     prototypes.
//
// Any implementation can check itself against the contract with
// [github.com/ego-contrib/offsetstore/offsetstoretest.Run].
package offsetstore
