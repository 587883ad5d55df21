package offsetstoretest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/offsetstoretest"
)

func TestRun_PassesOnReferenceStore(t *testing.T) {
	offsetstoretest.Run(t, func(*testing.T) offsetstore.OffsetStore { return newReferenceStore() })
}

// A brokenStore breaks one rule, and names the case of Run that must catch
// it.
type brokenStore struct {
	caughtBy string
	name     string
	new      func() offsetstore.OffsetStore
}

// racingCases are the cases that race goroutines against each other: they
// catch a broken store in most runs, not in all.
var racingCases = []string{"ResetAtomic", "Concurrent", "ConnectionChurn"}

// brokenStores maps every case of Run to stores it must catch, in the
// order Run runs its cases. TestBrokenStores_CoverEveryCase keeps it
// complete.
var brokenStores = []brokenStore{
	{"ConnectTwice", "ConnectRefusesTwice", func() offsetstore.OffsetStore {
		return connectRefusesTwice{newReferenceStore()}
	}},
	{"DisconnectTwice", "DisconnectRefusesTwice", func() offsetstore.OffsetStore {
		return &disconnectRefusesTwice{referenceStore: newReferenceStore()}
	}},
	{"DisconnectNeverConnected", "DisconnectFailsWhenNotConnected", func() offsetstore.OffsetStore {
		return disconnectFails{newReferenceStore()}
	}},
	{"PingConnects", "PingDoesNotConnect", func() offsetstore.OffsetStore {
		return pingDoesNotConnect{newReferenceStore()}
	}},
	{"PingConnected", "PingToggles", func() offsetstore.OffsetStore {
		return pingToggles{newReferenceStore()}
	}},
	{"NotConnectedBeforeConnect", "IgnoresConnection", func() offsetstore.OffsetStore {
		s := newReferenceStore()
		s.connected = true
		return ignoresConnection{s}
	}},
	{"NotConnectedBeforeConnect", "WritesWhileNotConnected", func() offsetstore.OffsetStore {
		return writesWhileNotConnected{newReferenceStore()}
	}},
	{"NotConnectedAfterDisconnect", "DisconnectDoesNothing", func() offsetstore.OffsetStore {
		return ignoresConnection{newReferenceStore()}
	}},
	{"WriteInvalidArgument", "RepairsNames", func() offsetstore.OffsetStore {
		return repairsNames{newReferenceStore()}
	}},
	{"WriteInvalidArgument", "WritesRepairedNameThenRefuses", func() offsetstore.OffsetStore {
		return repairsThenRefuses{newReferenceStore()}
	}},
	{"WriteInvalidArgument", "BareInvalidArgument", func() offsetstore.OffsetStore {
		return bareInvalidArgument{newReferenceStore()}
	}},
	{"GetInvalidArgument", "GetFindsNothingForBadNames", func() offsetstore.OffsetStore {
		return getFindsNothingForBadNames{newReferenceStore()}
	}},
	{"ResetInvalidArgument", "ResetRepairsNames", func() offsetstore.OffsetStore {
		return resetRepairsNames{newReferenceStore()}
	}},
	{"ResetInvalidArgument", "ResetsRepairedNameThenRefuses", func() offsetstore.OffsetStore {
		return repairsThenRefuses{newReferenceStore()}
	}},
	{"UnusualNames", "CutsNamesTo255Bytes", func() offsetstore.OffsetStore {
		return changesNames{newReferenceStore(), func(name string) string {
			if len(name) > 255 {
				return strings.ToValidUTF8(name[:255], "")
			}
			return name
		}}
	}},
	{"UnusualNames", "CutsNamesAtNUL", func() offsetstore.OffsetStore {
		return changesNames{newReferenceStore(), func(name string) string {
			before, _, _ := strings.Cut(name, "\x00")
			return before
		}}
	}},
	{"UnusualNames", "RefusesWithAnotherError", func() offsetstore.OffsetStore {
		return refusesLongNames{newReferenceStore()}
	}},
	{"ContextCanceled", "IgnoresContext", func() offsetstore.OffsetStore {
		return ignoresContext{newReferenceStore()}
	}},
	{"ContextCanceled", "WritesThenReportsContext", func() offsetstore.OffsetStore {
		return writesThenReportsContext{newReferenceStore()}
	}},
	{"ContextDeadlineExceeded", "AlwaysCanceled", func() offsetstore.OffsetStore {
		return alwaysCanceled{newReferenceStore()}
	}},
	{"LastWriteWins", "DropsWrites", func() offsetstore.OffsetStore {
		return &dropsWrites{referenceStore: newReferenceStore()}
	}},
	{"TimestampAsGiven", "StampsWrites", func() offsetstore.OffsetStore {
		return stampsWrites{newReferenceStore()}
	}},
	{"KeysAreDistinct", "FoldsCase", func() offsetstore.OffsetStore {
		return changesNames{newReferenceStore(), strings.ToLower}
	}},
	{"AbsentIsNil", "ErrorWhenAbsent", func() offsetstore.OffsetStore {
		return errorWhenAbsent{newReferenceStore()}
	}},
	{"CopyIn", "KeepsCallerOffset", func() offsetstore.OffsetStore {
		return keepsCallerOffset{newReferenceStore()}
	}},
	{"CopyOut", "ReturnsStoredOffset", func() offsetstore.OffsetStore {
		return returnsStoredOffset{newReferenceStore()}
	}},
	{"ResetAllShards", "ResetsOneShard", func() offsetstore.OffsetStore {
		return resetsOneShard{newReferenceStore()}
	}},
	{"ResetAllShards", "ResetStampsSeconds", func() offsetstore.OffsetStore {
		return resetStampsSeconds{newReferenceStore()}
	}},
	{"ResetOtherProjectionsUntouched", "ResetsByPrefix", func() offsetstore.OffsetStore {
		return resetsByPrefix{newReferenceStore()}
	}},
	{"ResetUnknownProjection", "ResetCreatesOffsets", func() offsetstore.OffsetStore {
		return resetCreatesOffsets{newReferenceStore()}
	}},
	{"ResetThenWrite", "ResetsShardsKnownAtFirstReset", func() offsetstore.OffsetStore {
		return &resetsKnownShards{referenceStore: newReferenceStore(), known: make(map[string][]uint64)}
	}},
	{"ResetAtomic", "ResetsShardByShard", func() offsetstore.OffsetStore {
		return resetsShardByShard{newReferenceStore()}
	}},
	{"Concurrent", "ReadsFieldsApart", func() offsetstore.OffsetStore {
		return readsFieldsApart{newReferenceStore()}
	}},
	{"ConnectionChurn", "RefusesWhileConnecting", func() offsetstore.OffsetStore {
		return &refusesWhileConnecting{referenceStore: newReferenceStore()}
	}},
	{"ErrorOrder", "ChecksConnectionBeforeInput", func() offsetstore.OffsetStore {
		return checksConnectionBeforeInput{newReferenceStore()}
	}},
	{"ErrorOrder", "JoinsEveryError", func() offsetstore.OffsetStore {
		return joinsEveryError{newReferenceStore()}
	}},
}

