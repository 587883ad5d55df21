package egoadapter

import (
	"github.com/ego-contrib/offsetstore/egopb"
)

// A codec copies offsets and projection ids between eGo-shaped messages O
// and P and this module's egopb messages, field by field. Every copy is a
// new message; strings are shared, as they are immutable.
type codec[O, P any, PO Message[O], PP Message[P]] struct {
	offset fields[O, PO]
	id     fields[P, PP]
}

// newCodec checks the shapes of O and P and panics, naming fn, if either
// differs from eGo's.
func newCodec[O, P any, PO Message[O], PP Message[P]](fn string) *codec[O, P, PO, PP] {
	return &codec[O, P, PO, PP]{
		offset: fieldsOf[O, PO](fn, "Offset", offsetShape),
		id:     fieldsOf[P, PP](fn, "ProjectionId", projectionIDShape),
	}
}

// The positions of the fields in offsetShape and projectionIDShape.
const (
	offsetShard = iota
	offsetName
	offsetValue
	offsetTimestamp
)

const (
	idName = iota
	idShard
)

func (c *codec[O, P, PO, PP]) offsetToOurs(offset *O) *egopb.Offset {
	if offset == nil {
		return nil
	}
	return &egopb.Offset{
		ShardNumber:    c.offset.uint(offset, offsetShard),
		ProjectionName: c.offset.string(offset, offsetName),
		Value:          c.offset.int(offset, offsetValue),
		Timestamp:      c.offset.int(offset, offsetTimestamp),
	}
}

func (c *codec[O, P, PO, PP]) offsetFromOurs(offset *egopb.Offset) *O {
	if offset == nil {
		return nil
	}
	out := new(O)
	c.offset.setUint(out, offsetShard, offset.GetShardNumber())
	c.offset.setString(out, offsetName, offset.GetProjectionName())
	c.offset.setInt(out, offsetValue, offset.GetValue())
	c.offset.setInt(out, offsetTimestamp, offset.GetTimestamp())
	return out
}

func (c *codec[O, P, PO, PP]) idToOurs(id *P) *egopb.ProjectionId {
	if id == nil {
		return nil
	}
	return &egopb.ProjectionId{
		ProjectionName: c.id.string(id, idName),
		ShardNumber:    c.id.uint(id, idShard),
	}
}

func (c *codec[O, P, PO, PP]) idFromOurs(id *egopb.ProjectionId) *P {
	if id == nil {
		return nil
	}
	out := new(P)
	c.id.setString(out, idName, id.GetProjectionName())
	c.id.setUint(out, idShard, id.GetShardNumber())
	return out
}
