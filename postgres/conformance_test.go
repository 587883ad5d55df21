package postgres_test

import (
	"testing"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/offsetstoretest"
)

func TestOffsetStore_Conformance(t *testing.T) {
	offsetstoretest.Run(t, func(t *testing.T) offsetstore.OffsetStore {
		store, _ := newStore(t)
		return store
	})
}

func TestOffsetStore_AdminConformance(t *testing.T) {
	offsetstoretest.RunAdmin(t, func(t *testing.T) offsetstore.Admin {
		store, _ := newStore(t)
		return store
	})
}