// TestBrokenStores_CoverEveryCase keeps brokenStores in step with Run:
// every case must be shown to fail on some broken store, and every broken
// store must name a case of Run.
func TestBrokenStores_CoverEveryCase(t *testing.T) {
	names := offsetstoretest.CaseNames()
	for _, name := range names {
		if !slices.ContainsFunc(brokenStores, func(b brokenStore) bool { return b.caughtBy == name }) {
			t.Errorf("brokenStores has no store for case %s; want at least one, to show the case can fail", name)
		}
	}
	for _, b := range brokenStores {
		if !slices.Contains(names, b.caughtBy) {
			t.Errorf("broken store %s names case %s; want one of Run's cases %v", b.name, b.caughtBy, names)
		}
	}
}

// brokenEnv names, in a child process started by
// TestRun_CatchesBrokenStores, the broken store TestBrokenStoreHelper runs
// Run on.
const brokenEnv = "OFFSETSTORETEST_BROKEN"

// TestRun_CatchesBrokenStores proves that Run fails on every broken store,
// in the case meant to catch it. A store caught by one of racingCases is
// given up to raceTries runs, one of which must fail.
//
// Run reports through a real *testing.T, and a failure reported there
// cannot be taken back: the test that ran Run would fail too. So each broken
// store is tried in a child process, a new run of this test binary limited
// to the catching case of TestBrokenStoreHelper, and the parent reads its
// exit status and output. That keeps the suite written against *testing.T
// alone, with Fatal, Cleanup and subtests behaving just as they do for a
// store's authors, rather than against an interface that a fake T here
// would implement.
func TestRun_CatchesBrokenStores(t *testing.T) {
	for _, b := range brokenStores {
		t.Run(b.caughtBy+"/"+b.name, func(t *testing.T) {
			t.Parallel()
			tries := 1
			if slices.Contains(racingCases, b.caughtBy) {
				tries = raceTries
			}
			var out []byte
			for try := 1; try <= tries; try++ {
				var caught bool
				if caught, out = runBroken(t, "TestBrokenStoreHelper", b.caughtBy, b.name); caught {
					if try > 1 {
						t.Logf("caught on run %d of %d", try, tries)
					}
					return
				}
			}
			t.Fatalf("Run on %s passed case %s %d times out of %d; want it to fail\n%s", b.name, b.caughtBy, tries, tries, out)
		})
	}
}

