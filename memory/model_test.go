package memory_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"pgregory.net/rapid"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/memory"
)

// TestOffsetStore_MatchesModel drives the store and a plain map model side
// by side through random sequences of every operation, test-support ones
// included, and checks every result, error or value, against the model;
// after every step it also compares the whole content (Snapshot and
// Projections) with the model, so an operation that should change nothing
// is caught if it changed something.
//
// rapid runs 100 sequences of about 120 steps by default; for a longer run
// use, for example, go test ./memory -run MatchesModel -rapid.checks=20000
// (rapid's flags go after the package, or go test takes them for the
// test binary and tests the current directory instead).
func TestOffsetStore_MatchesModel(t *testing.T) {
	for _, tc := range []struct {
		name      string
		monotonic bool
	}{
		{"LastWriteWins", false},
		{"MonotonicWrites", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var steps int64
			rapid.Check(t, func(rt *rapid.T) {
				newModelMachine(tc.monotonic, &steps).run(rt)
			})
			t.Logf("model steps: %d", steps)
		})
	}
}

// modelKey and modelRecord are the model's view of one stored offset.
type modelKey struct {
	name  string
	shard uint64
}

type modelRecord struct {
	value     int64
	timestamp int64
}

// manualClock is the store's clock in the model test: it moves only when
// the test moves it, so the timestamp a reset stamps is known.
type manualClock struct{ ms int64 }

func (c *manualClock) now() time.Time { return time.UnixMilli(c.ms) }

// modelMachine holds the store under test and the model it must agree with.
type modelMachine struct {
	store *memory.OffsetStore
	clock *manualClock
	steps *int64

	monotonic bool
	connected bool
	keep      bool
	offsets   map[modelKey]modelRecord
}

func newModelMachine(monotonic bool, steps *int64) *modelMachine {
	clock := &manualClock{ms: 1_700_000_000_000}
	opts := []memory.Option{memory.WithClock(clock.now)}
	if monotonic {
		opts = append(opts, memory.WithMonotonicWrites())
	}
	return &modelMachine{
		store:     memory.NewOffsetStore(opts...),
		clock:     clock,
		steps:     steps,
		monotonic: monotonic,
		offsets:   make(map[modelKey]modelRecord),
	}
}

func (m *modelMachine) run(t *rapid.T) {
	actions := map[string]func(*rapid.T){
		"Connect":          m.connect,
		"Disconnect":       m.disconnect,
		"Ping":             m.ping,
		"SetKeep":          m.setKeep,
		"AdvanceClock":     m.advanceClock,
		"WriteOffset":      m.writeOffset,
		"WriteRange":       m.writeRange,
		"GetCurrentOffset": m.getCurrentOffset,
		"ResetOffset":      m.resetOffset,
		"WriteOffsets":     m.writeOffsets,
		"ResetShards":      m.resetShards,
		"DeleteShards":     m.deleteShards,
		"Offsets":          m.offsetsOf,
		"Projections":      m.projections,
		"Snapshot":         m.snapshot,
		"Restore":          m.restore,
		"WaitForOffset":    m.waitForOffset,
		"WaitForOffsets":   m.waitForOffsets,
		"DoneContext":      m.doneContext,
	}
	for name, action := range actions {
		actions[name] = func(t *rapid.T) {
			*m.steps++
			action(t)
		}
	}
	actions[""] = m.check
	// One Repeat runs about 30 steps (-rapid.steps); chaining a few lets
	// a sequence reach deeper states, such as a reset after a restore
	// after a reconnect that kept its records.
	for range 4 {
		t.Repeat(actions)
	}
}

// Inputs. Names are drawn from a few valid ones that are prefixes of each
// other or differ only in case, so a store that matched names loosely
// would be caught; one draw in eight is invalid.

var (
	validNames   = []string{"p", "p2", "pp", "P", "é"}
	invalidNames = []string{"", "\xff", "p\xfe"}
)

func validName(name string) bool { return name != "" && utf8.ValidString(name) }

func drawName(t *rapid.T, label string) string {
	if rapid.IntRange(0, 7).Draw(t, label+"Invalid") == 7 {
		return rapid.SampledFrom(invalidNames).Draw(t, label)
	}
	return rapid.SampledFrom(validNames).Draw(t, label)
}

