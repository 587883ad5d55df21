package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/pgtest"
	"github.com/ego-contrib/offsetstore/postgres"
)

// The linearizability check runs linClients goroutines against one store,
// each issuing linOpsPerClient calls chosen at random among WriteOffset,
// GetCurrentOffset and ResetOffset over linShards shards of one
// projection, records when each call began and returned, and asks
// porcupine whether some sequential order of the calls, consistent with
// those times, explains every result under linModel. Enough clients write
// at once that the store's group commit sends many of their writes
// together, which the test checks.
const (
	linClients      = 8
	linOpsPerClient = 40
	linShards       = 3
	linRounds       = 15
	// linResetStamp is what the store's clock reads, so that the model
	// knows the timestamp a reset writes.
	linResetStamp = 42
	// linCheckTimeout bounds porcupine on one history: running out of time
	// fails the test rather than passing it as unknown.
	linCheckTimeout = 30 * time.Second
)

// TestOffsetStore_Linearizable checks that concurrent WriteOffset,
// GetCurrentOffset and ResetOffset calls behave as if each took effect at
// one instant between its call and its return, as the memory store's do:
// writes sent together in one batch included, and a reset seen by every
// shard at once or by none. Every read must return a Value and Timestamp
// written together.
func TestOffsetStore_Linearizable(t *testing.T) {
	store, _ := connectedStore(t, postgres.WithClock(func() time.Time { return time.UnixMilli(linResetStamp) }))
	ops := 0
	for round := range linRounds {
		history := linHistory(t, store, fmt.Sprintf("lin-%d", round), uint64(round))
		ops += len(history)
		res, info := porcupine.CheckOperationsVerbose(linModel, history, linCheckTimeout)
		switch res {
		case porcupine.Illegal:
			t.Fatalf("round %d: porcupine found no sequential order that explains the %d calls (%s); want one: every call takes effect at one instant, and a reset on every shard at once",
				round, len(history), linVisualize(t, info))
		case porcupine.Unknown:
			t.Fatalf("round %d: porcupine could not decide on %d calls within %v; want a verdict", round, len(history), linCheckTimeout)
		}
	}
	batches, writes := postgres.BatchCounts(store)
	t.Logf("operations checked for linearizability: %d in %d histories; %d writes went out in %d batches", ops, linRounds, writes, batches)
	if writes <= batches {
		t.Errorf("%d writes went out in %d batches; want fewer batches than writes, or the check did not cover group commit", writes, batches)
	}
}

type linKind int

const (
	linWrite linKind = iota
	linGet
	linReset
)

// linMix is the share of each kind of call.
var linMix = [...]linKind{linWrite, linWrite, linWrite, linGet, linGet, linReset}

// linInput is one call; shard is unused by a reset.
type linInput struct {
	kind  linKind
	shard uint64
	value int64
}

// linOutput is what the call returned.
type linOutput struct {
	err       string
	present   bool
	value     int64
	timestamp int64
}

type linShard struct {
	present          bool
	value, timestamp int64
}

// linState is the model's state: each shard's offset, if any.
type linState [linShards]linShard

// linStamp is the timestamp a write of value carries: a read of a value
// with another timestamp saw half of one write and half of another.
func linStamp(value int64) int64 { return value*10 + 1 }

