package main

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
)

func TestResetOptions_Target(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		flags   [][2]string
		want    resetTarget
		wantErr string
	}{
		{[][2]string{{"to", "-5"}}, resetTarget{"to", -5}, ""},
		{[][2]string{{"to", "1"}, {"to", "2"}}, resetTarget{"to", 2}, ""},
		{[][2]string{{"to-time", "2026-11-26T16:45:00+05:45"}}, resetTarget{"to-time", now.Add(-time.Hour).UnixNano()}, ""},
		{[][2]string{{"by-duration", "90m"}}, resetTarget{"by-duration", int64(90 * time.Minute)}, ""},
		{[][2]string{{"shift-by", "-1"}}, resetTarget{"shift-by", -1}, ""},
		{nil, resetTarget{}, "one of --to, --to-time, --by-duration or --shift-by is required"},
		{[][2]string{{"to", "1"}, {"shift-by", "1"}}, resetTarget{}, "--to and --shift-by are both given"},
		{[][2]string{{"by-duration", "0s"}}, resetTarget{}, "want a duration above 0"},
	} {
		o := &resetOptions{}
		for _, f := range tc.flags {
			parse := map[string]func(string) (int64, error){"to": parseInt64, "to-time": parseTime, "by-duration": parseDuration, "shift-by": parseInt64}[f[0]]
			if err := o.addTarget(f[0], parse)(f[1]); err != nil {
				t.Fatalf("--%s %s: %v", f[0], f[1], err)
			}
		}
		got, err := o.target()
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("flags %v: target() = %v, %v; want an error saying %q", tc.flags, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("flags %v: target() = %v, %v; want %v, <nil>", tc.flags, got, err, tc.want)
		}
	}
}

func TestPlanReset(t *testing.T) {
	t.Parallel()
	at := func(d time.Duration) int64 { return now.Add(-d).UnixNano() }
	before := []*egopb.Offset{
		{ProjectionName: "p", ShardNumber: 1, Value: at(time.Minute), Timestamp: 1},
		{ProjectionName: "p", ShardNumber: 9, Value: at(time.Hour), Timestamp: 2},
	}
	for _, tc := range []struct {
		target  resetTarget
		want    []int64
		wantErr string
	}{
		{resetTarget{"to", 0}, []int64{0, 0}, ""},
		{resetTarget{"by-duration", int64(time.Hour)}, []int64{at(time.Hour + time.Minute), at(2 * time.Hour)}, ""},
		{resetTarget{"shift-by", -10}, []int64{at(time.Minute) - 10, at(time.Hour) - 10}, ""},
		{resetTarget{"shift-by", 1<<63 - 1}, nil, "shard 1 of projection \"p\": " + fmt.Sprint(at(time.Minute)) + " +9223372036854775807 is out of the range"},
	} {
		changes, err := planReset(before, tc.target, 77)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("planReset(%v) = %v; want an error saying %q", tc.target, err, tc.wantErr)
			}
			continue
		}
		if err != nil || len(changes) != len(before) {
			t.Fatalf("planReset(%v) = %d changes, %v; want %d, <nil>", tc.target, len(changes), err, len(before))
		}
		for i, c := range changes {
			if c.before != before[i] || c.after.ShardNumber != before[i].ShardNumber || c.after.Value != tc.want[i] || c.after.Timestamp != 77 {
				t.Errorf("planReset(%v)[%d] = %v -> %v; want shard %d at %d, stamped 77", tc.target, i, c.before, c.after, before[i].ShardNumber, tc.want[i])
			}
		}
	}
	_, err := planReset([]*egopb.Offset{{ProjectionName: "p", ShardNumber: 4, Value: 42}}, resetTarget{"by-duration", 1}, 0)
	if err == nil || !strings.Contains(err.Error(), "shard 4 of projection \"p\" has value 42, which is not a time") {
		t.Errorf("planReset of a value that is no time by a duration = %v; want an error saying so", err)
	}
}

// fakeStore is an Admin that holds one projection's offsets and records the
// changes asked of it; a method it does not define panics.
type fakeStore struct {
	offsetstore.Admin
	offsets []*egopb.Offset
	calls   []string
}

func (f *fakeStore) Connect(context.Context) error    { return nil }
func (f *fakeStore) Disconnect(context.Context) error { return nil }
func (f *fakeStore) Offsets(context.Context, string) ([]*egopb.Offset, error) {
	return f.offsets, nil
}

func (f *fakeStore) ResetShards(_ context.Context, _ string, value int64, _ []uint64) ([]*egopb.Offset, error) {
	f.calls = append(f.calls, "ResetShards "+fmt.Sprint(value))
	return f.offsets, nil
}

func (f *fakeStore) WriteOffsets(_ context.Context, offsets []*egopb.Offset) error {
	var values []string
	for _, o := range offsets {
		values = append(values, fmt.Sprint(o.Value))
	}
	f.calls = append(f.calls, "WriteOffsets "+strings.Join(values, ","))
	return nil
}

// TestRunReset_OneValueOrEachShardsOwn runs reset on a fake store: a
// reset to one value is the store's ResetShards, under its lock; one that
// moves each shard by its own value writes each shard's new value in one
// WriteOffsets, as ResetShards cannot.
func TestRunReset_OneValueOrEachShardsOwn(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		target resetTarget
		want   string
	}{
		{resetTarget{"to", 5}, "ResetShards 5"},
		{resetTarget{"to-time", 1795694400000000000}, "ResetShards 1795694400000000000"},
		{resetTarget{"shift-by", -2}, "WriteOffsets 8,18"},
		{resetTarget{"by-duration", 2}, "WriteOffsets " + fmt.Sprint(minValueTime-2) + "," + fmt.Sprint(maxValueTime-3)},
	} {
		store := &fakeStore{offsets: []*egopb.Offset{
			{ProjectionName: "p", ShardNumber: 0, Value: 10},
			{ProjectionName: "p", ShardNumber: 1, Value: 20},
		}}
		if tc.target.flag == "by-duration" {
			store.offsets[0].Value, store.offsets[1].Value = minValueTime, maxValueTime-1
		}
		var stdout, stderr bytes.Buffer
		e := &env{streams: &streams{stdout: &stdout, stderr: &stderr}, now: func() time.Time { return now }}
		e.choose = func() (*backend, error) {
			return &backend{
				where: "fake", holder: "memory",
				checkName: func(string) error { return nil },
				newStore:  func(bool, func() time.Time) offsetstore.Admin { return store },
				describe:  func(err error) string { return err.Error() },
			}, nil
		}
		o := &resetOptions{env: e, name: "p", output: "json", execute: true, targets: []resetTarget{tc.target}}
		if err := runReset(t.Context(), o); err != nil {
			t.Fatalf("runReset(%v) = %v; want <nil>", tc.target, err)
		}
		if !slices.Equal(store.calls, []string{tc.want}) {
			t.Errorf("runReset(%v) asked the store %q; want %q", tc.target, store.calls, tc.want)
		}
		if !strings.HasPrefix(stderr.String(), "reset 2 shards of projection \"p\" ") {
			t.Errorf("runReset(%v) said %q; want it to say what it reset", tc.target, stderr.String())
		}
	}
}
