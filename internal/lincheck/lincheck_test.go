package lincheck_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/anishathalye/porcupine"

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
		store func() *mapStore
	}{
		// A reset that takes and releases the lock once per shard: readers
		// see it half done.
		{"TornReset", func() *mapStore { return &mapStore{tornReset: true} }},
		// A write that stores Value and Timestamp under two holds of the
		// lock: readers see one write's Value with another's Timestamp.
		{"TornWrite", func() *mapStore { return &mapStore{tornWrite: true} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for round := range rounds {
				history := run.History(t, tc.store(), "lin", uint64(round))
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
	for round := range rounds / 5 {
		lincheck.Verify(t, fmt.Sprintf("round %d", round), run.History(t, &mapStore{}, "lin", uint64(round)))
	}
}

// mapStore is a minimal store of one projection: one map behind one lock,
// stamping resets with lincheck.Clock.
type mapStore struct {
	tornReset, tornWrite bool

	mu      sync.Mutex
	offsets map[uint64]*egopb.Offset
}

func (s *mapStore) WriteOffset(_ context.Context, offset *egopb.Offset) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.offsets == nil {
		s.offsets = make(map[uint64]*egopb.Offset)
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
	return nil
}

var _ lincheck.Store = (*mapStore)(nil)
