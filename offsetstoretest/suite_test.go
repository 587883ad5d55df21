package offsetstoretest_test

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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
	name     string
	caughtBy string
	new      func() offsetstore.OffsetStore
}

var brokenStores = []brokenStore{
	{"DisconnectFailsWhenNotConnected", "DisconnectNeverConnected", func() offsetstore.OffsetStore {
		return disconnectFails{newReferenceStore()}
	}},
	{"PingDoesNotConnect", "PingConnects", func() offsetstore.OffsetStore {
		return pingDoesNotConnect{newReferenceStore()}
	}},
	{"IgnoresConnection", "NotConnectedBeforeConnect", func() offsetstore.OffsetStore {
		s := newReferenceStore()
		s.connected = true
		return ignoresConnection{s}
	}},
	{"RepairsNames", "WriteInvalidArgument", func() offsetstore.OffsetStore {
		return repairsNames{newReferenceStore()}
	}},
	{"IgnoresContext", "ContextCanceled", func() offsetstore.OffsetStore {
		return ignoresContext{newReferenceStore()}
	}},
	{"DropsWrites", "LastWriteWins", func() offsetstore.OffsetStore {
		return &dropsWrites{referenceStore: newReferenceStore()}
	}},
	{"StampsWrites", "TimestampAsGiven", func() offsetstore.OffsetStore {
		return stampsWrites{newReferenceStore()}
	}},
	{"FoldsCase", "KeysAreDistinct", func() offsetstore.OffsetStore {
		return foldsCase{newReferenceStore()}
	}},
	{"ErrorWhenAbsent", "AbsentIsNil", func() offsetstore.OffsetStore {
		return errorWhenAbsent{newReferenceStore()}
	}},
	{"KeepsCallerOffset", "CopyIn", func() offsetstore.OffsetStore {
		return keepsCallerOffset{newReferenceStore()}
	}},
	{"ReturnsStoredOffset", "CopyOut", func() offsetstore.OffsetStore {
		return returnsStoredOffset{newReferenceStore()}
	}},
	{"ResetsOneShard", "ResetAllShards", func() offsetstore.OffsetStore {
		return resetsOneShard{newReferenceStore()}
	}},
	{"ResetCreatesOffsets", "ResetUnknownProjection", func() offsetstore.OffsetStore {
		return resetCreatesOffsets{newReferenceStore()}
	}},
	{"ResetsShardByShard", "ResetAtomic", func() offsetstore.OffsetStore {
		return resetsShardByShard{newReferenceStore()}
	}},
}

// brokenEnv names, in a child process started by
// TestRun_CatchesBrokenStores, the broken store TestBrokenStoreHelper runs
// Run on.
const brokenEnv = "OFFSETSTORETEST_BROKEN"

// TestRun_CatchesBrokenStores proves that Run fails on every broken store,
// in the case meant to catch it.
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
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), os.Args[0],
				"-test.run=^TestBrokenStoreHelper$/^"+b.caughtBy+"$", "-test.timeout=1m")
			cmd.Env = append(os.Environ(), brokenEnv+"="+b.name)
			out, err := cmd.CombinedOutput()
			if _, ok := errors.AsType[*exec.ExitError](err); !ok {
				t.Fatalf("Run on %s: exit error %v; want the test run to fail\n%s", b.name, err, out)
			}
			if want := "--- FAIL: TestBrokenStoreHelper/" + b.caughtBy + " "; !bytes.Contains(out, []byte(want)) {
				t.Fatalf("Run on %s: output lacks %q\n%s", b.name, want, out)
			}
		})
	}
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

// ignoresConnection is connected from the start and never disconnects.
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

// foldsCase keys offsets by their lower-cased projection names.
type foldsCase struct{ *referenceStore }

func (s foldsCase) WriteOffset(ctx context.Context, o *egopb.Offset) error {
	if o != nil {
		o = clone(o)
		o.ProjectionName = strings.ToLower(o.ProjectionName)
	}
	return s.referenceStore.WriteOffset(ctx, o)
}

func (s foldsCase) GetCurrentOffset(ctx context.Context, id *egopb.ProjectionId) (*egopb.Offset, error) {
	if id != nil {
		id = &egopb.ProjectionId{ProjectionName: strings.ToLower(id.ProjectionName), ShardNumber: id.ShardNumber}
	}
	return s.referenceStore.GetCurrentOffset(ctx, id)
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
