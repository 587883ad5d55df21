// Package offsetstoretest checks that an implementation of
// [offsetstore.OffsetStore] and [offsetstore.Admin] keeps the rules written
// on those interfaces, and helps test code that uses a store when the store
// fails.
//
// [Run] is the conformance suite of OffsetStore, [RunAdmin] that of the
// methods Admin adds. Call them from a test beside the implementation, with
// a function that makes a new, empty store that is not yet connected; they
// connect it, and disconnect it when the case ends:
//
//	func TestMyStore(t *testing.T) {
//		offsetstoretest.Run(t, func(t *testing.T) offsetstore.OffsetStore {
//			return mystore.New()
//		})
//	}
//
//	func TestMyStore_Admin(t *testing.T) {
//		offsetstoretest.RunAdmin(t, func(t *testing.T) offsetstore.Admin {
//			return mystore.New()
//		})
//	}
//
// Every case is a subtest named for what it checks, so one can be run alone
// while a store is being fixed:
//
//	go test -run 'TestMyStore/ResetAllShards'
//
// [FaultyStore] wraps any store and makes chosen calls fail, for testing that
// code using a store (a projection, say) retries or gives up as it should.
//
// The suite uses the standard library only: running it adds no dependency
// to a store's module.
//
// # Caveats
//
// Cases run one after another, never in parallel, and each gets a store of
// its own from newStore. A store backed by a shared database must still give
// each one a clean slate: a new schema, or tables emptied by a [testing.T.Cleanup]
// that newStore registers. No case asserts how long a call takes.
//
// Atomicity and safety for concurrent use cannot be proved from outside a
// store. The ResetAtomic, Concurrent and ConnectionChurn cases, and
// RunAdmin's WriteOffsetsAtomic, ResetShardsAtomic and DeleteShardsAtomic,
// race goroutines against each other, each for at least 250 ms and a set number
// of calls, and catch a broken store most of the time, not every time; run
// them with -race, and more than once.
//
// Not every rule is checked in full:
//   - Rule 10 (memory and time grow with keys, not writes) is not checked:
//     timing belongs in benchmarks.
//   - Rule 12 (refusing lower values with [offsetstore.ErrOffsetRegression])
//     is optional, and a store runs the suite in its default,
//     last-write-wins configuration (rule 5).
//   - What Disconnect does to stored offsets is left to the store: no case
//     reads an offset written before a Disconnect.
//   - Done contexts are tried on WriteOffset, GetCurrentOffset and
//     ResetOffset, and by RunAdmin on every method Admin adds, not on
//     Connect, Disconnect or Ping.
//   - Errors are checked by kind, with [errors.Is]. For bad input the suite
//     also checks that the error says more than [offsetstore.ErrInvalidArgument]
//     alone, not what it says.
//   - UnusualNames accepts, for each name, either an exact round trip or
//     ErrInvalidArgument: it checks that a store never changes a name to
//     fit, not which names it holds.
//   - The timestamp ResetOffset stamps must fall between two readings of
//     this process's clock taken around the call. A store that stamps with
//     another machine's clock, such as a database server's now(), fails
//     ResetAllShards when the two clocks disagree by more than the call takes.
package offsetstoretest