// drawShard mostly picks among a projection's first few shards, so keys
// collide; sometimes among the first hundred or so, across the 64-shard
// boundaries a store may lay its shards out by; and sometimes one far
// away, as a sparse shard number would be.
func drawShard(t *rapid.T) uint64 {
	switch rapid.IntRange(0, 9).Draw(t, "shardRange") {
	case 7, 8:
		return rapid.Uint64Range(0, 140).Draw(t, "shard")
	case 9:
		return rapid.SampledFrom([]uint64{1 << 20, 1 << 32, 1 << 63, math.MaxUint64}).Draw(t, "shard")
	}
	return rapid.Uint64Range(0, 3).Draw(t, "shard")
}

func drawValue(t *rapid.T, label string) int64 {
	if rapid.IntRange(0, 9).Draw(t, label+"Extreme") == 9 {
		return rapid.SampledFrom([]int64{math.MinInt64, math.MaxInt64}).Draw(t, label)
	}
	return rapid.Int64Range(-3, 12).Draw(t, label)
}

// drawNil reports whether a message argument should be nil: one draw in ten.
func drawNil(t *rapid.T, label string) bool {
	return rapid.IntRange(0, 9).Draw(t, label) == 9
}

func drawOffset(t *rapid.T) *egopb.Offset {
	if drawNil(t, "nilOffset") {
		return nil
	}
	return &egopb.Offset{
		ProjectionName: drawName(t, "name"),
		ShardNumber:    drawShard(t),
		Value:          drawValue(t, "value"),
		Timestamp:      rapid.Int64().Draw(t, "timestamp"),
	}
}

func drawID(t *rapid.T) *egopb.ProjectionId {
	if drawNil(t, "nilID") {
		return nil
	}
	return &egopb.ProjectionId{ProjectionName: drawName(t, "name"), ShardNumber: drawShard(t)}
}

// Expected outcomes.

// outcome is what the model allows a call to return: no error when errs
// is empty, else an error wrapping one of errs; rule says why.
type outcome struct {
	errs []error
	rule string
}

// gate is the outcome of a call that validates its input and needs a
// connected store. Bad input is reported before the connection (rule 11).
func (m *modelMachine) gate(valid bool, rule string) outcome {
	switch {
	case !valid && !m.connected:
		return outcome{[]error{offsetstore.ErrInvalidArgument},
			"bad input on a disconnected store must fail with ErrInvalidArgument, before ErrNotConnected, and change nothing (rules 3, 11)"}
	case !valid:
		return outcome{[]error{offsetstore.ErrInvalidArgument}, "bad input must be rejected and change nothing (rule 3)"}
	case !m.connected:
		return outcome{[]error{offsetstore.ErrNotConnected}, "a disconnected store must refuse and change nothing (rule 2)"}
	}
	return outcome{rule: rule}
}

func (o outcome) ok() bool { return len(o.errs) == 0 }

// check fails t unless err is what o allows.
func (o outcome) check(t *rapid.T, call string, err error) {
	t.Helper()
	if o.ok() {
		if err != nil {
			t.Fatalf("%s = %v; want <nil>: %s", call, err, o.rule)
		}
		return
	}
	for _, want := range o.errs {
		// ErrNotConnected ranks last (rule 11): an error for anything
		// else must not wrap it too.
		if errors.Is(err, want) && (want == offsetstore.ErrNotConnected || !errors.Is(err, offsetstore.ErrNotConnected)) {
			return
		}
	}
	t.Fatalf("%s = %v; want an error wrapping %q: %s", call, err, o.errs, o.rule)
}

// rows returns the model's offsets whose name passes keep, sorted as
// Snapshot sorts them.
func (m *modelMachine) rows(keep func(name string) bool) []row {
	rows := []row{}
	for k, r := range m.offsets {
		if keep(k.name) {
			rows = append(rows, row{k.name, k.shard, r.value, r.timestamp})
		}
	}
	slices.SortFunc(rows, func(a, b row) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), cmp.Compare(a.Shard, b.Shard))
	})
	return rows
}

