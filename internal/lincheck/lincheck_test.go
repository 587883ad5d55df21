package lincheck_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/anishathalye/porcupine"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/lincheck"
)

var run = lincheck.Run{Clients: 4, OpsPerClient: 100}

const rounds = 200

// TestCheck_CatchesTornStores proves that the check has teeth: run against
// a small map store broken on purpose, porcupine must find one of the
// histories not linearizable (in practice the first).
func TestCheck_CatchesTornStores(t *testing.T) {
	for _, tc := range []struct {
		name  string
		run   lincheck.Run
		store func() *mapStore
	}{
		// A reset that takes and releases the lock once per shard: readers
		// see it half done.
		{"TornReset", run, func() *mapStore { return &mapStore{tornReset: true} }},
		// A write that stores Value and Timestamp under two holds of the
		// lock: readers see one write's Value with another's Timestamp.
		{"TornWrite", run, func() *mapStore { return &mapStore{tornWrite: true} }},
		// A monotonic write that compares under one hold of the lock and
		// writes under another: a write below a value stored meanwhile
		// lands.
		{"TornMonotonicWrite", monotonicRun, func() *mapStore { return &mapStore{monotonic: true, tornMonotonic: true} }},
		// A store checked as monotonic that takes writes below the value
		// stored.
		{"AcceptsRegressions", monotonicRun, func() *mapStore { return &mapStore{} }},
		// A reset of some shards that reports the shards as they were
		// under one hold of the lock and resets them under another.
		{"TornResetSome", resetSomeRun, func() *mapStore { return &mapStore{tornResetSome: true} }},
		// A reset of some shards that resets every shard.
		{"ResetSomeResetsAll", resetSomeRun, func() *mapStore { return &mapStore{resetSomeAll: true} }},
		// A store that fails a call after it took effect, checked as if
		// no call could fail.
		{"FailsAfterEffectWithoutFaults", run, func() *mapStore { return &mapStore{failEvery: 7} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for round := range rounds {
				history := tc.run.History(t, tc.store(), "lin", uint64(round))
				switch res := lincheck.Check(history); res {
				case porcupine.Illegal:
					t.Logf("caught in round %d of %d", round+1, rounds)
					return
				case porcupine.Unknown:
					t.Fatalf("round %d: porcupine could not decide on %d calls; want a verdict", round, len(history))
				}
			}
			t.Fatalf("porcupine found all %d histories of the broken store linearizable; want at least one caught", rounds)
		})
	}
}

// TestCheck_PassesAnAtomicStore is the control: the same map store with
// every call under one hold of its lock passes every round, so what the
// test above catches is the tear and not the harness.
func TestCheck_PassesAnAtomicStore(t *testing.T) {
	for _, tc := range []struct {
		name  string
		run   lincheck.Run
		store func() *mapStore
	}{
		{"Plain", run, func() *mapStore { return &mapStore{} }},
		{"Monotonic", monotonicRun, func() *mapStore { return &mapStore{monotonic: true} }},
		{"ResetSome", resetSomeRun, func() *mapStore { return &mapStore{} }},
		// Calls that fail, before or after taking effect, when faults are
		// expected: their outcome is unknown, and either explains the
		// history.
		{"FailsWithFaults", lincheck.Run{Clients: 4, OpsPerClient: 25, Faults: true, ResetSome: true, Monotonic: true},
			func() *mapStore { return &mapStore{monotonic: true, failEvery: 11} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			unknown := 0
			for round := range rounds / 5 {
				history := tc.run.History(t, tc.store(), "lin", uint64(round))
				unknown += lincheck.Unknown(history)
				lincheck.Verify(t, fmt.Sprintf("round %d", round), history)
			}
			if tc.run.Faults && unknown == 0 {
				t.Errorf("no call of %d histories had an unknown outcome; want some, or the case checks nothing", rounds/5)
			}
		})
	}
}

var (
	monotonicRun = lincheck.Run{Clients: 4, OpsPerClient: 100, Monotonic: true}
	resetSomeRun = lincheck.Run{Clients: 4, OpsPerClient: 100, ResetSome: true}
)

