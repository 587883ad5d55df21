// Package egopb stands in for eGo v4's egopb: its Offset and ProjectionId
// are the generated messages of examples/ego/egopb, which have eGo's field
// names, numbers and kinds.
package egopb

import standin "github.com/ego-contrib/offsetstore/examples/ego/egopb"

type (
	// Offset is eGo's egopb.Offset.
	Offset = standin.Offset
	// ProjectionId is eGo's egopb.ProjectionId.
	ProjectionId = standin.ProjectionId
)