// summaries returns the model's projections as Projections summarises
// them.
func (m *modelMachine) summaries() []offsetstore.ProjectionSummary {
	summaries := []offsetstore.ProjectionSummary{}
	for _, r := range m.rows(func(string) bool { return true }) {
		if n := len(summaries); n == 0 || summaries[n-1].Name != r.Name {
			summaries = append(summaries, offsetstore.ProjectionSummary{Name: r.Name, MinValue: r.Value, MaxValue: r.Value, LastUpdate: r.Timestamp})
		}
		sum := &summaries[len(summaries)-1]
		sum.Shards++
		sum.MinValue, sum.MaxValue = min(sum.MinValue, r.Value), max(sum.MaxValue, r.Value)
		sum.LastUpdate = max(sum.LastUpdate, r.Timestamp)
	}
	return summaries
}

// check runs after every step: the whole content must match the model.
func (m *modelMachine) check(t *rapid.T) {
	snapshot, err := m.store.Snapshot(t.Context())
	if !m.connected {
		if !errors.Is(err, offsetstore.ErrNotConnected) {
			t.Fatalf("Snapshot(ctx) on a disconnected store = %v, %v; want an error wrapping %q: rule 2", snapshot, err, offsetstore.ErrNotConnected)
		}
		return
	}
	want := m.rows(func(string) bool { return true })
	if got := rowsOf(snapshot); err != nil || !slices.Equal(got, want) {
		t.Fatalf("Snapshot(ctx) = %v, %v; want %v, <nil>: the store must hold exactly what the model holds", got, err, want)
	}
	summaries, err := m.store.Projections(t.Context())
	if wantSummaries := m.summaries(); err != nil || !slices.Equal(summaries, wantSummaries) {
		t.Fatalf("Projections(ctx) = %+v, %v; want %+v, <nil>: Projections summarises every projection with an offset, sorted", summaries, err, wantSummaries)
	}
}

// Actions.

func (m *modelMachine) connect(t *rapid.T) {
	if err := m.store.Connect(t.Context()); err != nil {
		t.Fatalf("Connect(ctx) = %v; want <nil>: Connect may be called any number of times (rule 1)", err)
	}
	m.connected = true
}

func (m *modelMachine) disconnect(t *rapid.T) {
	if err := m.store.Disconnect(t.Context()); err != nil {
		t.Fatalf("Disconnect(ctx) = %v; want <nil>: Disconnect may be called any number of times (rule 1)", err)
	}
	if m.connected && !m.keep {
		clear(m.offsets)
	}
	m.connected = false
}

func (m *modelMachine) ping(t *rapid.T) {
	if err := m.store.Ping(t.Context()); err != nil {
		t.Fatalf("Ping(ctx) = %v; want <nil>: Ping connects a disconnected store (rule 1)", err)
	}
	m.connected = true
}

// setKeep flips KeepRecordsAfterDisconnect. The field must not change while
// other goroutines use the store; this test has only one.
func (m *modelMachine) setKeep(t *rapid.T) {
	m.keep = rapid.Bool().Draw(t, "keep")
	m.store.KeepRecordsAfterDisconnect = m.keep
}

func (m *modelMachine) advanceClock(t *rapid.T) {
	m.clock.ms += rapid.Int64Range(0, 5000).Draw(t, "advanceMillis")
}

func (m *modelMachine) writeOffset(t *rapid.T) {
	m.write(t, drawOffset(t))
}

// writeRange writes a run of shards of one projection, enough to make a
// projection with many shards, dense or with gaps, and to move shards
// written far away earlier into a growing range.
func (m *modelMachine) writeRange(t *rapid.T) {
	name := drawName(t, "name")
	first := rapid.Uint64Range(0, 70).Draw(t, "first")
	n := rapid.Uint64Range(1, 80).Draw(t, "count")
	stride := rapid.Uint64Range(1, 3).Draw(t, "stride")
	value := drawValue(t, "value")
	for i := range n {
		m.write(t, &egopb.Offset{ProjectionName: name, ShardNumber: first + i*stride, Value: value + int64(i), Timestamp: int64(i)})
	}
}