// raceTries is how many runs a store only a race shows broken is given:
// on a loaded machine with two cores, ReadsFieldsApart got past Concurrent
// in 2 runs out of 200.
const raceTries = 5

// runBroken runs caseName of the suite that helper runs, on the broken
// store named store, in a child process, and reports whether it failed
// there, with the child's output.
func runBroken(t *testing.T, helper, caseName, store string) (caught bool, out []byte) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0],
		"-test.run=^"+helper+"$/^"+caseName+"$", "-test.timeout=1m")
	cmd.Env = append(os.Environ(), brokenEnv+"="+store)
	out, err := cmd.CombinedOutput()
	if err == nil {
		return false, out
	}
	if _, ok := errors.AsType[*exec.ExitError](err); !ok {
		t.Fatalf("running the suite on %s: %v; want the child test process to run\n%s", store, err, out)
	}
	if want := "--- FAIL: " + helper + "/" + caseName + " "; !bytes.Contains(out, []byte(want)) {
		t.Fatalf("the suite failed on %s, but its output lacks %q: it failed elsewhere\n%s", store, want, out)
	}
	return true, out
}

// TestBrokenStoreHelper runs Run on the broken store named by brokenEnv,
// in a child process of TestRun_CatchesBrokenStores; it is skipped
// otherwise.
func TestBrokenStoreHelper(t *testing.T) {
	name := os.Getenv(brokenEnv)
	if name == "" {
		t.Skip("run by TestRun_CatchesBrokenStores")
	}
	i := slices.IndexFunc(brokenStores, func(b brokenStore) bool { return b.name == name })
	if i < 0 {
		t.Fatalf("%s=%q names no broken store", brokenEnv, name)
	}
	offsetstoretest.Run(t, func(*testing.T) offsetstore.OffsetStore { return brokenStores[i].new() })
}

// disconnectFails fails to disconnect a store that is not connected.
type disconnectFails struct{ *referenceStore }

func (s disconnectFails) Disconnect(ctx context.Context) error {
	s.mu.RLock()
	connected := s.connected
	s.mu.RUnlock()
	if !connected {
		return errors.New("not connected")
	}
	return s.referenceStore.Disconnect(ctx)
}

// pingDoesNotConnect pings without connecting.
type pingDoesNotConnect struct{ *referenceStore }

func (pingDoesNotConnect) Ping(context.Context) error { return nil }

// ignoresConnection never disconnects. Made connected, it is connected
// from the start.
type ignoresConnection struct{ *referenceStore }

func (ignoresConnection) Disconnect(context.Context) error { return nil }

// repairsNames writes offsets under invalid UTF-8 names after repairing
// them, instead of refusing them.
type repairsNames struct{ *referenceStore }

func (s repairsNames) WriteOffset(ctx context.Context, o *egopb.Offset) error {
	if o != nil {
		o = clone(o)
		o.ProjectionName = strings.ToValidUTF8(o.ProjectionName, "\uFFFD")
	}
	return s.referenceStore.WriteOffset(ctx, o)
}

// ignoresContext carries on with a done context.
type ignoresContext struct{ *referenceStore }

func (s ignoresContext) WriteOffset(_ context.Context, o *egopb.Offset) error {
	return s.referenceStore.WriteOffset(context.Background(), o)
}

