// Package lincheck checks, with porcupine, that a store's WriteOffset,
// GetCurrentOffset and ResetOffset each take effect at one instant between
// call and return (the contract's rules 8 and 9): a reset reaches every
// shard of its projection at once or none, and a read returns the Value and
// Timestamp of one write. The memory and PostgreSQL tests run it against
// their stores.
//
// [Run.History] runs concurrent clients against one projection of a store
// and records when each call began and returned; [Verify] asks porcupine
// whether some sequential order of the calls, consistent with those times,
// explains every result under [Model].
package lincheck

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

	"github.com/ego-contrib/offsetstore/egopb"
)

// Shards is how many shards of the projection a history touches. Shards 0
// and 1 are written before the clients start; the last one stays empty
// until a client writes it, so that resets meet a shard added meanwhile.
const Shards = 3

// ResetStamp is the Timestamp, in Unix milliseconds, that the model expects
// every reset to write: the store under check must stamp resets with
// [Clock].
const ResetStamp = 42

// Clock is the clock the store under check must stamp resets with.
func Clock() time.Time { return time.UnixMilli(ResetStamp) }

// Store is the part of a store the check drives.
type Store interface {
	WriteOffset(ctx context.Context, offset *egopb.Offset) error
	GetCurrentOffset(ctx context.Context, projectionID *egopb.ProjectionId) (*egopb.Offset, error)
	ResetOffset(ctx context.Context, projectionName string, value int64) error
}

// Run says how many clients a history has and how many calls each makes.
type Run struct {
	Clients      int
	OpsPerClient int
}

type kind int

const (
	write kind = iota
	get
	reset
)

// mix is the share of each kind of call: three writes and two gets for
// each reset, so that shards keep changing, are read often while resets
// run, and writes meet each other (a store that groups them is checked
// grouped).
var mix = [...]kind{write, write, write, get, get, reset}

// input is one call; shard is unused by a reset.
type input struct {
	kind  kind
	shard uint64
	value int64
}

// output is what the call returned: a write and a reset return only an
// error, a get whether an offset was there and its fields.
type output struct {
	err       string
	present   bool
	value     int64
	timestamp int64
}

type shard struct {
	present          bool
	value, timestamp int64
}

// state is the model's state: each shard's offset, if any. It is an array,
// so that porcupine can compare states with ==.
type state [Shards]shard

// stamp is the Timestamp a write of value carries: a read of value with
// another Timestamp saw half of one write and half of another.
func stamp(value int64) int64 { return value*10 + 1 }

// Model is the sequential specification: a write sets its shard, a get
// reads its shard, and a reset sets every shard that has an offset, all at
// once, to its value and [ResetStamp]. No call may fail.
var Model = porcupine.Model{
	Init: func() any {
		var s state
		for i := range Shards - 1 {
			s[i] = shard{present: true, timestamp: stamp(0)}
		}
		return s
	},
	Step: func(st, in, out any) (bool, any) {
		s, call, ret := st.(state), in.(input), out.(output)
		if ret.err != "" {
			return false, s
		}
		switch call.kind {
		case write:
			s[call.shard] = shard{present: true, value: call.value, timestamp: stamp(call.value)}
			return true, s
		case get:
			return shard{present: ret.present, value: ret.value, timestamp: ret.timestamp} == s[call.shard], s
		default:
			for i := range s {
				if s[i].present {
					s[i].value, s[i].timestamp = call.value, ResetStamp
				}
			}
			return true, s
		}
	},
	DescribeOperation: func(in, out any) string {
		call, ret := in.(input), out.(output)
		switch {
		case ret.err != "":
			return fmt.Sprintf("%v -> error %s", call, ret.err)
		case call.kind == write:
			return fmt.Sprintf("write(%d, %d)", call.shard, call.value)
		case call.kind == get && !ret.present:
			return fmt.Sprintf("get(%d) -> nil", call.shard)
		case call.kind == get:
			return fmt.Sprintf("get(%d) -> %d @%d", call.shard, ret.value, ret.timestamp)
		}
		return fmt.Sprintf("reset(%d)", call.value)
	},
	DescribeState: func(st any) string { return fmt.Sprint(st.(state)) },
}