func (m *modelMachine) write(t *rapid.T, offset *egopb.Offset) {
	t.Helper()
	call := fmt.Sprintf("WriteOffset(ctx, %s)", fmtOffset(offset))
	want := m.gate(offset != nil && validName(offset.ProjectionName), "the last write wins (rule 5)")
	var k modelKey
	if want.ok() {
		k = modelKey{offset.ProjectionName, offset.ShardNumber}
		if old, ok := m.offsets[k]; m.monotonic && ok && offset.Value < old.value {
			want = outcome{[]error{offsetstore.ErrOffsetRegression}, "WithMonotonicWrites refuses a lower value and changes nothing"}
		}
	}
	err := m.store.WriteOffset(t.Context(), offset)
	want.check(t, call, err)
	if want.ok() {
		m.offsets[k] = modelRecord{offset.Value, offset.Timestamp}
	}
	if offset != nil {
		// The store must have copied the message in (rule 7); check
		// sees the damage if it did not.
		offset.Value ^= 1
		offset.ShardNumber ^= 1
	}
}

func (m *modelMachine) getCurrentOffset(t *rapid.T) {
	id := drawID(t)
	call := fmt.Sprintf("GetCurrentOffset(ctx, %s)", fmtID(id))
	want := m.gate(id != nil && validName(id.ProjectionName), "")
	got, err := m.store.GetCurrentOffset(t.Context(), id)
	want.check(t, call, err)
	if !want.ok() {
		if got != nil {
			t.Fatalf("%s = %s, %v; want <nil> with the error", call, fmtOffset(got), err)
		}
		return
	}
	r, ok := m.offsets[modelKey{id.ProjectionName, id.ShardNumber}]
	switch {
	case !ok && got != nil:
		t.Fatalf("%s = %s, <nil>; want <nil>, <nil>: nothing was written for the id (rule 6)", call, fmtOffset(got))
	case ok && (got == nil || *rowOf(got) != (row{id.ProjectionName, id.ShardNumber, r.value, r.timestamp})):
		t.Fatalf("%s = %s, <nil>; want %s, <nil>: reads return the last write or reset (rules 5, 8)",
			call, fmtOffset(got), row{id.ProjectionName, id.ShardNumber, r.value, r.timestamp})
	}
	if got != nil {
		// Copy out (rule 7): changing what came back must not reach
		// the store.
		got.Value ^= 1
	}
}

func (m *modelMachine) resetOffset(t *rapid.T) {
	name, value := drawName(t, "name"), drawValue(t, "value")
	call := fmt.Sprintf("ResetOffset(ctx, %q, %d)", name, value)
	want := m.gate(validName(name), "a reset sets every stored shard of the projection (rule 8)")
	err := m.store.ResetOffset(t.Context(), name, value)
	want.check(t, call, err)
	if !want.ok() {
		return
	}
	for k := range m.offsets {
		if k.name == name {
			m.offsets[k] = modelRecord{value, m.clock.ms}
		}
	}
}

// drawShards returns the shards a ResetShards or DeleteShards names: nil
// (every shard) one draw in four, else a few, maybe none, maybe repeated.
func drawShards(t *rapid.T) []uint64 {
	if rapid.IntRange(0, 3).Draw(t, "allShards") == 3 {
		return nil
	}
	shards := []uint64{}
	for range rapid.IntRange(0, 3).Draw(t, "shardsLen") {
		shards = append(shards, drawShard(t))
	}
	return shards
}

// changed returns the model's offsets of name among shards (all of them
// if shards is nil), sorted by shard: what ResetShards and DeleteShards
// report.
func (m *modelMachine) changed(name string, shards []uint64) []row {
	return slices.DeleteFunc(m.rows(func(n string) bool { return n == name }), func(r row) bool {
		return shards != nil && !slices.Contains(shards, r.Shard)
	})
}

