// Package lincheck checks, with porcupine, that a store's WriteOffset,
// GetCurrentOffset and ResetOffset each take effect at one instant between
// call and return (the contract's rules 8 and 9): a reset reaches every
// shard of its projection at once or none, and a read returns the Value and
// Timestamp of one write. The memory and PostgreSQL tests run it against
// their stores; the NATS tests run it through three servers, with resets
// of some shards, monotonic writes (rule 12), and servers cut off, stopped
// and stepping down meanwhile.
//
// [Run.History] runs concurrent clients against one projection of a store
// and records when each call began and returned; [Verify] asks porcupine
// whether some sequential order of the calls, consistent with those times,
// explains every result under [Model].
package lincheck

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/ego-contrib/offsetstore"
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

// ShardResetter is a [Store] that also resets some shards of a projection,
// as [offsetstore.Admin]'s ResetShards does, reporting the offsets it
// changed as they were.
type ShardResetter interface {
	Store
	ResetShards(ctx context.Context, projectionName string, value int64, shards []uint64) ([]*egopb.Offset, error)
}

// Run says how many clients a history has, how many calls each makes, and
// what the store is expected to do.
type Run struct {
	Clients      int
	OpsPerClient int
	// ResetSome adds ResetShards of some of the shards to the calls, and
	// checks what each reports: the store must be a [ShardResetter].
	ResetSome bool
	// Monotonic says that the store refuses a write below the value
	// stored with an error wrapping [offsetstore.ErrOffsetRegression],
	// changing nothing (rule 12).
	Monotonic bool
	// Faults says that calls may fail because servers are cut off,
	// stopped or step down meanwhile: a write or reset that fails may or
	// may not have taken effect, and a read that fails says nothing, so
	// the check accepts either. Without it, every failure is a failure of
	// the check (but a monotonic store's refusals).
	Faults bool
	// CallTimeout, if not zero, is the context's timeout of each write
	// and reset, and ReadTimeout of each read (CallTimeout if zero).
	CallTimeout, ReadTimeout time.Duration
	// Pause, if not zero, is the longest a client waits, at random,
	// between two calls: it stretches a history over a fault of the
	// servers without making it longer to check.
	Pause time.Duration
}

type kind int

const (
	write kind = iota
	get
	reset
	resetSome
)

// mix is the share of each kind of call: three writes and two gets for
// each reset, so that shards keep changing, are read often while resets
// run, and writes meet each other (a store that groups them is checked
// grouped). With ResetSome, one reset in two names some shards only.
var (
	mix          = [...]kind{write, write, write, get, get, reset}
	mixResetSome = [...]kind{write, write, write, write, write, write, get, get, get, get, reset, resetSome}
)

// input is one call; shard is a write's or a get's, mask a resetSome's
// shards, one bit each.
type input struct {
	kind      kind
	shard     uint64
	value     int64
	mask      uint8
	monotonic bool
}

// output is what the call returned: a write and a reset return only an
// error, a get whether an offset was there and its fields, a resetSome
// the offsets it reported. unknown marks a write or reset that failed
// when faults were expected: it may or may not have taken effect.
type output struct {
	err       string
	unknown   bool
	present   bool
	value     int64
	timestamp int64
	report    state
}

// regression is the err of an output whose call failed with
// [offsetstore.ErrOffsetRegression].
const regression = "offset regression"

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

// apply returns s after call, which took effect, or ok false if a store
// keeping the rules could not have made it take effect (a monotonic
// write below the stored value).
func apply(s state, call input) (state, bool) {
	switch call.kind {
	case write:
		if cur := s[call.shard]; call.monotonic && cur.present && call.value < cur.value {
			return s, false
		}
		s[call.shard] = shard{present: true, value: call.value, timestamp: stamp(call.value)}
	case reset, resetSome:
		for i := range s {
			if s[i].present && (call.kind == reset || call.mask&(1<<i) != 0) {
				s[i].value, s[i].timestamp = call.value, ResetStamp
			}
		}
	}
	return s, true
}

// reported is what a resetSome of mask reports on s: the shards it
// changes, as they are.
func reported(s state, mask uint8) state {
	var r state
	for i := range s {
		if s[i].present && mask&(1<<i) != 0 {
			r[i] = s[i]
		}
	}
	return r
}