// History runs one history against projection of store, which must not
// hold it yet, and returns the calls made. Each client makes its own random
// choices from seed; writes and resets carry values unique in the history,
// so that a read names the call it observed. Call and return times come
// from the monotonic clock, so the recording adds no synchronisation
// between clients that could hide a race.
func (r Run) History(t *testing.T, store Store, projection string, seed uint64) []porcupine.Operation {
	t.Helper()
	ctx := t.Context()
	for i := range uint64(Shards - 1) {
		o := &egopb.Offset{ProjectionName: projection, ShardNumber: i, Timestamp: stamp(0)}
		if err := store.WriteOffset(ctx, o); err != nil {
			t.Fatalf("WriteOffset(ctx, %v) = %v; want <nil>", o, err)
		}
	}
	histories := make([][]porcupine.Operation, r.Clients)
	start := time.Now()
	var ready, wg sync.WaitGroup
	ready.Add(r.Clients)
	for client := range r.Clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(client)))
			ops := make([]porcupine.Operation, 0, r.OpsPerClient)
			ready.Done()
			ready.Wait()
			for i := range r.OpsPerClient {
				unique := int64(client*r.OpsPerClient + i + 1)
				call := input{kind: mix[rng.IntN(len(mix))], shard: rng.Uint64N(Shards)}
				var ret output
				began := time.Since(start).Nanoseconds()
				switch call.kind {
				case write:
					call.value = unique
					o := &egopb.Offset{ProjectionName: projection, ShardNumber: call.shard, Value: call.value, Timestamp: stamp(call.value)}
					ret.err = errString(store.WriteOffset(ctx, o))
				case get:
					got, err := store.GetCurrentOffset(ctx, &egopb.ProjectionId{ProjectionName: projection, ShardNumber: call.shard})
					ret.err = errString(err)
					if got != nil {
						ret.present, ret.value, ret.timestamp = true, got.Value, got.Timestamp
					}
				case reset:
					call.value = -unique
					ret.err = errString(store.ResetOffset(ctx, projection, call.value))
				}
				ops = append(ops, porcupine.Operation{
					ClientId: client,
					Input:    call,
					Call:     began,
					Output:   ret,
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

// checkTimeout bounds porcupine on one history. The histories the tests
// make are decided in milliseconds; running out of time means a test is
// misconfigured, so it fails rather than passing as unknown.
const checkTimeout = 30 * time.Second

// Check returns porcupine's verdict on history under [Model].
func Check(history []porcupine.Operation) porcupine.CheckResult {
	return porcupine.CheckOperationsTimeout(Model, history, checkTimeout)
}

// Verify fails t unless porcupine finds history linearizable under
// [Model]; name says which history it is. When porcupine finds no order,
// Verify draws the history where go test keeps artifacts (go test
// -artifacts) and says where.
func Verify(t *testing.T, name string, history []porcupine.Operation) {
	t.Helper()
	switch res, info := porcupine.CheckOperationsVerbose(Model, history, checkTimeout); res {
	case porcupine.Illegal:
		t.Fatalf("%s: porcupine found no sequential order that explains the %d calls (%s); want one: every call takes effect at one instant, a reset on every shard at once, and a read returns the Value and Timestamp of one write (rules 8, 9)",
			name, len(history), visualize(t, info))
	case porcupine.Unknown:
		t.Fatalf("%s: porcupine could not decide on %d calls within %v; want a verdict", name, len(history), checkTimeout)
	}
}

func visualize(t *testing.T, info porcupine.LinearizationInfo) string {
	path := filepath.Join(t.ArtifactDir(), "history.html")
	if err := porcupine.VisualizePath(Model, info, path); err != nil {
		return fmt.Sprintf("could not draw the history: %v", err)
	}
	return "history drawn in " + path + ", kept with go test -artifacts"
}
