package memory_test

// Helpers shared by the package's tests and benchmarks.

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/memory"
)

// connectedStore returns a connected store made with opts, disconnected when
// the test ends.
func connectedStore(t *testing.T, opts ...memory.Option) *memory.OffsetStore {
	t.Helper()
	store := memory.NewOffsetStore(opts...)
	connected(t, store)
	// t.Context is already cancelled when cleanups run.
	t.Cleanup(func() { _ = store.Disconnect(context.Background()) })
	return store
}

// writeValue writes value, which doubles as the timestamp, to (name, shard).
func writeValue(t *testing.T, store *memory.OffsetStore, name string, shard uint64, value int64) {
	t.Helper()
	write(t, store, &egopb.Offset{ProjectionName: name, ShardNumber: shard, Value: value, Timestamp: value})
}

// readValue returns the stored value of (name, shard), and false if there is
// none.
func readValue(t *testing.T, store *memory.OffsetStore, name string, shard uint64) (int64, bool) {
	t.Helper()
	got, err := store.GetCurrentOffset(t.Context(), &egopb.ProjectionId{ProjectionName: name, ShardNumber: shard})
	if err != nil {
		t.Fatalf("GetCurrentOffset(ctx, {%s %d}) = _, %v; want <nil> error", name, shard, err)
	}
	return got.GetValue(), got != nil
}

// connected connects s, failing tb if it cannot, and returns it.
func connected(tb testing.TB, s offsetstore.OffsetStore) offsetstore.OffsetStore {
	tb.Helper()
	if err := s.Connect(context.Background()); err != nil {
		tb.Fatalf("Connect(ctx) = %v; want <nil>", err)
	}
	return s
}

// write writes offset to s, failing tb if it cannot.
func write(tb testing.TB, s offsetstore.OffsetStore, offset *egopb.Offset) {
	tb.Helper()
	if err := s.WriteOffset(context.Background(), offset); err != nil {
		tb.Fatalf("WriteOffset(ctx, %v) = %v; want <nil>", offset, err)
	}
}

// projectionNames returns n distinct projection names.
func projectionNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("projection-%04d", i)
	}
	return names
}

// keys renders offsets as "name/shard=value" strings, for comparisons.
func keys(offsets []*egopb.Offset) []string {
	out := make([]string, len(offsets))
	for i, o := range offsets {
		out[i] = fmt.Sprintf("%s/%d=%d", o.GetProjectionName(), o.GetShardNumber(), o.GetValue())
	}
	return out
}

// row is an offset as a comparable value, for comparing and printing.
type row struct {
	Name      string
	Shard     uint64
	Value     int64
	Timestamp int64
}

func (r row) String() string {
	return fmt.Sprintf("{%q %d %d %d}", r.Name, r.Shard, r.Value, r.Timestamp)
}

// rowOf returns o as a row, or nil for a nil o.
func rowOf(o *egopb.Offset) *row {
	if o == nil {
		return nil
	}
	return &row{o.ProjectionName, o.ShardNumber, o.Value, o.Timestamp}
}

// rowsOf returns offsets as rows.
func rowsOf(offsets []*egopb.Offset) []row {
	rows := make([]row, 0, len(offsets))
	for _, o := range offsets {
		if o == nil {
			// A nil entry never equals a model row; show it as one that
			// cannot be stored.
			rows = append(rows, row{Name: "<nil>"})
			continue
		}
		rows = append(rows, *rowOf(o))
	}
	return rows
}

// fmtOffset formats o for failure messages.
func fmtOffset(o *egopb.Offset) string {
	if o == nil {
		return "<nil>"
	}
	return rowOf(o).String()
}

// fmtID formats id for failure messages.
func fmtID(id *egopb.ProjectionId) string {
	if id == nil {
		return "<nil>"
	}
	return fmt.Sprintf("{%q %d}", id.ProjectionName, id.ShardNumber)
}

// second returns the error of a call that returns a value too.
func second[T any](_ T, err error) error { return err }

// compareOffsets orders offsets as Snapshot does: by name, then shard.
func compareOffsets(a, b *egopb.Offset) int {
	return cmp.Or(strings.Compare(a.ProjectionName, b.ProjectionName), cmp.Compare(a.ShardNumber, b.ShardNumber))
}
