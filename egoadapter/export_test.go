package egoadapter

import "github.com/ego-contrib/offsetstore"

// ToEgoByProtoReflect and FromEgoByProtoReflect are [ToEgo] and [FromEgo]
// with every field reached through protobuf reflection, as it is for
// messages whose fields are not plain struct fields, so that tests and
// benchmarks can run that path over eGo's shape.
func ToEgoByProtoReflect[O, P any, PO Message[O], PP Message[P]](s offsetstore.OffsetStore) EgoOffsetStore[O, P] {
	store := ToEgo[O, P, PO, PP](s).(*toEgo[O, P, PO, PP])
	store.codec.offset.index, store.codec.id.index = nil, nil
	return store
}

func FromEgoByProtoReflect[O, P any, PO Message[O], PP Message[P]](s EgoOffsetStore[O, P]) offsetstore.OffsetStore {
	store := FromEgo[O, P, PO, PP](s).(*fromEgo[O, P, PO, PP])
	store.codec.offset.index, store.codec.id.index = nil, nil
	return store
}

// UsesStructFields reports whether the store ToEgo or FromEgo returned
// reaches the fields of its Offset and ProjectionId messages through their
// Go struct fields.
func UsesStructFields(s any) (offset, id bool) {
	return s.(interface{ usesStructFields() (bool, bool) }).usesStructFields()
}

func (s *toEgo[O, P, PO, PP]) usesStructFields() (bool, bool) {
	return s.codec.offset.index != nil, s.codec.id.index != nil
}

func (s *fromEgo[O, P, PO, PP]) usesStructFields() (bool, bool) {
	return s.codec.offset.index != nil, s.codec.id.index != nil
}
