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

// TestReset_FlagsOnAFakeStore runs reset's command line in the process,
// on a fake store. Exactly one of --to, --to-time, --by-duration and
// --shift-by says what to reset to, and anything else is refused before
// the store is asked. A reset to one value is the store's ResetShards,
// under its lock; one that moves each shard by its own value writes each
// shard's new value in one WriteOffsets, as ResetShards cannot.
func TestReset_FlagsOnAFakeStore(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		flags   []string
		want    string
		wantErr string
	}{
		{[]string{"--to", "-5"}, "ResetShards -5", ""},
		{[]string{"--to", "1", "--to", "2"}, "ResetShards 2", ""},
		{[]string{"--to-time", "2026-11-26T16:45:00+05:45"}, "ResetShards " + fmt.Sprint(now.Add(-time.Hour).UnixNano()), ""},
		{[]string{"--shift-by", "-2"}, "WriteOffsets " + fmt.Sprint(minValueTime-2) + "," + fmt.Sprint(maxValueTime-3), ""},
		{[]string{"--by-duration", "2ns"}, "WriteOffsets " + fmt.Sprint(minValueTime-2) + "," + fmt.Sprint(maxValueTime-3), ""},
		{[]string{"--by-duration", "90m"}, "WriteOffsets " + fmt.Sprint(minValueTime-int64(90*time.Minute)) + "," + fmt.Sprint(maxValueTime-1-int64(90*time.Minute)), ""},
		{nil, "", "at least one of the flags in the group [to to-time by-duration shift-by] is required"},
		{[]string{"--to", "1", "--shift-by", "1"}, "", "[shift-by to] were all set"},
		{[]string{"--by-duration", "0s"}, "", "want a duration above 0"},
	} {
		store := &fakeStore{offsets: []*egopb.Offset{
			{ProjectionName: "p", ShardNumber: 0, Value: minValueTime},
			{ProjectionName: "p", ShardNumber: 1, Value: maxValueTime - 1},
		}}
		var stdout, stderr bytes.Buffer
		e := &env{stdout: &stdout, stderr: &stderr, now: func() time.Time { return now }}
		e.choose = func() (*backend, error) {
			return &backend{
				where: "fake", holder: "memory",
				checkName: func(string) error { return nil },
				connect: func(context.Context, bool, func() time.Time) (offsetstore.Admin, error) {
					return store, nil
				},
				describe: func(err error) string { return err.Error() },
			}, nil
		}
		root := newRootCommand(e)
		args := append([]string{"reset", "p", "--execute", "--output", "json"}, tc.flags...)
		root.SetArgs(args)
		err := root.ExecuteContext(t.Context())
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || len(store.calls) > 0 {
				t.Errorf("offsetctl %s = %v, and asked the store %q; want an error saying %q, and nothing asked", strings.Join(args, " "), err, store.calls, tc.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(store.calls, []string{tc.want}) {
			t.Errorf("offsetctl %s = %v, and asked the store %q; want <nil>, and %q", strings.Join(args, " "), err, store.calls, tc.want)
		}
		if !strings.HasPrefix(stderr.String(), "reset 2 shards of projection \"p\" ") {
			t.Errorf("offsetctl %s said %q; want it to say what it reset", strings.Join(args, " "), stderr.String())
		}
	}
}
