package egopb_test

import (
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/ego-contrib/offsetstore/egopb"
)

// eGo's field numbers, written by hand so that a renumbering in
// offset.proto cannot pass unnoticed.
func egoOffsetBytes(shard uint64, name string, value, timestamp int64) []byte {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, shard)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendString(b, name)
	b = protowire.AppendTag(b, 3, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(value))
	b = protowire.AppendTag(b, 5, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(timestamp))
	return b
}

func TestOffset_WireCompatibleWithEGo(t *testing.T) {
	in := egoOffsetBytes(7, "accounts", -3, 1_700_000_000_000)
	var got egopb.Offset
	if err := proto.Unmarshal(in, &got); err != nil {
		t.Fatalf("proto.Unmarshal(eGo's Offset bytes) = %v; want <nil>", err)
	}
	if got.GetShardNumber() != 7 || got.GetProjectionName() != "accounts" || got.GetValue() != -3 || got.GetTimestamp() != 1_700_000_000_000 {
		t.Errorf("proto.Unmarshal(eGo's Offset bytes) = %v; want {7 accounts -3 1700000000000}: field numbers must be eGo's", &got)
	}
	out, err := proto.MarshalOptions{Deterministic: true}.Marshal(&got)
	if err != nil || string(out) != string(in) {
		t.Errorf("proto.Marshal(%v) = %x, %v; want %x: the bytes must go back to eGo unchanged", &got, out, err, in)
	}
}

func TestProjectionId_WireCompatibleWithEGo(t *testing.T) {
	var in []byte
	in = protowire.AppendTag(in, 1, protowire.BytesType)
	in = protowire.AppendString(in, "accounts")
	in = protowire.AppendTag(in, 2, protowire.VarintType)
	in = protowire.AppendVarint(in, 4)
	var got egopb.ProjectionId
	if err := proto.Unmarshal(in, &got); err != nil || got.GetProjectionName() != "accounts" || got.GetShardNumber() != 4 {
		t.Errorf("proto.Unmarshal(eGo's ProjectionId bytes) = %v, %v; want {accounts 4}, <nil>: field numbers must be eGo's", &got, err)
	}
}

// eGo registers its own egopb.Offset; ours must have other full names, or a
// binary holding both panics at init.
func TestMessages_FullNamesAreNamespaced(t *testing.T) {
	for m, want := range map[proto.Message]protoreflect.FullName{
		&egopb.Offset{}:       "ego.offsetstore.v1.Offset",
		&egopb.ProjectionId{}: "ego.offsetstore.v1.ProjectionId",
	} {
		if got := m.ProtoReflect().Descriptor().FullName(); got != want {
			t.Errorf("full name of %T = %q; want %q, apart from eGo's ego.v1", m, got, want)
		}
	}
}

// The proto runtime also panics at init when two files register under one
// path, and short paths such as "offset.proto" are common.
func TestFile_PathIsNamespaced(t *testing.T) {
	const want = "ego/offsetstore/v1/offset.proto"
	if got := egopb.File_ego_offsetstore_v1_offset_proto.Path(); got != want {
		t.Errorf("File_ego_offsetstore_v1_offset_proto.Path() = %q; want %q", got, want)
	}
	if d, err := protoregistry.GlobalFiles.FindDescriptorByName("ego.offsetstore.v1.Offset"); err != nil || d.ParentFile().Path() != want {
		t.Errorf("GlobalFiles.FindDescriptorByName(ego.offsetstore.v1.Offset) = %v, %v; want a descriptor from %q", d, err, want)
	}
}

// Another package of the program registering a file called offset.proto, as
// this package once did, must not clash with ours.
func TestFile_OtherOffsetProtoRegisters(t *testing.T) {
	other, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name:    proto.String("offset.proto"),
		Package: proto.String("someone.else"),
		Syntax:  proto.String("proto3"),
	}, nil)
	if err != nil {
		t.Fatalf("protodesc.NewFile(offset.proto) = %v; want <nil>", err)
	}
	if err := protoregistry.GlobalFiles.RegisterFile(other); err != nil {
		t.Errorf("GlobalFiles.RegisterFile(offset.proto of package someone.else) = %v; want <nil>: egopb must not hold the path", err)
	}
}
