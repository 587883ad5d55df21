package offsetstoretest_test

import (
	"cmp"
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/offsetstoretest"
)

func TestRunAdmin_PassesOnReferenceStore(t *testing.T) {
	offsetstoretest.RunAdmin(t, func(*testing.T) offsetstore.Admin { return newReferenceStore() })
}

// A brokenAdmin breaks one rule of [offsetstore.Admin], and names the case
// of RunAdmin that must catch it.
type brokenAdmin struct {
	caughtBy string
	name     string
	new      func() offsetstore.Admin
}

// racingAdminCases are the cases of RunAdmin that race goroutines.
var racingAdminCases = []string{"WriteOffsetsAtomic", "ResetShardsAtomic", "DeleteShardsAtomic"}

// brokenAdmins maps every case of RunAdmin to a store it must catch, in the
// order RunAdmin runs its cases. TestBrokenAdmins_CoverEveryCase keeps it
// complete.
var brokenAdmins = []brokenAdmin{
	{"ProjectionsSummarise", "ProjectionsSortedIgnoringCase", func() offsetstore.Admin {
		return projectionsSortedIgnoringCase{newReferenceStore()}
	}},
	{"OffsetsSortedByShard", "OffsetsSortedAsSigned", func() offsetstore.Admin {
		return sortsShardsAsSigned{newReferenceStore()}
	}},
	{"SnapshotSorted", "SnapshotSortedAsSigned", func() offsetstore.Admin {
		return sortsShardsAsSigned{newReferenceStore()}
	}},
	{"ReadsAreCopies", "SnapshotReturnsStored", func() offsetstore.Admin {
		return snapshotReturnsStored{newReferenceStore()}
	}},
	{"WriteOffsetsWritesAll", "WriteOffsetsReplacesProjections", func() offsetstore.Admin {
		return writeOffsetsReplacesProjections{newReferenceStore()}
	}},
	{"WriteOffsetsAllOrNone", "WriteOffsetsOneByOne", func() offsetstore.Admin {
		return writeOffsetsOneByOne{newReferenceStore()}
	}},
	{"WriteOffsetsAtomic", "WriteOffsetsOneByOne", func() offsetstore.Admin {
		return writeOffsetsOneByOne{newReferenceStore()}
	}},
	{"ResetShardsSome", "ResetShardsCreatesMissing", func() offsetstore.Admin {
		return resetShardsCreatesMissing{newReferenceStore()}
	}},
	{"ResetShardsAll", "NilShardsMeansNone", func() offsetstore.Admin {
		return nilShardsMeansNone{newReferenceStore()}
	}},
	{"ResetShardsNone", "NoShardsMeansAll", func() offsetstore.Admin {
		return noShardsMeansAll{newReferenceStore()}
	}},
	{"ResetShardsAtomic", "ResetShardsOneByOne", func() offsetstore.Admin {
		return changesShardsOneByOne{newReferenceStore()}
	}},
	{"DeleteShardsSome", "DeleteShardsReportsNothing", func() offsetstore.Admin {
		return deleteShardsReportsNothing{newReferenceStore()}
	}},
	{"DeleteShardsAll", "NilShardsMeansNone", func() offsetstore.Admin {
		return nilShardsMeansNone{newReferenceStore()}
	}},
	{"DeleteShardsNone", "NoShardsMeansAll", func() offsetstore.Admin {
		return noShardsMeansAll{newReferenceStore()}
	}},
	{"DeleteShardsAtomic", "DeleteShardsOneByOne", func() offsetstore.Admin {
		return changesShardsOneByOne{newReferenceStore()}
	}},
	{"AdminInvalidArgument", "OffsetsOfBadNamesEmpty", func() offsetstore.Admin {
		return offsetsOfBadNamesEmpty{newReferenceStore()}
	}},
	{"AdminNotConnected", "DisconnectDoesNothing", func() offsetstore.Admin {
		return ignoresConnection{newReferenceStore()}
	}},
	{"AdminContextDone", "ResetShardsIgnoresContext", func() offsetstore.Admin {
		return resetShardsIgnoresContext{newReferenceStore()}
	}},
}

// TestBrokenAdmins_CoverEveryCase keeps brokenAdmins in step with
// RunAdmin: every case must be shown to fail on some broken store, and
// every broken store must name a case of RunAdmin.
func TestBrokenAdmins_CoverEveryCase(t *testing.T) {
	names := offsetstoretest.AdminCaseNames()
	for _, name := range names {
		if !slices.ContainsFunc(brokenAdmins, func(b brokenAdmin) bool { return b.caughtBy == name }) {
			t.Errorf("brokenAdmins has no store for case %s; want at least one, to show the case can fail", name)
		}
	}
	for _, b := range brokenAdmins {
		if !slices.Contains(names, b.caughtBy) {
			t.Errorf("broken admin %s names case %s; want one of RunAdmin's cases %v", b.name, b.caughtBy, names)
		}
	}
}

