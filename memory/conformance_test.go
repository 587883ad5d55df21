package memory_test

import (
	"testing"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/memory"
	"github.com/ego-contrib/offsetstore/offsetstoretest"
)

func TestOffsetStore_Conformance(t *testing.T) {
	offsetstoretest.Run(t, func(t *testing.T) offsetstore.OffsetStore {
		return memory.NewOffsetStore()
	})
}

func TestOffsetStore_Conformance_KeepRecords(t *testing.T) {
	offsetstoretest.Run(t, func(t *testing.T) offsetstore.OffsetStore {
		return memory.NewOffsetStore(memory.WithKeepRecordsAfterDisconnect())
	})
}

func TestOffsetStore_AdminConformance(t *testing.T) {
	offsetstoretest.RunAdmin(t, func(t *testing.T) offsetstore.Admin {
		return memory.NewOffsetStore()
	})
}