func (s ignoresContext) GetCurrentOffset(_ context.Context, id *egopb.ProjectionId) (*egopb.Offset, error) {
	return s.referenceStore.GetCurrentOffset(context.Background(), id)
}

func (s ignoresContext) ResetOffset(_ context.Context, name string, value int64) error {
	return s.referenceStore.ResetOffset(context.Background(), name, value)
}

// writesThenReportsContext finishes a write whatever its context, and
// only then reports that the context was done, as a store that commits
// with a context it cannot cancel would.
type writesThenReportsContext struct{ *referenceStore }

func (s writesThenReportsContext) WriteOffset(ctx context.Context, o *egopb.Offset) error {
	if err := s.referenceStore.WriteOffset(context.WithoutCancel(ctx), o); err != nil {
		return err
	}
	return ctx.Err()
}

// dropsWrites acknowledges every third write it is given and forgets it.
type dropsWrites struct {
	*referenceStore
	writes atomic.Int64
}

func (s *dropsWrites) WriteOffset(ctx context.Context, o *egopb.Offset) error {
	if s.writes.Add(1)%3 == 0 {
		return nil
	}
	return s.referenceStore.WriteOffset(ctx, o)
}

// stampsWrites stores the time of writing instead of the Timestamp given.
type stampsWrites struct{ *referenceStore }

func (s stampsWrites) WriteOffset(ctx context.Context, o *egopb.Offset) error {
	if o != nil {
		o = clone(o)
		o.Timestamp = time.Now().UnixMilli()
	}
	return s.referenceStore.WriteOffset(ctx, o)
}

// errorWhenAbsent fails to find an offset that was never written, instead of
// returning nil, nil.
type errorWhenAbsent struct{ *referenceStore }

func (s errorWhenAbsent) GetCurrentOffset(ctx context.Context, id *egopb.ProjectionId) (*egopb.Offset, error) {
	o, err := s.referenceStore.GetCurrentOffset(ctx, id)
	if o == nil && err == nil {
		return nil, errors.New("offset not found")
	}
	return o, err
}

// keepsCallerOffset stores the caller's message itself.
type keepsCallerOffset struct{ *referenceStore }

func (s keepsCallerOffset) WriteOffset(ctx context.Context, o *egopb.Offset) error {
	if err := s.referenceStore.WriteOffset(ctx, o); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offsets[o.ProjectionName][o.ShardNumber] = o
	return nil
}

// returnsStoredOffset hands out the message it stores.
type returnsStoredOffset struct{ *referenceStore }

func (s returnsStoredOffset) GetCurrentOffset(ctx context.Context, id *egopb.ProjectionId) (*egopb.Offset, error) {
	if _, err := s.referenceStore.GetCurrentOffset(ctx, id); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.offsets[id.ProjectionName][id.ShardNumber], nil
}

// resetsOneShard resets shard 0 of the projection only, as an update that
// forgot to leave the shard out of its key would.
type resetsOneShard struct{ *referenceStore }

func (s resetsOneShard) ResetOffset(ctx context.Context, name string, value int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx, name); err != nil {
		return err
	}
	if o := s.offsets[name][0]; o != nil {
		o.Value, o.Timestamp = value, time.Now().UnixMilli()
	}
	return nil
}

// resetCreatesOffsets resets a projection with no offsets by creating one
// on shard 0, as an upsert would.
type resetCreatesOffsets struct{ *referenceStore }

func (s resetCreatesOffsets) ResetOffset(ctx context.Context, name string, value int64) error {
	s.mu.Lock()
	if s.check(ctx, name) == nil && len(s.offsets[name]) == 0 {
		s.offsets[name] = map[uint64]*egopb.Offset{0: {ProjectionName: name, Value: value}}
	}
	s.mu.Unlock()
	return s.referenceStore.ResetOffset(ctx, name, value)
}

// resetsShardByShard resets a projection's shards one at a time, letting
// readers in between.
type resetsShardByShard struct{ *referenceStore }

func (s resetsShardByShard) ResetOffset(ctx context.Context, name string, value int64) error {
	s.mu.Lock()
	err := s.check(ctx, name)
	shards := slices.Collect(maps.Values(s.offsets[name]))
	s.mu.Unlock()
	if err != nil {
		return err
	}
	for _, o := range shards {
		s.mu.Lock()
		o.Value, o.Timestamp = value, time.Now().UnixMilli()
		s.mu.Unlock()
		runtime.Gosched()
	}
	return nil
}