func (m *modelMachine) writeOffsets(t *rapid.T) {
	n := rapid.IntRange(0, 4).Draw(t, "writeOffsetsLen")
	offsets := make([]*egopb.Offset, 0, n+1)
	for range n {
		offsets = append(offsets, drawOffset(t))
	}
	if len(offsets) > 0 && rapid.IntRange(0, 4).Draw(t, "duplicate") == 4 {
		if o := offsets[rapid.IntRange(0, len(offsets)-1).Draw(t, "duplicateOf")]; o != nil {
			offsets = append(offsets, &egopb.Offset{ProjectionName: o.ProjectionName, ShardNumber: o.ShardNumber, Value: o.Value + 1})
		}
	}
	valid, regression := true, false
	seen := make(map[modelKey]bool)
	for _, o := range offsets {
		if o == nil || !validName(o.ProjectionName) || seen[modelKey{o.ProjectionName, o.ShardNumber}] {
			valid = false
			break
		}
		k := modelKey{o.ProjectionName, o.ShardNumber}
		seen[k] = true
		if old, ok := m.offsets[k]; ok && m.monotonic && o.Value < old.value {
			regression = true
		}
	}
	call := fmt.Sprintf("WriteOffsets(ctx, %v)", rowsOf(offsets))
	want := m.gate(valid, "WriteOffsets writes every offset and keeps the others")
	if !valid {
		want.rule = "WriteOffsets with a nil entry, a bad name or a duplicate key must fail and change nothing"
	} else if regression && m.connected {
		want = outcome{[]error{offsetstore.ErrOffsetRegression}, "with WithMonotonicWrites, WriteOffsets with one value below the stored must fail and change nothing"}
	}
	err := m.store.WriteOffsets(t.Context(), offsets)
	want.check(t, call, err)
	if want.ok() {
		for _, o := range offsets {
			m.offsets[modelKey{o.ProjectionName, o.ShardNumber}] = modelRecord{o.Value, o.Timestamp}
		}
	}
	for _, o := range offsets {
		if o != nil {
			o.Value ^= 1
		}
	}
}

func (m *modelMachine) resetShards(t *rapid.T) {
	name, value, shards := drawName(t, "name"), drawValue(t, "value"), drawShards(t)
	call := fmt.Sprintf("ResetShards(ctx, %q, %d, %v)", name, value, shards)
	want := m.gate(validName(name), "ResetShards resets the stored shards named, or all if nil, and reports them as they were")
	got, err := m.store.ResetShards(t.Context(), name, value, shards)
	want.check(t, call, err)
	if !want.ok() {
		return
	}
	wantRows := m.changed(name, shards)
	if got == nil || !slices.Equal(rowsOf(got), wantRows) {
		t.Fatalf("%s = %v, <nil>; want %v, <nil>: %s", call, rowsOf(got), wantRows, want.rule)
	}
	for _, r := range wantRows {
		m.offsets[modelKey{r.Name, r.Shard}] = modelRecord{value, m.clock.ms}
	}
}

func (m *modelMachine) deleteShards(t *rapid.T) {
	name, shards := drawName(t, "name"), drawShards(t)
	call := fmt.Sprintf("DeleteShards(ctx, %q, %v)", name, shards)
	want := m.gate(validName(name), "DeleteShards removes the stored shards named, or all if nil, and reports them")
	got, err := m.store.DeleteShards(t.Context(), name, shards)
	want.check(t, call, err)
	if !want.ok() {
		return
	}
	wantRows := m.changed(name, shards)
	if got == nil || !slices.Equal(rowsOf(got), wantRows) {
		t.Fatalf("%s = %v, <nil>; want %v, <nil>: %s", call, rowsOf(got), wantRows, want.rule)
	}
	for _, r := range wantRows {
		delete(m.offsets, modelKey{r.Name, r.Shard})
	}
}

func (m *modelMachine) offsetsOf(t *rapid.T) {
	name := drawName(t, "name")
	call := fmt.Sprintf("Offsets(ctx, %q)", name)
	want := m.gate(validName(name), "")
	got, err := m.store.Offsets(t.Context(), name)
	want.check(t, call, err)
	if !want.ok() {
		return
	}
	wantRows := m.rows(func(n string) bool { return n == name })
	if got == nil || !slices.Equal(rowsOf(got), wantRows) {
		t.Fatalf("%s = %v, <nil>; want %v, <nil>: Offsets returns the projection's offsets sorted by shard, an empty slice when none", call, rowsOf(got), wantRows)
	}
	for _, o := range got {
		o.Value ^= 1
	}
}

func (m *modelMachine) projections(t *rapid.T) {
	want := m.gate(true, "")
	got, err := m.store.Projections(t.Context())
	want.check(t, "Projections(ctx)", err)
	if want.ok() && (got == nil || !slices.Equal(got, m.summaries())) {
		t.Fatalf("Projections(ctx) = %+v, <nil>; want %+v, <nil>: Projections summarises every projection with an offset, sorted, an empty slice when none", got, m.summaries())
	}
}

