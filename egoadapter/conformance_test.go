package egoadapter_test

import (
	"testing"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egoadapter"
	"github.com/ego-contrib/offsetstore/egoadapter/internal/egotestpb"
	"github.com/ego-contrib/offsetstore/memory"
	"github.com/ego-contrib/offsetstore/offsetstoretest"
)

// A memory store handed to eGo and back must still keep every rule of the
// contract: the adapter loses no field, no error and no call on either way.
func TestFromEgoToEgo_Conformance(t *testing.T) {
	t.Run("fields=struct", func(t *testing.T) {
		offsetstoretest.Run(t, func(t *testing.T) offsetstore.OffsetStore {
			return egoadapter.FromEgo[egotestpb.Offset, egotestpb.ProjectionId](
				egoadapter.ToEgo[egotestpb.Offset, egotestpb.ProjectionId](memory.NewOffsetStore()))
		})
	})
	t.Run("fields=protoreflect", func(t *testing.T) {
		offsetstoretest.Run(t, func(t *testing.T) offsetstore.OffsetStore {
			return egoadapter.FromEgoByProtoReflect[egotestpb.Offset, egotestpb.ProjectionId](
				egoadapter.ToEgoByProtoReflect[egotestpb.Offset, egotestpb.ProjectionId](memory.NewOffsetStore()))
		})
	})
}