// connectRefusesTwice fails to connect a store that is connected.
type connectRefusesTwice struct{ *referenceStore }

func (s connectRefusesTwice) Connect(ctx context.Context) error {
	s.mu.RLock()
	connected := s.connected
	s.mu.RUnlock()
	if connected {
		return errors.New("already connected")
	}
	return s.referenceStore.Connect(ctx)
}

// disconnectRefusesTwice fails to disconnect a store it has disconnected.
type disconnectRefusesTwice struct {
	*referenceStore
	closed atomic.Bool
}

func (s *disconnectRefusesTwice) Connect(ctx context.Context) error {
	s.closed.Store(false)
	return s.referenceStore.Connect(ctx)
}

func (s *disconnectRefusesTwice) Disconnect(ctx context.Context) error {
	if s.closed.Swap(true) {
		return errors.New("already disconnected")
	}
	return s.referenceStore.Disconnect(ctx)
}

// pingToggles disconnects a connected store when pinged.
type pingToggles struct{ *referenceStore }

func (s pingToggles) Ping(ctx context.Context) error {
	s.mu.RLock()
	connected := s.connected
	s.mu.RUnlock()
	if connected {
		return s.Disconnect(ctx)
	}
	return s.Connect(ctx)
}

// validName reports whether name is one a store must accept.
func validName(name string) bool { return name != "" && utf8.ValidString(name) }

// getFindsNothingForBadNames reads nothing, instead of refusing, under a
// bad name.
type getFindsNothingForBadNames struct{ *referenceStore }

func (s getFindsNothingForBadNames) GetCurrentOffset(ctx context.Context, id *egopb.ProjectionId) (*egopb.Offset, error) {
	if id != nil && !validName(id.ProjectionName) {
		return nil, nil
	}
	return s.referenceStore.GetCurrentOffset(ctx, id)
}

// resetRepairsNames resets the projection a bad name would be once its
// invalid bytes were replaced, instead of refusing it.
type resetRepairsNames struct{ *referenceStore }

func (s resetRepairsNames) ResetOffset(ctx context.Context, name string, value int64) error {
	return s.referenceStore.ResetOffset(ctx, strings.ToValidUTF8(name, "\uFFFD"), value)
}

// changesNames writes, reads and resets under change(name) instead of
// name, as a store that cut names to fit its column, or folded their case,
// would.
type changesNames struct {
	*referenceStore
	change func(string) string
}

func (s changesNames) WriteOffset(ctx context.Context, o *egopb.Offset) error {
	if o != nil {
		o = clone(o)
		o.ProjectionName = s.change(o.ProjectionName)
	}
	return s.referenceStore.WriteOffset(ctx, o)
}

func (s changesNames) GetCurrentOffset(ctx context.Context, id *egopb.ProjectionId) (*egopb.Offset, error) {
	if id != nil {
		id = &egopb.ProjectionId{ProjectionName: s.change(id.ProjectionName), ShardNumber: id.ShardNumber}
	}
	return s.referenceStore.GetCurrentOffset(ctx, id)
}

func (s changesNames) ResetOffset(ctx context.Context, name string, value int64) error {
	return s.referenceStore.ResetOffset(ctx, s.change(name), value)
}

// refusesLongNames refuses a name longer than 255 bytes with an error of
// its own instead of one wrapping ErrInvalidArgument.
type refusesLongNames struct{ *referenceStore }

func (s refusesLongNames) WriteOffset(ctx context.Context, o *egopb.Offset) error {
	if o != nil && len(o.ProjectionName) > 255 {
		return errors.New("value too long for type character varying(255)")
	}
	return s.referenceStore.WriteOffset(ctx, o)
}

// alwaysCanceled reports every done context as cancelled, whatever ended
// it.
type alwaysCanceled struct{ *referenceStore }

func (s alwaysCanceled) WriteOffset(ctx context.Context, o *egopb.Offset) error {
	if ctx.Err() != nil {
		return context.Canceled
	}
	return s.referenceStore.WriteOffset(ctx, o)
}

func (s alwaysCanceled) GetCurrentOffset(ctx context.Context, id *egopb.ProjectionId) (*egopb.Offset, error) {
	if ctx.Err() != nil {
		return nil, context.Canceled
	}
	return s.referenceStore.GetCurrentOffset(ctx, id)
}

