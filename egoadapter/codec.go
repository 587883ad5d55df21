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
	m := c.offset.of(offset)
	return &egopb.Offset{
		ShardNumber:    m.uint(offsetShard),
		ProjectionName: m.string(offsetName),
		Value:          m.int(offsetValue),
		Timestamp:      m.int(offsetTimestamp),
	}
}

func (c *codec[O, P, PO, PP]) offsetFromOurs(offset *egopb.Offset) *O {
	if offset == nil {
		return nil
	}
	out := new(O)
	m := c.offset.of(out)
	m.setUint(offsetShard, offset.GetShardNumber())
	m.setString(offsetName, offset.GetProjectionName())
	m.setInt(offsetValue, offset.GetValue())
	m.setInt(offsetTimestamp, offset.GetTimestamp())
	return out
}

func (c *codec[O, P, PO, PP]) idToOurs(id *P) *egopb.ProjectionId {
	if id == nil {
		return nil
	}
	m := c.id.of(id)
	return &egopb.ProjectionId{
		ProjectionName: m.string(idName),
		ShardNumber:    m.uint(idShard),
	}
}

func (c *codec[O, P, PO, PP]) idFromOurs(id *egopb.ProjectionId) *P {
	if id == nil {
		return nil
	}
	out := new(P)
	m := c.id.of(out)
	m.setString(idName, id.GetProjectionName())
	m.setUint(idShard, id.GetShardNumber())
	return out
}