// TestRunAdmin_CatchesBrokenAdmins proves that RunAdmin fails on every
// broken admin, in the case meant to catch it, as
// TestRun_CatchesBrokenStores does for Run.
func TestRunAdmin_CatchesBrokenAdmins(t *testing.T) {
	for _, b := range brokenAdmins {
		t.Run(b.caughtBy+"/"+b.name, func(t *testing.T) {
			t.Parallel()
			tries := 1
			if slices.Contains(racingAdminCases, b.caughtBy) {
				tries = raceTries
			}
			var out []byte
			for try := 1; try <= tries; try++ {
				var caught bool
				if caught, out = runBroken(t, "TestBrokenAdminHelper", b.caughtBy, b.name); caught {
					if try > 1 {
						t.Logf("caught on run %d of %d", try, tries)
					}
					return
				}
			}
			t.Fatalf("RunAdmin on %s passed case %s %d times out of %d; want it to fail\n%s", b.name, b.caughtBy, tries, tries, out)
		})
	}
}

// TestBrokenAdminHelper runs RunAdmin on the broken admin named by
// brokenEnv, in a child process of TestRunAdmin_CatchesBrokenAdmins; it is
// skipped otherwise.
func TestBrokenAdminHelper(t *testing.T) {
	name := os.Getenv(brokenEnv)
	if name == "" {
		t.Skip("run by TestRunAdmin_CatchesBrokenAdmins")
	}
	i := slices.IndexFunc(brokenAdmins, func(b brokenAdmin) bool { return b.name == name })
	if i < 0 {
		t.Fatalf("%s=%q names no broken admin", brokenEnv, name)
	}
	offsetstoretest.RunAdmin(t, func(*testing.T) offsetstore.Admin { return brokenAdmins[i].new() })
}

// projectionsSortedIgnoringCase sorts projections as a database's
// case-insensitive collation would.
type projectionsSortedIgnoringCase struct{ *referenceStore }