func (s alwaysCanceled) ResetOffset(ctx context.Context, name string, value int64) error {
	if ctx.Err() != nil {
		return context.Canceled
	}
	return s.referenceStore.ResetOffset(ctx, name, value)
}

// resetsByPrefix resets every projection whose name starts with the name
// given, as a LIKE without an escape would.
type resetsByPrefix struct{ *referenceStore }

func (s resetsByPrefix) ResetOffset(ctx context.Context, name string, value int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx, name); err != nil {
		return err
	}
	now := time.Now().UnixMilli()
	for other, shards := range s.offsets {
		if strings.HasPrefix(other, name) {
			for _, o := range shards {
				o.Value, o.Timestamp = value, now
			}
		}
	}
	return nil
}

// resetsKnownShards learns a projection's shards at its first reset and
// resets only those ever after, as a store with a stale cache would.
type resetsKnownShards struct {
	*referenceStore
	known map[string][]uint64 // guarded by mu
}

func (s *resetsKnownShards) ResetOffset(ctx context.Context, name string, value int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx, name); err != nil {
		return err
	}
	shards, ok := s.known[name]
	if !ok {
		shards = slices.Collect(maps.Keys(s.offsets[name]))
		s.known[name] = shards
	}
	now := time.Now().UnixMilli()
	for _, shard := range shards {
		if o := s.offsets[name][shard]; o != nil {
			o.Value, o.Timestamp = value, now
		}
	}
	return nil
}

// readsFieldsApart reads an offset's Value and its Timestamp in two
// steps, as a store making two round trips would, so that a write in
// between mixes two writes in one answer.
type readsFieldsApart struct{ *referenceStore }

func (s readsFieldsApart) GetCurrentOffset(ctx context.Context, id *egopb.ProjectionId) (*egopb.Offset, error) {
	o, err := s.referenceStore.GetCurrentOffset(ctx, id)
	if o == nil || err != nil {
		return o, err
	}
	runtime.Gosched()
	again, err := s.referenceStore.GetCurrentOffset(ctx, id)
	if again == nil || err != nil {
		return again, err
	}
	o.Timestamp = again.Timestamp
	return o, nil
}

// refusesWhileConnecting fails Connect, Disconnect and Ping while another
// of them is under way, as a store whose connection takes a while to set
// up or tear down might.
type refusesWhileConnecting struct {
	*referenceStore
	changing atomic.Int32
}

func (s *refusesWhileConnecting) change(do func() error) error {
	defer s.changing.Add(-1)
	if s.changing.Add(1) > 1 {
		return errors.New("connection is changing")
	}
	// Setting up or tearing down a connection takes a round trip.
	time.Sleep(10 * time.Microsecond)
	return do()
}

func (s *refusesWhileConnecting) Connect(ctx context.Context) error {
	return s.change(func() error { return s.referenceStore.Connect(ctx) })
}

func (s *refusesWhileConnecting) Disconnect(ctx context.Context) error {
	return s.change(func() error { return s.referenceStore.Disconnect(ctx) })
}

func (s *refusesWhileConnecting) Ping(ctx context.Context) error {
	return s.change(func() error { return s.referenceStore.Ping(ctx) })
}

// checksConnectionBeforeInput reports a store that is not connected
// before it looks at the input.
type checksConnectionBeforeInput struct{ *referenceStore }

func (s checksConnectionBeforeInput) notConnected(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.connected {
		return offsetstore.ErrNotConnected
	}
	return nil
}

func (s checksConnectionBeforeInput) WriteOffset(ctx context.Context, o *egopb.Offset) error {
	if err := s.notConnected(ctx); err != nil {
		return err
	}
	return s.referenceStore.WriteOffset(ctx, o)
}

func (s checksConnectionBeforeInput) GetCurrentOffset(ctx context.Context, id *egopb.ProjectionId) (*egopb.Offset, error) {
	if err := s.notConnected(ctx); err != nil {
		return nil, err
	}
	return s.referenceStore.GetCurrentOffset(ctx, id)
}

func (s checksConnectionBeforeInput) ResetOffset(ctx context.Context, name string, value int64) error {
	if err := s.notConnected(ctx); err != nil {
		return err
	}
	return s.referenceStore.ResetOffset(ctx, name, value)
}

