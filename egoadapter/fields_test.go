package egoadapter_test

import (
	"fmt"
	"testing"

	"github.com/ego-contrib/offsetstore/egoadapter"
	"github.com/ego-contrib/offsetstore/egoadapter/internal/egotestpb"
	"github.com/ego-contrib/offsetstore/memory"
)

const (
	offsetShape = "as in eGo's Offset {uint64 shard_number = 1; string projection_name = 2; int64 value = 3; int64 timestamp = 5}"
	idShape     = "as in eGo's ProjectionId {string projection_name = 1; uint64 shard_number = 2}"
)

func TestToEgo_FromEgo_PanicOnWrongShape(t *testing.T) {
	tests := []struct {
		name  string
		build func()
		want  string
	}{
		{
			name: "ToEgo/KindDiffers",
			build: func() {
				egoadapter.ToEgo[egotestpb.OffsetTimestampUint64, egotestpb.ProjectionId](memory.NewOffsetStore())
			},
			want: "egoadapter.ToEgo: message ego.offsetstore.adaptertest.v1.OffsetTimestampUint64 (Go type egotestpb.OffsetTimestampUint64) has uint64 field timestamp = 5; want int64 timestamp = 5, " + offsetShape,
		},
		{
			name: "ToEgo/FieldMissing",
			build: func() {
				egoadapter.ToEgo[egotestpb.OffsetWithoutValue, egotestpb.ProjectionId](memory.NewOffsetStore())
			},
			want: "egoadapter.ToEgo: message ego.offsetstore.adaptertest.v1.OffsetWithoutValue (Go type egotestpb.OffsetWithoutValue) has no field number 3; want int64 value = 3, " + offsetShape,
		},
		{
			name:  "ToEgo/BytesForString",
			build: func() { egoadapter.ToEgo[egotestpb.OffsetNameBytes, egotestpb.ProjectionId](memory.NewOffsetStore()) },
			want:  "egoadapter.ToEgo: message ego.offsetstore.adaptertest.v1.OffsetNameBytes (Go type egotestpb.OffsetNameBytes) has bytes field projection_name = 2; want string projection_name = 2, " + offsetShape,
		},
		{
			name: "ToEgo/Repeated",
			build: func() {
				egoadapter.ToEgo[egotestpb.OffsetRepeatedValue, egotestpb.ProjectionId](memory.NewOffsetStore())
			},
			want: "egoadapter.ToEgo: message ego.offsetstore.adaptertest.v1.OffsetRepeatedValue (Go type egotestpb.OffsetRepeatedValue) has repeated int64 field value = 3; want int64 value = 3, " + offsetShape,
		},
		{
			// The same Go type, uint64, but another wire encoding.
			name: "ToEgo/Fixed64ForUint64",
			build: func() {
				egoadapter.ToEgo[egotestpb.Offset, egotestpb.ProjectionIdShardFixed64](memory.NewOffsetStore())
			},
			want: "egoadapter.ToEgo: message ego.offsetstore.adaptertest.v1.ProjectionIdShardFixed64 (Go type egotestpb.ProjectionIdShardFixed64) has fixed64 field shard_number = 2; want uint64 shard_number = 2, " + idShape,
		},
		{
			// Each field has eGo's number and kind, but setting one clears
			// the other: a write through the adapter would lose the value.
			name: "ToEgo/SharedOneof",
			build: func() {
				egoadapter.ToEgo[egotestpb.OffsetValueOrTimestamp, egotestpb.ProjectionId](memory.NewOffsetStore())
			},
			want: "egoadapter.ToEgo: message ego.offsetstore.adaptertest.v1.OffsetValueOrTimestamp (Go type egotestpb.OffsetValueOrTimestamp) has int64 field timestamp = 5 in oneof position with field value = 3; want int64 timestamp = 5 settable apart from value = 3, " + offsetShape,
		},
		{
			// A ProjectionId where an Offset belongs: its field 1 is a string.
			name:  "ToEgo/Swapped",
			build: func() { egoadapter.ToEgo[egotestpb.ProjectionId, egotestpb.Offset](memory.NewOffsetStore()) },
			want:  "egoadapter.ToEgo: message ego.offsetstore.adaptertest.v1.ProjectionId (Go type egotestpb.ProjectionId) has string field projection_name = 1; want uint64 shard_number = 1, " + offsetShape,
		},
		{
			name:  "ToEgo/NilStore",
			build: func() { egoadapter.ToEgo[egotestpb.Offset, egotestpb.ProjectionId](nil) },
			want:  "egoadapter.ToEgo: nil store",
		},
		{
			name:  "FromEgo/KindDiffers",
			build: func() { egoadapter.FromEgo[egotestpb.OffsetTimestampUint64, egotestpb.ProjectionId](nil) },
			want:  "egoadapter.FromEgo: message ego.offsetstore.adaptertest.v1.OffsetTimestampUint64 (Go type egotestpb.OffsetTimestampUint64) has uint64 field timestamp = 5; want int64 timestamp = 5, " + offsetShape,
		},
		{
			name:  "FromEgo/Fixed64ForUint64",
			build: func() { egoadapter.FromEgo[egotestpb.Offset, egotestpb.ProjectionIdShardFixed64](nil) },
			want:  "egoadapter.FromEgo: message ego.offsetstore.adaptertest.v1.ProjectionIdShardFixed64 (Go type egotestpb.ProjectionIdShardFixed64) has fixed64 field shard_number = 2; want uint64 shard_number = 2, " + idShape,
		},
		{
			name:  "FromEgo/SharedOneof",
			build: func() { egoadapter.FromEgo[egotestpb.OffsetValueOrTimestamp, egotestpb.ProjectionId](nil) },
			want:  "egoadapter.FromEgo: message ego.offsetstore.adaptertest.v1.OffsetValueOrTimestamp (Go type egotestpb.OffsetValueOrTimestamp) has int64 field timestamp = 5 in oneof position with field value = 3; want int64 timestamp = 5 settable apart from value = 3, " + offsetShape,
		},
		{
			name:  "FromEgo/NilStore",
			build: func() { egoadapter.FromEgo[egotestpb.Offset, egotestpb.ProjectionId](nil) },
			want:  "egoadapter.FromEgo: nil store",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := panicOf(tt.build)
			if got != tt.want {
				t.Errorf("%s panicked with %q; want %q", tt.name, got, tt.want)
			}
		})
	}
}

