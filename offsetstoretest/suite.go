package offsetstoretest

import (
	"context"
	"testing"

	"github.com/ego-contrib/offsetstore"
)

// A testCase checks one rule of [offsetstore.OffsetStore] on a store of its
// own.
type testCase struct {
	// name names the subtest: CamelCase and stable, so that -run can pick it.
	name string
	// rule is what the case checks, in one sentence; it ends every failure
	// message the case reports.
	rule string
	// unconnected gives fn the store as newStore made it, for the cases
	// about connecting; any other case gets it connected.
	unconnected bool
	fn          func(h *harness)
}

// cases are in the order of the rules on [offsetstore.OffsetStore]. Rule
// 10 is for benchmarks, and rule 12 is optional: no case checks them.
var cases = []testCase{
	// Rule 1: connection.
	{name: "ConnectTwice", unconnected: true, fn: testConnectTwice,
		rule: "Connect on a connected store must succeed and leave it usable"},
	{name: "DisconnectTwice", fn: testDisconnectTwice,
		rule: "Disconnect on a disconnected store must succeed"},
	{name: "DisconnectNeverConnected", unconnected: true, fn: testDisconnectNeverConnected,
		rule: "Disconnect on a store that was never connected must succeed"},
	{name: "PingConnects", unconnected: true, fn: testPingConnects,
		rule: "Ping must connect a store that is not connected"},
	{name: "PingConnected", fn: testPingConnected,
		rule: "Ping on a connected store must return nil and leave it usable"},

	// Rule 2: not connected.
	{name: "NotConnectedBeforeConnect", unconnected: true, fn: testNotConnectedBeforeConnect,
		rule: "before Connect, WriteOffset, GetCurrentOffset and ResetOffset must fail with offsetstore.ErrNotConnected and change nothing"},
	{name: "NotConnectedAfterDisconnect", fn: testNotConnectedAfterDisconnect,
		rule: "after Disconnect, WriteOffset, GetCurrentOffset and ResetOffset must fail with offsetstore.ErrNotConnected"},

	// Rule 3: bad input.
	{name: "WriteInvalidArgument", fn: testWriteInvalidArgument,
		rule: "WriteOffset of a nil offset, or of a projection name that is empty or not valid UTF-8, must fail with offsetstore.ErrInvalidArgument, say what was wrong and change nothing"},
	{name: "GetInvalidArgument", fn: testGetInvalidArgument,
		rule: "GetCurrentOffset of a nil projection id, or of a projection name that is empty or not valid UTF-8, must fail with offsetstore.ErrInvalidArgument and say what was wrong"},
	{name: "ResetInvalidArgument", fn: testResetInvalidArgument,
		rule: "ResetOffset of a projection name that is empty or not valid UTF-8 must fail with offsetstore.ErrInvalidArgument, say what was wrong and change nothing"},
	{name: "UnusualNames", fn: testUnusualNames,
		rule: "a valid projection name a database may not hold (a NUL byte, hundreds or thousands of bytes, quotes) must be kept exactly, or refused with offsetstore.ErrInvalidArgument that says why, changing nothing"},

	// Rule 4: done contexts.
	{name: "ContextCanceled", fn: testContextCanceled,
		rule: "a call with a cancelled context must fail with an error wrapping context.Canceled and change nothing"},
	{name: "ContextDeadlineExceeded", fn: testContextDeadlineExceeded,
		rule: "a call whose context's deadline has passed must fail with an error wrapping context.DeadlineExceeded and change nothing"},

	// Rules 5 to 7: writing and reading.
	{name: "LastWriteWins", fn: testLastWriteWins,
		rule: "the last WriteOffset to a projection name and shard must win, even with a lower Value"},
	{name: "TimestampAsGiven", fn: testTimestampAsGiven,
		rule: "WriteOffset must store Timestamp as given"},
	{name: "KeysAreDistinct", fn: testKeysAreDistinct,
		rule: "every projection name and shard number must hold an offset of its own: names are case-sensitive and every uint64 is a shard"},
	{name: "AbsentIsNil", fn: testAbsentIsNil,
		rule: "GetCurrentOffset of an id nothing was written to must return nil, nil"},
	{name: "CopyIn", fn: testCopyIn,
		rule: "WriteOffset must not keep the caller's Offset"},
	{name: "CopyOut", fn: testCopyOut,
		rule: "every GetCurrentOffset must return a new Offset the caller may change"},

	// Rule 8: reset.
	{name: "ResetAllShards", fn: testResetAllShards,
		rule: "ResetOffset must set Value, and Timestamp to now, on every shard of the projection"},
	{name: "ResetOtherProjectionsUntouched", fn: testResetOtherProjectionsUntouched,
		rule: "ResetOffset must leave other projections untouched"},
	{name: "ResetUnknownProjection", fn: testResetUnknownProjection,
		rule: "ResetOffset of a projection with no offsets must return nil and create nothing"},
	{name: "ResetThenWrite", fn: testResetThenWrite,
		rule: "a WriteOffset after ResetOffset must win, and a later ResetOffset must reach shards written since"},
	{name: "ResetAtomic", fn: testResetAtomic,
		rule: "ResetOffset must reset every shard at once, dense or sparse: no reader may see some shards reset and others not"},

	// Rule 9: concurrency.
	{name: "Concurrent", fn: testConcurrent,
		rule: "offsets written by one writer must never go backwards when read concurrently, and a read must return the Value and Timestamp of one write"},
	{name: "ConnectionChurn", fn: testConnectionChurn,
		rule: "Connect, Disconnect and Ping must be safe alongside other calls, which must succeed or fail with offsetstore.ErrNotConnected"},

	// Rule 11: the order of errors.
	{name: "ErrorOrder", fn: testErrorOrder,
		rule: "when several errors apply, a call must return the first of the context's error, offsetstore.ErrInvalidArgument and offsetstore.ErrNotConnected, and wrap no other"},
}

// Run checks that the stores newStore makes keep the rules of
// [offsetstore.OffsetStore], reporting every broken rule through t.
//
// Run runs each case in a subtest of t named for what it checks
// (ResetAllShards, CopyOut, ...), with a new store from newStore. newStore
// must return an empty store that is not yet connected; it may register
// [testing.T.Cleanup] functions on the subtest's t it is given. Run connects
// the store itself, except in the cases about connecting, and disconnects it
// when the case ends.
//
// Run does not call [testing.T.Parallel].
func Run(t *testing.T, newStore func(t *testing.T) offsetstore.OffsetStore) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			store := newStore(t)
			t.Cleanup(func() {
				// t.Context is already cancelled when cleanups run.
				if err := store.Disconnect(context.Background()); err != nil {
					t.Errorf("Disconnect(ctx) = %v; want <nil>: Disconnect must never fail", err)
				}
			})
			if !c.unconnected {
				if err := store.Connect(t.Context()); err != nil {
					t.Fatalf("Connect(ctx) = %v; want <nil>: a new store must connect", err)
				}
			}
			c.fn(&harness{t: t, store: store, rule: c.rule})
		})
	}
}