// bareInvalidArgument refuses a bad write with offsetstore.ErrInvalidArgument
// itself, which does not say what was wrong.
type bareInvalidArgument struct{ *referenceStore }

func (s bareInvalidArgument) WriteOffset(ctx context.Context, o *egopb.Offset) error {
	err := s.referenceStore.WriteOffset(ctx, o)
	if errors.Is(err, offsetstore.ErrInvalidArgument) {
		return offsetstore.ErrInvalidArgument
	}
	return err
}

// resetStampsSeconds stamps resets in Unix seconds instead of
// milliseconds, as a store computing extract(epoch from now()) would.
type resetStampsSeconds struct{ *referenceStore }

func (s resetStampsSeconds) ResetOffset(ctx context.Context, name string, value int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx, name); err != nil {
		return err
	}
	now := time.Now().Unix()
	for _, o := range s.offsets[name] {
		o.Value, o.Timestamp = value, now
	}
	return nil
}

// joinsEveryError reports every error that applies to a call, joined,
// instead of the first of them in the order of rule 11.
type joinsEveryError struct{ *referenceStore }

func (s joinsEveryError) errs(ctx context.Context, badInput bool) error {
	var errs []error
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	if badInput {
		errs = append(errs, fmt.Errorf("%w: bad projection name or nil message", offsetstore.ErrInvalidArgument))
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.connected {
		errs = append(errs, offsetstore.ErrNotConnected)
	}
	return errors.Join(errs...)
}

func (s joinsEveryError) WriteOffset(ctx context.Context, o *egopb.Offset) error {
	if err := s.errs(ctx, o == nil || !validName(o.ProjectionName)); err != nil {
		return err
	}
	return s.referenceStore.WriteOffset(ctx, o)
}

func (s joinsEveryError) GetCurrentOffset(ctx context.Context, id *egopb.ProjectionId) (*egopb.Offset, error) {
	if err := s.errs(ctx, id == nil || !validName(id.ProjectionName)); err != nil {
		return nil, err
	}
	return s.referenceStore.GetCurrentOffset(ctx, id)
}

func (s joinsEveryError) ResetOffset(ctx context.Context, name string, value int64) error {
	if err := s.errs(ctx, !validName(name)); err != nil {
		return err
	}
	return s.referenceStore.ResetOffset(ctx, name, value)
}

// writesWhileNotConnected stores a write made while it is not connected,
// and only then reports that it is not, as a store that checks its state
// after the statement has run would.
type writesWhileNotConnected struct{ *referenceStore }

func (s writesWhileNotConnected) WriteOffset(ctx context.Context, o *egopb.Offset) error {
	err := s.referenceStore.WriteOffset(ctx, o)
	if errors.Is(err, offsetstore.ErrNotConnected) {
		s.mu.Lock()
		shards := s.offsets[o.ProjectionName]
		if shards == nil {
			shards = make(map[uint64]*egopb.Offset)
			s.offsets[o.ProjectionName] = shards
		}
		shards[o.ShardNumber] = clone(o)
		s.mu.Unlock()
	}
	return err
}

// repairsThenRefuses writes or resets under a bad name with its invalid
// bytes replaced, and then refuses the name all the same, as a store that
// validates after the statement has run would.
type repairsThenRefuses struct{ *referenceStore }

func (s repairsThenRefuses) WriteOffset(ctx context.Context, o *egopb.Offset) error {
	err := s.referenceStore.WriteOffset(ctx, o)
	if o != nil && errors.Is(err, offsetstore.ErrInvalidArgument) {
		if repaired := strings.ToValidUTF8(o.ProjectionName, "\uFFFD"); validName(repaired) {
			o = clone(o)
			o.ProjectionName = repaired
			_ = s.referenceStore.WriteOffset(ctx, o)
		}
	}
	return err
}

func (s repairsThenRefuses) ResetOffset(ctx context.Context, name string, value int64) error {
	err := s.referenceStore.ResetOffset(ctx, name, value)
	if errors.Is(err, offsetstore.ErrInvalidArgument) {
		if repaired := strings.ToValidUTF8(name, "\uFFFD"); validName(repaired) {
			_ = s.referenceStore.ResetOffset(ctx, repaired, value)
		}
	}
	return err
}