func (s projectionsSortedIgnoringCase) Projections(ctx context.Context) ([]offsetstore.ProjectionSummary, error) {
	got, err := s.referenceStore.Projections(ctx)
	slices.SortStableFunc(got, func(a, b offsetstore.ProjectionSummary) int {
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	return got, err
}

// sortsShardsAsSigned sorts shards as a bigint column orders them, 1<<63
// and above first.
type sortsShardsAsSigned struct{ *referenceStore }

func sortSigned(offsets []*egopb.Offset) {
	slices.SortStableFunc(offsets, func(a, b *egopb.Offset) int {
		return cmp.Or(strings.Compare(a.ProjectionName, b.ProjectionName), cmp.Compare(int64(a.ShardNumber), int64(b.ShardNumber)))
	})
}

func (s sortsShardsAsSigned) Offsets(ctx context.Context, name string) ([]*egopb.Offset, error) {
	got, err := s.referenceStore.Offsets(ctx, name)
	sortSigned(got)
	return got, err
}

func (s sortsShardsAsSigned) Snapshot(ctx context.Context) ([]*egopb.Offset, error) {
	got, err := s.referenceStore.Snapshot(ctx)
	sortSigned(got)
	return got, err
}

// snapshotReturnsStored hands out its own messages.
type snapshotReturnsStored struct{ *referenceStore }

func (s snapshotReturnsStored) Snapshot(ctx context.Context) ([]*egopb.Offset, error) {
	copies, err := s.referenceStore.Snapshot(ctx)
	s.mu.RLock()
	defer s.mu.RUnlock()
	for i, o := range copies {
		copies[i] = s.offsets[o.ProjectionName][o.ShardNumber]
	}
	return copies, err
}

// writeOffsetsReplacesProjections replaces every projection it writes,
// as a restore of whole projections would, dropping the shards it does
// not name.
type writeOffsetsReplacesProjections struct{ *referenceStore }

func (s writeOffsetsReplacesProjections) WriteOffsets(ctx context.Context, offsets []*egopb.Offset) error {
	for _, o := range offsets {
		if o != nil && validName(o.ProjectionName) {
			if _, err := s.DeleteShards(ctx, o.ProjectionName, nil); err != nil {
				return err
			}
		}
	}
	return s.referenceStore.WriteOffsets(ctx, offsets)
}

// writeOffsetsOneByOne writes each offset on its own, until one fails.
type writeOffsetsOneByOne struct{ *referenceStore }

func (s writeOffsetsOneByOne) WriteOffsets(ctx context.Context, offsets []*egopb.Offset) error {
	for _, o := range offsets {
		if err := s.referenceStore.WriteOffsets(ctx, []*egopb.Offset{o}); err != nil {
			return err
		}
	}
	return nil
}

// resetShardsCreatesMissing creates the named shards that have no offset.
type resetShardsCreatesMissing struct{ *referenceStore }

func (s resetShardsCreatesMissing) ResetShards(ctx context.Context, name string, value int64, shards []uint64) ([]*egopb.Offset, error) {
	for _, shard := range shards {
		if o, err := s.GetCurrentOffset(ctx, &egopb.ProjectionId{ProjectionName: name, ShardNumber: shard}); err == nil && o == nil {
			_ = s.WriteOffset(ctx, &egopb.Offset{ProjectionName: name, ShardNumber: shard, Value: value})
		}
	}
	return s.referenceStore.ResetShards(ctx, name, value, shards)
}

// nilShardsMeansNone reads nil shards as no shard at all.
type nilShardsMeansNone struct{ *referenceStore }

func (s nilShardsMeansNone) ResetShards(ctx context.Context, name string, value int64, shards []uint64) ([]*egopb.Offset, error) {
	return s.referenceStore.ResetShards(ctx, name, value, orEmpty(shards))
}

func (s nilShardsMeansNone) DeleteShards(ctx context.Context, name string, shards []uint64) ([]*egopb.Offset, error) {
	return s.referenceStore.DeleteShards(ctx, name, orEmpty(shards))
}

func orEmpty(shards []uint64) []uint64 {
	if shards == nil {
		return []uint64{}
	}
	return shards
}

// noShardsMeansAll reads an empty list of shards as every shard.
type noShardsMeansAll struct{ *referenceStore }

func (s noShardsMeansAll) ResetShards(ctx context.Context, name string, value int64, shards []uint64) ([]*egopb.Offset, error) {
	return s.referenceStore.ResetShards(ctx, name, value, orNil(shards))
}

func (s noShardsMeansAll) DeleteShards(ctx context.Context, name string, shards []uint64) ([]*egopb.Offset, error) {
	return s.referenceStore.DeleteShards(ctx, name, orNil(shards))
}

func orNil(shards []uint64) []uint64 {
	if len(shards) == 0 {
		return nil
	}
	return shards
}

// changesShardsOneByOne resets and deletes one shard at a time.
type changesShardsOneByOne struct{ *referenceStore }

func (s changesShardsOneByOne) ResetShards(ctx context.Context, name string, value int64, shards []uint64) ([]*egopb.Offset, error) {
	return s.oneByOne(ctx, name, shards, func(shard []uint64) ([]*egopb.Offset, error) {
		return s.referenceStore.ResetShards(ctx, name, value, shard)
	})
}

func (s changesShardsOneByOne) DeleteShards(ctx context.Context, name string, shards []uint64) ([]*egopb.Offset, error) {
	return s.oneByOne(ctx, name, shards, func(shard []uint64) ([]*egopb.Offset, error) {
		return s.referenceStore.DeleteShards(ctx, name, shard)
	})
}

func (s changesShardsOneByOne) oneByOne(ctx context.Context, name string, shards []uint64, change func([]uint64) ([]*egopb.Offset, error)) ([]*egopb.Offset, error) {
	if shards == nil {
		all, err := s.Offsets(ctx, name)
		if err != nil {
			return nil, err
		}
		for _, o := range all {
			shards = append(shards, o.ShardNumber)
		}
	}
	changed := []*egopb.Offset{}
	for _, shard := range shards {
		got, err := change([]uint64{shard})
		if err != nil {
			return nil, err
		}
		changed = append(changed, got...)
	}
	return changed, nil
}

// deleteShardsReportsNothing deletes, and says it deleted nothing.
type deleteShardsReportsNothing struct{ *referenceStore }

func (s deleteShardsReportsNothing) DeleteShards(ctx context.Context, name string, shards []uint64) ([]*egopb.Offset, error) {
	_, err := s.referenceStore.DeleteShards(ctx, name, shards)
	return []*egopb.Offset{}, err
}

// offsetsOfBadNamesEmpty finds no offsets under a bad name rather than
// refusing it.
type offsetsOfBadNamesEmpty struct{ *referenceStore }

func (s offsetsOfBadNamesEmpty) Offsets(ctx context.Context, name string) ([]*egopb.Offset, error) {
	if !validName(name) {
		return []*egopb.Offset{}, nil
	}
	return s.referenceStore.Offsets(ctx, name)
}

// resetShardsIgnoresContext carries on with a done context.
type resetShardsIgnoresContext struct{ *referenceStore }

func (s resetShardsIgnoresContext) ResetShards(_ context.Context, name string, value int64, shards []uint64) ([]*egopb.Offset, error) {
	return s.referenceStore.ResetShards(context.Background(), name, value, shards)
}