func (m *modelMachine) snapshot(t *rapid.T) {
	want := m.gate(true, "")
	got, err := m.store.Snapshot(t.Context())
	want.check(t, "Snapshot(ctx)", err)
	if !want.ok() {
		return
	}
	if wantRows := m.rows(func(string) bool { return true }); !slices.Equal(rowsOf(got), wantRows) {
		t.Fatalf("Snapshot(ctx) = %v, <nil>; want %v, <nil>: Snapshot returns every offset, sorted by name then shard", rowsOf(got), wantRows)
	}
	for _, o := range got {
		o.Value ^= 1
	}
}

func (m *modelMachine) restore(t *rapid.T) {
	n := rapid.IntRange(0, 5).Draw(t, "restoreLen")
	offsets := make([]*egopb.Offset, 0, n+1)
	for range n {
		offsets = append(offsets, drawOffset(t))
	}
	if len(offsets) > 0 && rapid.IntRange(0, 4).Draw(t, "duplicate") == 4 {
		i := rapid.IntRange(0, len(offsets)-1).Draw(t, "duplicateOf")
		if o := offsets[i]; o != nil {
			offsets = append(offsets, &egopb.Offset{ProjectionName: o.ProjectionName, ShardNumber: o.ShardNumber, Value: o.Value + 1})
		}
	}

	valid := true
	restored := make(map[modelKey]modelRecord)
	for _, o := range offsets {
		if o == nil || !validName(o.ProjectionName) {
			valid = false
			break
		}
		k := modelKey{o.ProjectionName, o.ShardNumber}
		if _, dup := restored[k]; dup {
			valid = false
			break
		}
		restored[k] = modelRecord{o.Value, o.Timestamp}
	}
	call := fmt.Sprintf("Restore(ctx, %v)", rowsOf(offsets))
	want := m.gate(valid, "Restore replaces the whole content")
	if !valid {
		want.rule = "Restore with a nil entry, a bad name or a duplicate key must fail and change nothing"
	}
	err := m.store.Restore(t.Context(), offsets)
	want.check(t, call, err)
	if want.ok() {
		m.offsets = restored
	}
	for _, o := range offsets {
		if o != nil {
			o.Value ^= 1
		}
	}
}

// waitContext returns the context for a wait whose outcome is known: a
// wait that would block gets one that is already cancelled or that ends
// in a millisecond, and the error it must end with; any other gets the
// test's context.
func waitContext(t *rapid.T, blocks bool) (context.Context, error) {
	if !blocks {
		return t.Context(), nil
	}
	if rapid.Bool().Draw(t, "cancelled") {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		return ctx, context.Canceled
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Millisecond)
	t.Cleanup(cancel)
	return ctx, context.DeadlineExceeded
}

func (m *modelMachine) waitForOffset(t *rapid.T) {
	id := drawID(t)
	want := m.gate(id != nil && validName(id.ProjectionName), "WaitForOffset returns at once when the offset is already there")
	var (
		r       modelRecord
		present bool
		target  int64
	)
	if id != nil {
		r, present = m.offsets[modelKey{id.ProjectionName, id.ShardNumber}]
	}
	switch {
	case present && rapid.Bool().Draw(t, "satisfied"):
		target = r.value - rapid.Int64Range(0, 3).Draw(t, "below")
		if target > r.value { // r.value - k wrapped around
			target = math.MinInt64
		}
	case present && r.value < math.MaxInt64:
		target = r.value + 1 + rapid.Int64Range(0, 3).Draw(t, "above")
		if target < r.value {
			target = math.MaxInt64
		}
	case present:
		target = r.value
	default:
		target = drawValue(t, "target")
	}
	reached := present && r.value >= target
	ctx, ctxErr := waitContext(t, want.ok() && !reached)
	if ctxErr != nil {
		want = outcome{[]error{ctxErr}, "a wait for an offset that is not there ends with its context (rule 4)"}
	}
	call := fmt.Sprintf("WaitForOffset(ctx, %s, %d)", fmtID(id), target)
	got, err := m.store.WaitForOffset(ctx, id, target)
	want.check(t, call, err)
	if !want.ok() {
		if got != nil {
			t.Fatalf("%s = %s, %v; want <nil> with the error", call, fmtOffset(got), err)
		}
		return
	}
	if wantRow := (row{id.ProjectionName, id.ShardNumber, r.value, r.timestamp}); got == nil || *rowOf(got) != wantRow {
		t.Fatalf("%s = %s, <nil>; want %s, <nil>: WaitForOffset returns the offset it waited for", call, fmtOffset(got), wantRow)
	}
	got.Value ^= 1
}