// mapStore is a minimal store of one projection: one map behind one lock,
// stamping resets with lincheck.Clock.
type mapStore struct {
	tornReset, tornWrite bool
	// monotonic refuses writes below the value stored, comparing under
	// another hold of the lock than the write's if tornMonotonic.
	monotonic, tornMonotonic bool
	// tornResetSome reports under one hold of the lock and resets under
	// another; resetSomeAll resets every shard.
	tornResetSome, resetSomeAll bool
	// failEvery makes every failEvery-th write or reset fail, after
	// taking effect one time in two.
	failEvery int

	mu      sync.Mutex
	calls   int
	offsets map[uint64]*egopb.Offset
}

var errInjected = errors.New("injected failure")

// fail reports whether this call fails, and whether it fails before
// taking effect. s.mu must be held.
func (s *mapStore) fail() (fails, before bool) {
	s.calls++
	if s.failEvery == 0 || s.calls%s.failEvery != 0 {
		return false, false
	}
	return true, s.calls%(2*s.failEvery) == 0
}

func (s *mapStore) WriteOffset(_ context.Context, offset *egopb.Offset) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	fails, before := s.fail()
	if fails && before {
		return errInjected
	}
	if s.offsets == nil {
		s.offsets = make(map[uint64]*egopb.Offset)
	}
	if stored, ok := s.offsets[offset.ShardNumber]; ok && s.monotonic {
		below := offset.Value < stored.Value
		if s.tornMonotonic {
			s.mu.Unlock()
			runtime.Gosched()
			s.mu.Lock()
		}
		if below {
			return offsetstore.ErrOffsetRegression
		}
	}
	stored, ok := s.offsets[offset.ShardNumber]
	if !ok {
		stored = &egopb.Offset{ProjectionName: offset.ProjectionName, ShardNumber: offset.ShardNumber}
		s.offsets[offset.ShardNumber] = stored
	}
	stored.Value = offset.Value
	if s.tornWrite {
		s.mu.Unlock()
		runtime.Gosched()
		s.mu.Lock()
	}
	stored.Timestamp = offset.Timestamp
	if fails {
		return errInjected
	}
	return nil
}

func (s *mapStore) GetCurrentOffset(_ context.Context, id *egopb.ProjectionId) (*egopb.Offset, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	stored, ok := s.offsets[id.ShardNumber]
	if !ok {
		return nil, nil
	}
	return &egopb.Offset{ProjectionName: stored.ProjectionName, ShardNumber: stored.ShardNumber, Value: stored.Value, Timestamp: stored.Timestamp}, nil
}

func (s *mapStore) ResetOffset(_ context.Context, _ string, value int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	fails, before := s.fail()
	if fails && before {
		return errInjected
	}
	for shard := range uint64(lincheck.Shards) {
		if stored, ok := s.offsets[shard]; ok {
			stored.Value, stored.Timestamp = value, lincheck.Clock().UnixMilli()
		}
		if s.tornReset {
			s.mu.Unlock()
			runtime.Gosched()
			s.mu.Lock()
		}
	}
	if fails {
		return errInjected
	}
	return nil
}

func (s *mapStore) ResetShards(_ context.Context, _ string, value int64, shards []uint64) ([]*egopb.Offset, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fails, before := s.fail()
	if fails && before {
		return nil, errInjected
	}
	if s.resetSomeAll {
		shards = []uint64{0, 1, 2}
	}
	var report []*egopb.Offset
	for _, shard := range shards {
		if stored, ok := s.offsets[shard]; ok {
			report = append(report, &egopb.Offset{ProjectionName: stored.ProjectionName, ShardNumber: shard, Value: stored.Value, Timestamp: stored.Timestamp})
		}
	}
	if s.tornResetSome {
		s.mu.Unlock()
		runtime.Gosched()
		s.mu.Lock()
	}
	for _, shard := range shards {
		if stored, ok := s.offsets[shard]; ok {
			stored.Value, stored.Timestamp = value, lincheck.Clock().UnixMilli()
		}
	}
	if fails {
		return nil, errInjected
	}
	return report, nil
}

var _ lincheck.ShardResetter = (*mapStore)(nil)
