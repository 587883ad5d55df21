package main

import (
	"testing"
	"time"
)

// The tests of this file, and of projections_test.go and reset_test.go,
// run offsetctl's own functions, without the command line's parser and
// without a server.

func TestValueTime_Window(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		value int64
		want  string
	}{
		{0, "-"},
		{42, "-"},
		{-62135596800000, "-"},
		{now.UnixMilli(), "-"},
		{now.UnixMicro(), "-"},
		{minValueTime - 1, "-"},
		{minValueTime, "2000-01-01T00:00:00.000Z"},
		{now.UnixNano() + 123456789, "2026-11-26T12:00:00.123Z"},
		{maxValueTime - 1, "2099-12-31T23:59:59.999Z"},
		{maxValueTime, "-"},
		{1<<63 - 1, "-"},
	} {
		if got := formatValueTime(tc.value, timeLayout, "-"); got != tc.want {
			t.Errorf("formatValueTime(%d) = %q; want %q", tc.value, got, tc.want)
		}
	}
}

func TestFormatAge(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		behind time.Duration
		want   string
	}{
		{3*time.Minute + 12*time.Second + 400*time.Millisecond, "3m12s"},
		{3*time.Minute + 12*time.Second + 600*time.Millisecond, "3m13s"},
		{26*time.Hour + 5*time.Minute, "26h5m0s"},
		{250 * time.Millisecond, "250ms"},
		{0, "0s"},
		{-1500 * time.Millisecond, "-2s"},
		{-999 * time.Millisecond, "-999ms"},
	} {
		if got := formatAge(now, now.Add(-tc.behind).UnixNano()); got != tc.want {
			t.Errorf("formatAge(now, now - %v) = %q; want %q", tc.behind, got, tc.want)
		}
	}
	if got := formatAge(now, 42); got != "-" {
		t.Errorf("formatAge(now, 42) = %q; want -, 42 being no time", got)
	}
}