func (m *modelMachine) waitForOffsets(t *rapid.T) {
	name := drawName(t, "name")
	targets := make(map[uint64]int64)
	reached := true
	for range rapid.IntRange(0, 3).Draw(t, "shards") {
		shard := drawShard(t)
		r, present := m.offsets[modelKey{name, shard}]
		if present && rapid.Bool().Draw(t, "satisfied") {
			targets[shard] = r.value
		} else {
			targets[shard] = drawValue(t, "target")
		}
	}
	for shard, target := range targets {
		if r, ok := m.offsets[modelKey{name, shard}]; !ok || r.value < target {
			reached = false
		}
	}
	want := m.gate(validName(name), "WaitForOffsets returns at once when every offset is already there")
	ctx, ctxErr := waitContext(t, want.ok() && !reached)
	if ctxErr != nil {
		want = outcome{[]error{ctxErr}, "a wait for offsets that are not there ends with its context (rule 4)"}
	}
	call := fmt.Sprintf("WaitForOffsets(ctx, %q, %v)", name, targets)
	got, err := m.store.WaitForOffsets(ctx, name, targets)
	want.check(t, call, err)
	if !want.ok() {
		if got != nil {
			t.Fatalf("%s = %v, %v; want <nil> with the error", call, rowsOf(got), err)
		}
		return
	}
	wantRows := m.rows(func(n string) bool { return n == name })
	wantRows = slices.DeleteFunc(wantRows, func(r row) bool { _, waited := targets[r.Shard]; return !waited })
	if got == nil || !slices.Equal(rowsOf(got), wantRows) {
		t.Fatalf("%s = %v, <nil>; want %v, <nil>: WaitForOffsets returns the offsets it waited for, sorted by shard", call, rowsOf(got), wantRows)
	}
}

// doneContext calls one operation, chosen at random, with a context that
// is already cancelled: the call must fail with the context's error and
// change nothing, connection state included (rule 4).
func (m *modelMachine) doneContext(t *rapid.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	name := rapid.SampledFrom(validNames).Draw(t, "name")
	id := &egopb.ProjectionId{ProjectionName: name}
	calls := map[string]func() error{
		"Connect":    func() error { return m.store.Connect(ctx) },
		"Disconnect": func() error { return m.store.Disconnect(ctx) },
		"Ping":       func() error { return m.store.Ping(ctx) },
		"WriteOffset": func() error {
			return m.store.WriteOffset(ctx, &egopb.Offset{ProjectionName: name, Value: math.MinInt64})
		},
		"GetCurrentOffset": func() error { _, err := m.store.GetCurrentOffset(ctx, id); return err },
		"ResetOffset":      func() error { return m.store.ResetOffset(ctx, name, math.MinInt64) },
		"WriteOffsets": func() error {
			return m.store.WriteOffsets(ctx, []*egopb.Offset{{ProjectionName: name, Value: math.MinInt64}})
		},
		"ResetShards":    func() error { return second(m.store.ResetShards(ctx, name, math.MinInt64, nil)) },
		"DeleteShards":   func() error { return second(m.store.DeleteShards(ctx, name, nil)) },
		"Offsets":        func() error { _, err := m.store.Offsets(ctx, name); return err },
		"Projections":    func() error { _, err := m.store.Projections(ctx); return err },
		"Snapshot":       func() error { _, err := m.store.Snapshot(ctx); return err },
		"Restore":        func() error { return m.store.Restore(ctx, nil) },
		"WaitForOffset":  func() error { _, err := m.store.WaitForOffset(ctx, id, math.MinInt64); return err },
		"WaitForOffsets": func() error { return second(m.store.WaitForOffsets(ctx, name, nil)) },
	}
	op := rapid.SampledFrom(slices.Sorted(maps.Keys(calls))).Draw(t, "op")
	if err := calls[op](); !errors.Is(err, context.Canceled) {
		t.Fatalf("%s with a cancelled context = %v; want an error wrapping %q: a done context fails the call and changes nothing (rule 4)", op, err, context.Canceled)
	}
}
