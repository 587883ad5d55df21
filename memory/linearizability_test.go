package memory_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/memory"
)

// The linearizability check runs linClients goroutines against one store,
// each issuing linOpsPerClient calls chosen at random among WriteOffset,
// GetCurrentOffset and ResetOffset over linShards shards of one
// projection, records when each call began and returned, and asks
// porcupine whether some sequential order of the calls, consistent with
// those times, explains every result under linModel. It does so for
// linRounds histories.
const (
	linClients      = 4
	linOpsPerClient = 100
	linShards       = 3
	linRounds       = 200
	linProjection   = "lin"
	// linCheckTimeout bounds porcupine on one history. A history this
	// small is decided in milliseconds; running out of time means the
	// test is misconfigured, so it fails the test rather than passing it
	// as unknown.
	linCheckTimeout = 10 * time.Second
)

// TestOffsetStore_Linearizable checks that concurrent WriteOffset,
// GetCurrentOffset and ResetOffset calls behave as if each took effect at
// one instant between its call and its return (rules 8 and 9): a reset is
// seen by every shard at once or by none.
func TestOffsetStore_Linearizable(t *testing.T) {
	ops := 0
	for round := range linRounds {
		store := memory.NewOffsetStore()
		if err := store.Connect(t.Context()); err != nil {
			t.Fatalf("Connect(ctx) = %v; want <nil>", err)
		}
		history := linHistory(t, store, uint64(round))
		ops += len(history)
		res, info := porcupine.CheckOperationsVerbose(linModel, history, linCheckTimeout)
		switch res {
		case porcupine.Illegal:
			t.Fatalf("round %d: porcupine found no sequential order that explains the %d calls (%s); want one: every call takes effect at one instant, and a reset on every shard at once (rules 8, 9)",
				round, len(history), linVisualize(t, info))
		case porcupine.Unknown:
			t.Fatalf("round %d: porcupine could not decide on %d calls within %v; want a verdict", round, len(history), linCheckTimeout)
		}
	}
	t.Logf("operations checked for linearizability: %d in %d histories", ops, linRounds)
}

// TestLinearizabilityCheck_CatchesNonAtomicReset proves that the check
// above has teeth. The same histories are run against a small map store
// whose ResetOffset updates one shard at a time, releasing its lock and
// yielding in between: porcupine must find one of them not linearizable
// (in practice the first). As a control, the same store with its reset
// done under one lock must pass every round, so what is caught is the
// torn reset and not the harness.
func TestLinearizabilityCheck_CatchesNonAtomicReset(t *testing.T) {
	t.Run("TornReset", func(t *testing.T) {
		for round := range linRounds {
			history := linHistory(t, newMapStore(true), uint64(round))
			switch res := porcupine.CheckOperationsTimeout(linModel, history, linCheckTimeout); res {
			case porcupine.Illegal:
				t.Logf("non-atomic reset caught in round %d of %d", round+1, linRounds)
				return
			case porcupine.Unknown:
				t.Fatalf("round %d: porcupine could not decide on %d calls within %v; want a verdict", round, len(history), linCheckTimeout)
			}
		}
		t.Fatalf("porcupine found all %d histories of a store with a non-atomic ResetOffset linearizable; want at least one caught: the check cannot see a torn reset", linRounds)
	})
	t.Run("AtomicControl", func(t *testing.T) {
		for round := range linRounds / 5 {
			history := linHistory(t, newMapStore(false), uint64(round))
			if res := porcupine.CheckOperationsTimeout(linModel, history, linCheckTimeout); res != porcupine.Ok {
				t.Fatalf("round %d: porcupine's verdict on the map store with an atomic reset = %s; want Ok: the harness itself must not produce false alarms", round, res)
			}
		}
	})
}

// linStore is the part of the store the linearizability check drives.
type linStore interface {
	WriteOffset(ctx context.Context, offset *egopb.Offset) error
	GetCurrentOffset(ctx context.Context, projectionID *egopb.ProjectionId) (*egopb.Offset, error)
	ResetOffset(ctx context.Context, projectionName string, value int64) error
}

type linKind int

const (
	linWrite linKind = iota
	linGet
	linReset
)

// linMix is the share of each kind of call: two writes and two gets for
// each reset, so shards keep changing and are read often while resets run.
var linMix = [...]linKind{linWrite, linWrite, linGet, linGet, linReset}

// linInput is one call; shard is unused by a reset.
type linInput struct {
	kind  linKind
	shard uint64
	value int64
}

// linOutput is what the call returned. A write and a reset return only
// an error; a get returns whether an offset was there and its value.
// Timestamps are left out of the model on purpose: writes store the
// caller's and resets stamp the clock's, neither of which says anything
// about the order of calls.
type linOutput struct {
	err     string
	present bool
	value   int64
}

// linState is the model's state: the value of each shard, if any. It is
// an array, so porcupine can compare states with ==.
type linState [linShards]struct {
	present bool
	value   int64
}

