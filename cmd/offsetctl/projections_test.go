package main

import (
	"reflect"
	"testing"
	"time"

	"github.com/ego-contrib/offsetstore/memory"
)

// TestSummaryOf checks the rows of projections --output json, from what
// the store's Projections summarises of the fixture.
func TestSummaryOf(t *testing.T) {
	t.Parallel()
	store := memory.NewOffsetStore()
	if err := store.Connect(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := store.WriteOffsets(t.Context(), fixture()); err != nil {
		t.Fatal(err)
	}
	projections, err := store.Projections(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var got []summary
	for _, p := range projections {
		got = append(got, summaryOf(p, now))
	}
	ns := func(d time.Duration) int64 { return now.Add(-d).UnixNano() }
	hours26 := int64(26*time.Hour + 5*time.Minute)
	want := []summary{
		{Name: "Audit", Shards: 1, LastUpdate: "2026-11-23T07:59:59.75Z"},
		{Name: "accounts", Shards: 3, MinValue: ns(26*time.Hour + 5*time.Minute), MinValueTime: "2026-11-25T09:55:00Z", MaxValue: ns(5 * time.Second), MaxValueTime: "2026-11-26T11:59:55Z",
			LastUpdate: "2026-11-26T11:59:55Z", Age: "26h5m0s", AgeNanos: &hours26},
		{Name: "orders", Shards: 2, MinValue: -62135596800000, MaxValue: 42, LastUpdate: "2026-11-26T12:01:30Z"},
		{Name: "tab\tname", Shards: 1, MinValue: 7, MaxValue: 7, LastUpdate: "2026-11-26T11:00:00Z"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("summaryOf of each projection of fixture() = %+v; want %+v", got, want)
	}
}