// Model is the sequential specification: a write sets its shard (unless
// it is monotonic and below the stored value, which it must then refuse),
// a get reads its shard, a reset sets every shard that has an offset, all
// at once, to its value and [ResetStamp], and a resetSome those of its
// shards that have one, reporting them as they were. No call may fail,
// but a monotonic write's refusal; a call whose outcome is unknown may
// have taken effect or not.
var Model = porcupine.NondeterministicModel{
	Init: func() []any {
		var s state
		for i := range Shards - 1 {
			s[i] = shard{present: true, timestamp: stamp(0)}
		}
		return []any{s}
	},
	Step: func(st, in, out any) []any {
		s, call, ret := st.(state), in.(input), out.(output)
		if ret.unknown {
			next := []any{s}
			if applied, ok := apply(s, call); ok && applied != s {
				next = append(next, applied)
			}
			return next
		}
		switch {
		case ret.err == regression:
			if cur := s[call.shard]; call.kind == write && call.monotonic && cur.present && call.value < cur.value {
				return []any{s}
			}
			return nil
		case ret.err != "":
			return nil
		case call.kind == get:
			if (shard{present: ret.present, value: ret.value, timestamp: ret.timestamp}) == s[call.shard] {
				return []any{s}
			}
			return nil
		case call.kind == resetSome && ret.report != reported(s, call.mask):
			return nil
		}
		if next, ok := apply(s, call); ok {
			return []any{next}
		}
		return nil
	},
	DescribeOperation: func(in, out any) string {
		call, ret := in.(input), out.(output)
		var desc string
		switch call.kind {
		case write:
			desc = fmt.Sprintf("write(%d, %d)", call.shard, call.value)
		case get:
			desc = fmt.Sprintf("get(%d)", call.shard)
		case reset:
			desc = fmt.Sprintf("reset(%d)", call.value)
		default:
			desc = fmt.Sprintf("resetSome(%d, %03b)", call.value, call.mask)
		}
		switch {
		case ret.unknown:
			return desc + " -> unknown: " + ret.err
		case ret.err != "":
			return desc + " -> error " + ret.err
		case call.kind == get && !ret.present:
			return desc + " -> nil"
		case call.kind == get:
			return fmt.Sprintf("%s -> %d @%d", desc, ret.value, ret.timestamp)
		case call.kind == resetSome:
			return fmt.Sprintf("%s -> %v", desc, ret.report)
		}
		return desc
	},
	DescribeState: func(st any) string { return fmt.Sprint(st.(state)) },
}

// History runs one history against projection of store, which must not
// hold it yet, and returns the calls made. Each client makes its own random
// choices from seed; writes and resets carry values unique in the history,
// so that a read names the call it observed. Call and return times come
// from the monotonic clock, so the recording adds no synchronisation
// between clients that could hide a race.
//
// With Faults, a write or reset that fails but for a monotonic refusal is
// recorded as unknown and as returning after every other call, and a read
// that fails is left out: what porcupine is asked is whether some outcome
// of the unknown calls explains the rest.
func (r Run) History(t *testing.T, store Store, projection string, seed uint64) []porcupine.Operation {
	t.Helper()
	ctx := t.Context()
	// A first write that failed may still land, later, over a write of
	// the history: each is a call of the history, of unknown outcome.
	var setup []porcupine.Operation
	for i := range uint64(Shards - 1) {
		o := &egopb.Offset{ProjectionName: projection, ShardNumber: i, Timestamp: stamp(0)}
		for {
			err := r.call(ctx, func(ctx context.Context) error { return store.WriteOffset(ctx, o) })
			if err == nil {
				break
			}
			// With faults, try until one is acknowledged.
			if !r.Faults || ctx.Err() != nil {
				t.Fatalf("WriteOffset(ctx, %v) = %v; want <nil>", o, err)
			}
			setup = append(setup, porcupine.Operation{ClientId: r.Clients, Input: input{kind: write, shard: i, monotonic: r.Monotonic},
				Output: output{err: err.Error(), unknown: true}, Call: 0, Return: -1})
		}
	}
	kinds := mix[:]
	resetter, _ := store.(ShardResetter)
	if r.ResetSome {
		if resetter == nil {
			t.Fatalf("lincheck: Run.ResetSome needs a store with ResetShards; %T has none", store)
		}
		kinds = mixResetSome[:]
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
				call := input{kind: kinds[rng.IntN(len(kinds))], shard: rng.Uint64N(Shards), monotonic: r.Monotonic}
				var ret output
				var err error
				began := time.Since(start).Nanoseconds()
				switch call.kind {
				case write:
					call.value = unique
					o := &egopb.Offset{ProjectionName: projection, ShardNumber: call.shard, Value: call.value, Timestamp: stamp(call.value)}
					err = r.call(ctx, func(ctx context.Context) error { return store.WriteOffset(ctx, o) })
				case get:
					var got *egopb.Offset
					err = r.read(ctx, func(ctx context.Context) (err error) {
						got, err = store.GetCurrentOffset(ctx, &egopb.ProjectionId{ProjectionName: projection, ShardNumber: call.shard})
						return err
					})
					if got != nil {
						ret.present, ret.value, ret.timestamp = true, got.Value, got.Timestamp
					}
				case reset:
					call.value = -unique
					err = r.call(ctx, func(ctx context.Context) error { return store.ResetOffset(ctx, projection, call.value) })
				case resetSome:
					call.value = -unique
					call.mask = uint8(rng.IntN(1<<Shards-1) + 1)
					var shards []uint64
					for i := range uint64(Shards) {
						if call.mask&(1<<i) != 0 {
							shards = append(shards, i)
						}
					}
					var before []*egopb.Offset
					err = r.call(ctx, func(ctx context.Context) (err error) {
						before, err = resetter.ResetShards(ctx, projection, call.value, shards)
						return err
					})
					for _, o := range before {
						if o.ShardNumber < Shards {
							ret.report[o.ShardNumber] = shard{present: true, value: o.Value, timestamp: o.Timestamp}
						}
					}
				}
				op := porcupine.Operation{ClientId: client, Input: call, Call: began, Return: time.Since(start).Nanoseconds()}
				keep := true
				switch {
				case err == nil:
				case r.Monotonic && call.kind == write && errors.Is(err, offsetstore.ErrOffsetRegression):
					ret.err = regression
				case r.Faults && call.kind == get:
					keep = false
				case r.Faults:
					ret.err, ret.unknown = err.Error(), true
					op.Return = -1 // after every other call; set below
				default:
					ret.err = err.Error()
				}
				if keep {
					op.Output = ret
					ops = append(ops, op)
				}
				if r.Pause > 0 {
					time.Sleep(time.Duration(rng.Int64N(int64(r.Pause))))
				}
			}
			histories[client] = ops
		})
	}
	wg.Wait()
	history := slices.Concat(append(histories, setup)...)
	end := time.Since(start).Nanoseconds()
	for i := range history {
		if history[i].Return == -1 {
			history[i].Return = end
		}
	}
	return history
}