// linModel is the sequential specification: a write sets its shard, a get
// reads its shard, and a reset sets every shard that has an offset, all at
// once, to its value and the clock's stamp. No call may fail.
var linModel = porcupine.Model{
	Init: func() any {
		var s linState
		// linHistory writes shards 0 and 1 before the clients start, and
		// leaves the last one empty until a client writes it.
		for shard := range linShards - 1 {
			s[shard] = linShard{present: true, timestamp: linStamp(0)}
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
			s[in.shard] = linShard{present: true, value: in.value, timestamp: linStamp(in.value)}
			return true, s
		case linGet:
			got := linShard{present: out.present, value: out.value, timestamp: out.timestamp}
			return got == s[in.shard], s
		default:
			for shard := range s {
				if s[shard].present {
					s[shard].value, s[shard].timestamp = in.value, linResetStamp
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
			return fmt.Sprintf("get(%d) -> %d @%d", in.shard, out.value, out.timestamp)
		}
		return fmt.Sprintf("reset(%d)", in.value)
	},
	DescribeState: func(state any) string {
		return fmt.Sprint(state.(linState))
	},
}

// linHistory runs one round against projection name of store and returns
// its history. Each client makes its own random choices from seed; writes
// and resets carry values unique in the history, so a read names the call
// it observed.
func linHistory(t *testing.T, store *postgres.OffsetStore, name string, seed uint64) []porcupine.Operation {
	t.Helper()
	ctx := t.Context()
	for shard := range uint64(linShards - 1) {
		o := &egopb.Offset{ProjectionName: name, ShardNumber: shard, Timestamp: linStamp(0)}
		if err := store.WriteOffset(ctx, o); err != nil {
			t.Fatalf("WriteOffset(ctx, %v) = %v; want <nil>", o, err)
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
					o := &egopb.Offset{ProjectionName: name, ShardNumber: in.shard, Value: in.value, Timestamp: linStamp(in.value)}
					out.err = errString(store.WriteOffset(ctx, o))
				case linGet:
					got, err := store.GetCurrentOffset(ctx, &egopb.ProjectionId{ProjectionName: name, ShardNumber: in.shard})
					out.err = errString(err)
					if got != nil {
						out.present, out.value, out.timestamp = true, got.Value, got.Timestamp
					}
				case linReset:
					in.value = -unique
					out.err = errString(store.ResetOffset(ctx, name, in.value))
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
// test keeps artifacts (go test -artifacts) and says where.
func linVisualize(t *testing.T, info porcupine.LinearizationInfo) string {
	t.Helper()
	path := filepath.Join(t.ArtifactDir(), "history.html")
	if err := porcupine.VisualizePath(linModel, info, path); err != nil {
		return fmt.Sprintf("could not draw the history: %v", err)
	}
	return "history drawn in " + path + ", kept with go test -artifacts"
}

// TestOffsetStore_ResetReachesShardAddedMeanwhile checks the case the
// linearizability check meets only by chance: a shard added while a reset
// runs. Another transaction holds a lock on shard 0, so that the reset
// waits in the middle; meanwhile a writer adds shard 2. If that write
// returns before the reset does, and a reader then still sees shard 0 as it
// was, the write came before the reset, which must therefore reach shard 2
// too. A reset that is one UPDATE reads the rows committed when it started,
// misses shard 2, and fails this test. Each statement that writes is
// tried: the lone upsert, the one of many rows (here of two projections),
// and their monotonic forms.
func TestOffsetStore_ResetReachesShardAddedMeanwhile(t *testing.T) {
	for _, tc := range []struct {
		name      string
		monotonic bool
		write     func(ctx context.Context, store *postgres.OffsetStore, pool *pgxpool.Pool, o *egopb.Offset) error
	}{
		{"WriteOffset", false, func(ctx context.Context, store *postgres.OffsetStore, _ *pgxpool.Pool, o *egopb.Offset) error {
			return store.WriteOffset(ctx, o)
		}},
		{"WriteOffsets", false, func(ctx context.Context, store *postgres.OffsetStore, _ *pgxpool.Pool, o *egopb.Offset) error {
			return store.WriteOffsets(ctx, []*egopb.Offset{o, {ProjectionName: "other", ShardNumber: 1, Value: 1}})
		}},
		{"WriteOffset/Monotonic", true, func(ctx context.Context, store *postgres.OffsetStore, _ *pgxpool.Pool, o *egopb.Offset) error {
			return store.WriteOffset(ctx, o)
		}},
		{"WriteOffsetTx/Monotonic", true, func(ctx context.Context, store *postgres.OffsetStore, pool *pgxpool.Pool, o *egopb.Offset) error {
			return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return store.WriteOffsetTx(ctx, tx, o) })
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opts []postgres.Option
			if tc.monotonic {
				opts = append(opts, postgres.WithMonotonicWrites())
			}
			resetReachesShardAddedMeanwhile(t, tc.write, opts...)
		})
	}
}

func resetReachesShardAddedMeanwhile(t *testing.T, write func(context.Context, *postgres.OffsetStore, *pgxpool.Pool, *egopb.Offset) error, opts ...postgres.Option) {
	ctx := t.Context()
	store, schema := connectedStore(t, opts...)
	for shard := range uint64(2) {
		mustWrite(t, store, &egopb.Offset{ProjectionName: "p", ShardNumber: shard, Value: 1, Timestamp: 1})
	}
	pool := newPool(t, pgtest.URL(t))
	blocker, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Rollback(context.Background())
	if _, err := blocker.Exec(ctx, `SELECT 1 FROM `+table(schema)+` WHERE projection_name = 'p' AND shard_number = 0 FOR UPDATE`); err != nil {
		t.Fatal(err)
	}

	resetDone := make(chan error, 1)
	go func() { resetDone <- store.ResetOffset(ctx, "p", 7) }()
	waitForLockWaiters(t, pool, 1)

	writeDone := make(chan error, 1)
	added := &egopb.Offset{ProjectionName: "p", ShardNumber: 2, Value: 5, Timestamp: 5}
	go func() { writeDone <- write(ctx, store, pool, added) }()
	// Give the write time to commit, if it can while the reset waits.
	var writeReturned bool
	select {
	case err := <-writeDone:
		if err != nil {
			t.Fatalf("write of %v = %v; want <nil>", added, err)
		}
		writeReturned = true
	case <-time.After(500 * time.Millisecond):
	}
	before, err := store.GetCurrentOffset(ctx, &egopb.ProjectionId{ProjectionName: "p", ShardNumber: 0})
	if err != nil {
		t.Fatal(err)
	}
	if err := blocker.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-resetDone; err != nil {
		t.Fatalf("ResetOffset(ctx, p, 7) = %v; want <nil>", err)
	}
	if !writeReturned {
		if err := <-writeDone; err != nil {
			t.Fatalf("write of %v = %v; want <nil>", added, err)
		}
	}
	got, err := store.GetCurrentOffset(ctx, &egopb.ProjectionId{ProjectionName: "p", ShardNumber: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("write returned while the reset waited: %v; shard 0 read then: %v; shard 2 now: %v", writeReturned, before, got)
	if writeReturned && before.Value == 1 && got.Value != 7 {
		t.Errorf("shard 2 = %v after a reset to 7 that began before the write of %v returned, and that a read after the write had not yet seen; want value 7: a reset must reach every shard, including one added while it ran", got, added)
	}
}

// waitForLockWaiters waits until n sessions of the server wait for a lock.
func waitForLockWaiters(t *testing.T, pool *pgxpool.Pool, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		err := pool.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions wait for a lock after 10s; want %d", waiting, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