// panicOf returns what f panics with, formatted, or "" if it returns.
func panicOf(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}

// eGo's layout, plain struct fields, takes the path that does not allocate
// (see BenchmarkGetCurrentOffset); the other layouts still match, through
// protobuf reflection.
func TestToEgo_FromEgo_ChooseHowToReachFields(t *testing.T) {
	store := memory.NewOffsetStore()
	tests := []struct {
		name             string
		adapter          any
		wantOffset, want bool
	}{
		{"ToEgo/Offset", egoadapter.ToEgo[egotestpb.Offset, egotestpb.ProjectionId](store), true, true},
		{"FromEgo/Offset", egoadapter.FromEgo[egotestpb.Offset, egotestpb.ProjectionId](egoadapter.ToEgo[egotestpb.Offset, egotestpb.ProjectionId](store)), true, true},
		{"ToEgo/RenamedOffset", egoadapter.ToEgo[egotestpb.RenamedOffset, egotestpb.ProjectionId](store), true, true},
		{"ToEgo/OffsetOptionalShard", egoadapter.ToEgo[egotestpb.OffsetOptionalShard, egotestpb.ProjectionId](store), false, true},
		{"ToEgo/OffsetOneofValue", egoadapter.ToEgo[egotestpb.OffsetOneofValue, egotestpb.ProjectionId](store), false, true},
	}
	for _, tt := range tests {
		offset, id := egoadapter.UsesStructFields(tt.adapter)
		if offset != tt.wantOffset || id != tt.want {
			t.Errorf("%s reaches struct fields of Offset: %t, of ProjectionId: %t; want %t, %t", tt.name, offset, id, tt.wantOffset, tt.want)
		}
	}
}