// call calls fn with ctx, bounded by the run's CallTimeout.
func (r Run) call(ctx context.Context, fn func(context.Context) error) error {
	return callWithin(ctx, r.CallTimeout, fn)
}

// read calls fn with ctx, bounded by the run's ReadTimeout.
func (r Run) read(ctx context.Context, fn func(context.Context) error) error {
	return callWithin(ctx, cmp.Or(r.ReadTimeout, r.CallTimeout), fn)
}

func callWithin(ctx context.Context, timeout time.Duration, fn func(context.Context) error) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	return fn(ctx)
}

// Unknown returns how many calls of history failed with an outcome the
// check could not know, as [Run.Faults] allows.
func Unknown(history []porcupine.Operation) int {
	n := 0
	for _, op := range history {
		if op.Output.(output).unknown {
			n++
		}
	}
	return n
}

// checkTimeout bounds porcupine on one history. The histories the tests
// make are decided in milliseconds; running out of time means a test is
// misconfigured, so it fails rather than passing as unknown.
const checkTimeout = 30 * time.Second

// Check returns porcupine's verdict on history under [Model].
func Check(history []porcupine.Operation) porcupine.CheckResult {
	return porcupine.CheckOperationsTimeout(Model.ToModel(), history, checkTimeout)
}

// Verify fails t unless porcupine finds history linearizable under
// [Model]; name says which history it is. When porcupine finds no order,
// Verify draws the history where go test keeps artifacts (go test
// -artifacts) and says where.
func Verify(t *testing.T, name string, history []porcupine.Operation) {
	t.Helper()
	switch res, info := porcupine.CheckOperationsVerbose(Model.ToModel(), history, checkTimeout); res {
	case porcupine.Illegal:
		t.Fatalf("%s: porcupine found no sequential order that explains the %d calls (%s); want one: every call takes effect at one instant, a reset on every shard at once, and a read returns the Value and Timestamp of one write (rules 8, 9)",
			name, len(history), visualize(t, history, info))
	case porcupine.Unknown:
		t.Fatalf("%s: porcupine could not decide on %d calls within %v; want a verdict", name, len(history), checkTimeout)
	}
}

func visualize(t *testing.T, history []porcupine.Operation, info porcupine.LinearizationInfo) string {
	dir := t.ArtifactDir()
	path := filepath.Join(dir, "history.html")
	if err := porcupine.VisualizePath(Model.ToModel(), info, path); err != nil {
		return fmt.Sprintf("could not draw the history: %v", err)
	}
	// The calls as text too, in the order they began, for grep and diff.
	ops := slices.Clone(history)
	slices.SortFunc(ops, func(a, b porcupine.Operation) int { return cmp.Compare(a.Call, b.Call) })
	var text strings.Builder
	for _, op := range ops {
		fmt.Fprintf(&text, "%10.3f %10.3f client %d: %s\n", float64(op.Call)/1e6, float64(op.Return)/1e6, op.ClientId,
			Model.DescribeOperation(op.Input, op.Output))
	}
	if err := os.WriteFile(filepath.Join(dir, "history.txt"), []byte(text.String()), 0o644); err != nil {
		return fmt.Sprintf("could not write the history: %v", err)
	}
	return "history drawn in " + path + " and listed in history.txt beside it, kept with go test -artifacts"
}
