package main

import (
	"slices"
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
		got = append(got, summaryOf(p))
	}
	ns := func(d time.Duration) int64 { return now.Add(-d).UnixNano() }
	want := []summary{
		{"Audit", 1, 0, "", 0, "", now.Add(-76*time.Hour - 250*time.Millisecond).UnixMilli()},
		{"accounts", 3, ns(26*time.Hour + 5*time.Minute), "2026-11-25T09:55:00Z", ns(5 * time.Second), "2026-11-26T11:59:55Z", now.Add(-5 * time.Second).UnixMilli()},
		{"orders", 2, -62135596800000, "", 42, "", now.Add(90 * time.Second).UnixMilli()},
		{"tab\tname", 1, 7, "", 7, "", now.Add(-time.Hour).UnixMilli()},
	}
	if !slices.Equal(got, want) {
		t.Errorf("summaryOf of each projection of fixture() = %+v; want %+v", got, want)
	}
}
