package egoadapter

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// A field is one field of eGo's messages, as the adapter expects it.
type field struct {
	number protoreflect.FieldNumber
	kind   protoreflect.Kind
	name   string // eGo's name, for panic messages only: fields match by number and kind
}

func (f field) String() string {
	return fmt.Sprintf("%v %s = %d", f.kind, f.name, f.number)
}

// The fields of eGo's ego.v1.Offset and ego.v1.ProjectionId, the same in
// eGo v3 and v4.
var (
	offsetShape = []field{
		{1, protoreflect.Uint64Kind, "shard_number"},
		{2, protoreflect.StringKind, "projection_name"},
		{3, protoreflect.Int64Kind, "value"},
		{5, protoreflect.Int64Kind, "timestamp"},
	}
	projectionIDShape = []field{
		{1, protoreflect.StringKind, "projection_name"},
		{2, protoreflect.Uint64Kind, "shard_number"},
	}
)

// fields reads and writes the fields of message M that a shape lists, by
// their position in the shape.
//
// Setting a field through protobuf reflection boxes its value, which costs
// an allocation for a string or a large integer. So where every field is a
// plain exported field of M's Go struct, as protoc-gen-go generates for a
// proto3 field without presence, fields reaches them through package
// reflect instead, which does not allocate. Other layouts (optional fields,
// oneofs) go through protobuf reflection.
type fields[M any, PM Message[M]] struct {
	fds   []protoreflect.FieldDescriptor
	index []int // the Go struct field of each, or nil for protobuf reflection
}

// fieldsOf returns the fields of M that shape lists. It panics, naming fn, M,
// the field and what was expected, when M lacks one of them, has it with
// another kind or repeated, or holds two of them in one oneof: a message of
// the wrong shape is a programming error, found once, when the adapter is
// built.
func fieldsOf[M any, PM Message[M]](fn, role string, shape []field) fields[M, PM] {
	md := PM(nil).ProtoReflect().Descriptor()
	f := fields[M, PM]{fds: make([]protoreflect.FieldDescriptor, len(shape))}
	for i, want := range shape {
		fd := md.Fields().ByNumber(want.number)
		var problem string
		wanted := want.String()
		switch {
		case fd == nil:
			problem = fmt.Sprintf("has no field number %d", want.number)
		case fd.IsList():
			problem = fmt.Sprintf("has repeated %v field %s = %d", fd.Kind(), fd.Name(), fd.Number())
		case fd.Kind() != want.kind:
			problem = fmt.Sprintf("has %v field %s = %d", fd.Kind(), fd.Name(), fd.Number())
		default:
			// Setting one field of a oneof clears the others, so a copy
			// into such a message would keep only the last of them.
			if j := sameOneof(fd, f.fds[:i]); j >= 0 {
				problem = fmt.Sprintf("has %v field %s = %d in oneof %s with field %s = %d",
					fd.Kind(), fd.Name(), fd.Number(), fd.ContainingOneof().Name(), f.fds[j].Name(), f.fds[j].Number())
				wanted = fmt.Sprintf("%s settable apart from %s = %d", want, shape[j].name, shape[j].number)
			}
		}
		if problem != "" {
			panic(fmt.Sprintf("%s: message %s (Go type %v) %s; want %s, as in eGo's %s {%s}",
				fn, md.FullName(), reflect.TypeFor[M](), problem, wanted, role, shapeString(shape)))
		}
		f.fds[i] = fd
	}
	f.index = structFields(reflect.TypeFor[M](), f.fds)
	return f
}

// sameOneof returns the index of the first of others that fd shares a oneof
// with, or -1. The oneof protoc gives a proto3 optional field holds that
// field alone, so it never matches.
func sameOneof(fd protoreflect.FieldDescriptor, others []protoreflect.FieldDescriptor) int {
	oneof := fd.ContainingOneof()
	if oneof == nil {
		return -1
	}
	return slices.IndexFunc(others, func(other protoreflect.FieldDescriptor) bool {
		return other.ContainingOneof() == oneof
	})
}

