package egopb_test

import (
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

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

// eGo registers egopb.Offset; ours must have another full name, or a binary
// holding both panics at init.
func TestMessages_DoNotClashWithEGo(t *testing.T) {
	for _, m := range []proto.Message{&egopb.Offset{}, &egopb.ProjectionId{}} {
		name := m.ProtoReflect().Descriptor().FullName()
		if name.Parent() != "ego.offsetstore.v1" {
			t.Errorf("%s is in proto package %q; want ego.offsetstore.v1, apart from eGo's egopb", name, name.Parent())
		}
	}
}
