package egoadapter_test

import (
	"github.com/ego-contrib/offsetstore/egoadapter/internal/egotestpb"
	"github.com/ego-contrib/offsetstore/egopb"
	"google.golang.org/protobuf/proto"
)

// An offsetType builds and reads one eGo-shaped Offset type through its Go
// fields, by name, as hand-written code would: the tests check the adapter
// against it, never against the adapter's own way of reaching fields.
type offsetType[O any] struct {
	build func(*egopb.Offset) *O
	read  func(*O) *egopb.Offset
}

// offsetOfEgosShape is eGo's Offset, field for field.
var offsetOfEgosShape = offsetType[egotestpb.Offset]{
	build: func(o *egopb.Offset) *egotestpb.Offset {
		return &egotestpb.Offset{ShardNumber: o.ShardNumber, ProjectionName: o.ProjectionName, Value: o.Value, Timestamp: o.Timestamp}
	},
	read: func(o *egotestpb.Offset) *egopb.Offset {
		return &egopb.Offset{ShardNumber: o.ShardNumber, ProjectionName: o.ProjectionName, Value: o.Value, Timestamp: o.Timestamp}
	},
}

// renamedOffset has eGo's numbers and kinds under other names, and a field
// eGo lacks.
var renamedOffset = offsetType[egotestpb.RenamedOffset]{
	build: func(o *egopb.Offset) *egotestpb.RenamedOffset {
		return &egotestpb.RenamedOffset{Shard: o.ShardNumber, Name: o.ProjectionName, Position: o.Value, WrittenAt: o.Timestamp}
	},
	read: func(o *egotestpb.RenamedOffset) *egopb.Offset {
		return &egopb.Offset{ShardNumber: o.Shard, ProjectionName: o.Name, Value: o.Position, Timestamp: o.WrittenAt}
	},
}

// optionalShardOffset keeps its shard number behind a pointer.
var optionalShardOffset = offsetType[egotestpb.OffsetOptionalShard]{
	build: func(o *egopb.Offset) *egotestpb.OffsetOptionalShard {
		return &egotestpb.OffsetOptionalShard{ShardNumber: proto.Uint64(o.ShardNumber), ProjectionName: o.ProjectionName, Value: o.Value, Timestamp: o.Timestamp}
	},
	read: func(o *egotestpb.OffsetOptionalShard) *egopb.Offset {
		return &egopb.Offset{ShardNumber: o.GetShardNumber(), ProjectionName: o.ProjectionName, Value: o.GetValue(), Timestamp: o.Timestamp}
	},
}

// oneofValueOffset keeps its value in a oneof.
var oneofValueOffset = offsetType[egotestpb.OffsetOneofValue]{
	build: func(o *egopb.Offset) *egotestpb.OffsetOneofValue {
		return &egotestpb.OffsetOneofValue{ShardNumber: o.ShardNumber, ProjectionName: o.ProjectionName, Position: &egotestpb.OffsetOneofValue_Value{Value: o.Value}, Timestamp: o.Timestamp}
	},
	read: func(o *egotestpb.OffsetOneofValue) *egopb.Offset {
		return &egopb.Offset{ShardNumber: o.ShardNumber, ProjectionName: o.ProjectionName, Value: o.GetValue(), Timestamp: o.Timestamp}
	},
}

func egoID(name string, shard uint64) *egotestpb.ProjectionId {
	return &egotestpb.ProjectionId{ProjectionName: name, ShardNumber: shard}
}

func ourID(name string, shard uint64) *egopb.ProjectionId {
	return &egopb.ProjectionId{ProjectionName: name, ShardNumber: shard}
}