// structFields returns the index in struct type t of the Go field that holds
// each of fds, or nil unless every one is an exported field of the Go type
// protoc-gen-go gives a proto3 scalar without presence. protoc-gen-go tags
// such a field `protobuf:"<wire type>,<number>,..."`.
func structFields(t reflect.Type, fds []protoreflect.FieldDescriptor) []int {
	if t.Kind() != reflect.Struct {
		return nil
	}
	index := make([]int, len(fds))
	for i, fd := range fds {
		index[i] = -1
		for j := range t.NumField() {
			sf := t.Field(j)
			_, rest, _ := strings.Cut(sf.Tag.Get("protobuf"), ",")
			number, _, _ := strings.Cut(rest, ",")
			if n, err := strconv.Atoi(number); err == nil && protoreflect.FieldNumber(n) == fd.Number() {
				if sf.IsExported() && sf.Type == goType(fd.Kind()) {
					index[i] = j
				}
				break
			}
		}
		if index[i] < 0 {
			return nil
		}
	}
	return index
}

// goType returns the Go type protoc-gen-go gives a field of kind k, for the
// kinds of eGo's messages.
func goType(k protoreflect.Kind) reflect.Type {
	switch k {
	case protoreflect.Uint64Kind:
		return reflect.TypeFor[uint64]()
	case protoreflect.Int64Kind:
		return reflect.TypeFor[int64]()
	case protoreflect.StringKind:
		return reflect.TypeFor[string]()
	}
	return nil
}

// of returns the fields of m, a message of type M.
func (f *fields[M, PM]) of(m *M) message[M, PM] {
	if f.index != nil {
		return message[M, PM]{fields: f, plain: reflect.ValueOf(m).Elem()}
	}
	return message[M, PM]{fields: f, reflected: PM(m).ProtoReflect()}
}

// A message reaches the fields of one message, by their position in the
// shape, through its Go struct or, when that is nil, protobuf reflection.
type message[M any, PM Message[M]] struct {
	fields    *fields[M, PM]
	plain     reflect.Value
	reflected protoreflect.Message
}

func (m message[M, PM]) uint(i int) uint64 {
	if m.reflected == nil {
		return m.plain.Field(m.fields.index[i]).Uint()
	}
	return m.reflected.Get(m.fields.fds[i]).Uint()
}

func (m message[M, PM]) int(i int) int64 {
	if m.reflected == nil {
		return m.plain.Field(m.fields.index[i]).Int()
	}
	return m.reflected.Get(m.fields.fds[i]).Int()
}

func (m message[M, PM]) string(i int) string {
	if m.reflected == nil {
		return m.plain.Field(m.fields.index[i]).String()
	}
	return m.reflected.Get(m.fields.fds[i]).String()
}

func (m message[M, PM]) setUint(i int, v uint64) {
	if m.reflected == nil {
		m.plain.Field(m.fields.index[i]).SetUint(v)
		return
	}
	m.reflected.Set(m.fields.fds[i], protoreflect.ValueOfUint64(v))
}

func (m message[M, PM]) setInt(i int, v int64) {
	if m.reflected == nil {
		m.plain.Field(m.fields.index[i]).SetInt(v)
		return
	}
	m.reflected.Set(m.fields.fds[i], protoreflect.ValueOfInt64(v))
}

func (m message[M, PM]) setString(i int, v string) {
	if m.reflected == nil {
		m.plain.Field(m.fields.index[i]).SetString(v)
		return
	}
	m.reflected.Set(m.fields.fds[i], protoreflect.ValueOfString(v))
}

func shapeString(shape []field) string {
	parts := make([]string, len(shape))
	for i, f := range shape {
		parts[i] = f.String()
	}
	return strings.Join(parts, "; ")
}