// linModel is the sequential specification: a write sets its shard, a
// get reads its shard, and a reset sets every shard that has a value,
// all at once. No call may fail.
var linModel = porcupine.Model{
	Init: func() any {
		var s linState
		// linHistory writes shards 0 and 1 before the clients start, and
		// leaves the last one empty until a client writes it.
		for shard := range linShards - 1 {
			s[shard].present = true
		}
		return s
	},
	Step: func(state, input, output any) (bool, any) {
		s, in, out := state.(linState), input.(linInput), output.(linOutput)
		if out.err != "" {
			return false, s
		}
		switch in.kind {
		case linWrite:
			s[in.shard].present, s[in.shard].value = true, in.value
			return true, s
		case linGet:
			return out.present == s[in.shard].present && out.value == s[in.shard].value, s
		default:
			for shard := range s {
				if s[shard].present {
					s[shard].value = in.value
				}
			}
			return true, s
		}
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(linInput), output.(linOutput)
		switch {
		case out.err != "":
			return fmt.Sprintf("%v -> error %s", in, out.err)
		case in.kind == linWrite:
			return fmt.Sprintf("write(%d, %d)", in.shard, in.value)
		case in.kind == linGet && !out.present:
			return fmt.Sprintf("get(%d) -> nil", in.shard)
		case in.kind == linGet:
			return fmt.Sprintf("get(%d) -> %d", in.shard, out.value)
		}
		return fmt.Sprintf("reset(%d)", in.value)
	},
	DescribeState: func(state any) string {
		return fmt.Sprint(state.(linState))
	},
}

// linHistory runs one round against store and returns its history. Each
// client makes its own random choices from seed; writes and resets carry
// values unique in the history, so a read names the call it observed.
// Call and return times are read from the monotonic clock, so the
// recording adds no synchronisation between clients that could hide a
// race.
func linHistory(t *testing.T, store linStore, seed uint64) []porcupine.Operation {
	t.Helper()
	ctx := t.Context()
	for shard := range uint64(linShards - 1) {
		if err := store.WriteOffset(ctx, &egopb.Offset{ProjectionName: linProjection, ShardNumber: shard}); err != nil {
			t.Fatalf("WriteOffset(ctx, {%q %d 0 0}) = %v; want <nil>", linProjection, shard, err)
		}
	}
	histories := make([][]porcupine.Operation, linClients)
	start := time.Now()
	var ready, wg sync.WaitGroup
	ready.Add(linClients)
	for client := range linClients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(client)))
			ops := make([]porcupine.Operation, 0, linOpsPerClient)
			ready.Done()
			ready.Wait()
			for i := range linOpsPerClient {
				unique := int64(client*linOpsPerClient + i + 1)
				in := linInput{kind: linMix[rng.IntN(len(linMix))], shard: rng.Uint64N(linShards)}
				var out linOutput
				call := time.Since(start).Nanoseconds()
				switch in.kind {
				case linWrite:
					in.value = unique
					out.err = errString(store.WriteOffset(ctx, &egopb.Offset{ProjectionName: linProjection, ShardNumber: in.shard, Value: in.value}))
				case linGet:
					got, err := store.GetCurrentOffset(ctx, &egopb.ProjectionId{ProjectionName: linProjection, ShardNumber: in.shard})
					out.err = errString(err)
					if got != nil {
						out.present, out.value = true, got.Value
					}
				case linReset:
					in.value = -unique
					out.err = errString(store.ResetOffset(ctx, linProjection, in.value))
				}
				ops = append(ops, porcupine.Operation{
					ClientId: client,
					Input:    in,
					Call:     call,
					Output:   out,
					Return:   time.Since(start).Nanoseconds(),
				})
			}
			histories[client] = ops
		})
	}
	wg.Wait()
	return slices.Concat(histories...)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// linVisualize writes porcupine's picture of a failed history where go
// test keeps artifacts (go test -artifacts) and says where; without
// -artifacts the picture goes to a directory removed after the test.
func linVisualize(t *testing.T, info porcupine.LinearizationInfo) string {
	t.Helper()
	path := filepath.Join(t.ArtifactDir(), "history.html")
	if err := porcupine.VisualizePath(linModel, info, path); err != nil {
		return fmt.Sprintf("could not draw the history: %v", err)
	}
	return "history drawn in " + path + ", kept with go test -artifacts"
}

// mapStore is a minimal store for
// TestLinearizabilityCheck_CatchesNonAtomicReset: one map behind one lock.
// When torn is set, ResetOffset takes and releases the lock once per shard
// and yields in between, so readers can see a half-done reset.
type mapStore struct {
	torn   bool
	mu     sync.Mutex
	values map[uint64]int64
}

func newMapStore(torn bool) *mapStore {
	return &mapStore{torn: torn, values: make(map[uint64]int64)}
}

func (s *mapStore) WriteOffset(_ context.Context, offset *egopb.Offset) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values[offset.ShardNumber] = offset.Value
	return nil
}

func (s *mapStore) GetCurrentOffset(_ context.Context, id *egopb.ProjectionId) (*egopb.Offset, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	value, ok := s.values[id.ShardNumber]
	if !ok {
		return nil, nil
	}
	return &egopb.Offset{ProjectionName: id.ProjectionName, ShardNumber: id.ShardNumber, Value: value}, nil
}

func (s *mapStore) ResetOffset(_ context.Context, _ string, value int64) error {
	if !s.torn {
		s.mu.Lock()
		defer s.mu.Unlock()
	}
	for shard := range uint64(linShards) {
		if s.torn {
			s.mu.Lock()
		}
		if _, ok := s.values[shard]; ok {
			s.values[shard] = value
		}
		if s.torn {
			s.mu.Unlock()
			runtime.Gosched()
		}
	}
	return nil
}

var (
	_ linStore = (*memory.OffsetStore)(nil)
	_ linStore = (*mapStore)(nil)
)
