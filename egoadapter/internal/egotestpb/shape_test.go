package egotestpb_test

import (
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/ego-contrib/offsetstore/egoadapter/internal/egotestpb"
)

// Offset and ProjectionId stand for eGo's messages in the adapter's tests,
// so they must keep eGo's shape: written out here by name, not derived.
func TestMessages_HaveEgosFields(t *testing.T) {
	type field struct {
		name   protoreflect.Name
		number protoreflect.FieldNumber
		kind   protoreflect.Kind
	}
	for m, want := range map[proto.Message][]field{
		&egotestpb.Offset{}: {
			{"shard_number", 1, protoreflect.Uint64Kind},
			{"projection_name", 2, protoreflect.StringKind},
			{"value", 3, protoreflect.Int64Kind},
			{"timestamp", 5, protoreflect.Int64Kind},
		},
		&egotestpb.ProjectionId{}: {
			{"projection_name", 1, protoreflect.StringKind},
			{"shard_number", 2, protoreflect.Uint64Kind},
		},
	} {
		fields := m.ProtoReflect().Descriptor().Fields()
		if fields.Len() != len(want) {
			t.Errorf("%T has %d fields; want %d, as eGo's", m, fields.Len(), len(want))
		}
		for _, w := range want {
			fd := fields.ByName(w.name)
			if fd == nil || fd.Number() != w.number || fd.Kind() != w.kind || fd.IsList() || fd.HasPresence() {
				t.Errorf("%T field %s = %v; want %v %s = %d, as eGo's", m, w.name, fd, w.kind, w.name, w.number)
			}
		}
	}
}

// A binary that holds eGo, this module's egopb and these messages must
// register each under its own names and file path.
func TestFile_NamesAreNeitherEgosNorOurs(t *testing.T) {
	file := egotestpb.File_ego_offsetstore_adaptertest_v1_ego_proto
	if got, want := file.Path(), "ego/offsetstore/adaptertest/v1/ego.proto"; got != want {
		t.Errorf("File_ego_offsetstore_adaptertest_v1_ego_proto.Path() = %q; want %q, apart from eGo's ego/v1/ego.proto and egopb's", got, want)
	}
	if got, want := file.Package(), protoreflect.FullName("ego.offsetstore.adaptertest.v1"); got != want {
		t.Errorf("File_ego_offsetstore_adaptertest_v1_ego_proto.Package() = %q; want %q, apart from eGo's ego.v1 and egopb's ego.offsetstore.v1", got, want)
	}
}
