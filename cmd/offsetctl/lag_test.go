package main

import (
	"cmp"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/internal/natstest"
	"github.com/ego-contrib/offsetstore/internal/pgtest"
)

// eventsStoreSQL creates eGo's events table as ego-contrib ships it.
//
//go:embed testdata/events_store.sql
var eventsStoreSQL string

// A testEvent is a row of the events table: its shard, and how long before
// now it happened.
type testEvent struct {
	shard uint64
	ago   time.Duration
}

// seedEvents creates eGo's events table in schema, creating the schema if
// it is missing, and writes events to it, as eGo's events store writes
// them: the time in Unix nanoseconds.
func seedEvents(t testing.TB, schema string, events []testEvent) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	id := pgx.Identifier{schema}.Sanitize()
	for _, stmt := range []string{"CREATE SCHEMA IF NOT EXISTS " + id, "SET search_path TO " + id, eventsStoreSQL} {
		if _, err := conn.Exec(t.Context(), stmt); err != nil {
			t.Fatalf("Exec(%q) = %v", stmt, err)
		}
	}
	var ids []string
	var seqs, stamps, shards []int64
	for i, e := range events {
		ids = append(ids, fmt.Sprintf("entity-%d", i%3))
		seqs = append(seqs, int64(i+1))
		stamps = append(stamps, now.Add(-e.ago).UnixNano())
		shards = append(shards, int64(e.shard))
	}
	if _, err := conn.Exec(t.Context(), `INSERT INTO events_store (persistence_id, sequence_number, event_payload, event_manifest, timestamp, shard_number)
SELECT id, seq, '\x0a00'::bytea, 'test.Event', ts, shard FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[]) AS e(id, seq, ts, shard)`,
		ids, seqs, stamps, shards); err != nil {
		t.Fatal(err)
	}
}

// lagFixture returns offsets and the events of their shards: projections
// caught up on every shard of the events, behind on some shards, at 0
// (starting from the beginning), ahead of every event, on shards without
// events, and without an offset on shards with events (99 for behind; 17,
// 99 and 270 for fresh), which eGo's runner reads from 0.
func lagFixture() ([]*egopb.Offset, []testEvent) {
	events := []testEvent{
		{0, 10 * time.Minute}, {0, 5 * time.Minute}, {0, 2 * time.Minute}, {0, time.Minute}, {0, 30 * time.Second},
		{17, time.Hour}, {17, 20 * time.Minute},
		{270, 3 * time.Minute},
		// A shard only some projections have an offset on.
		{99, time.Second},
	}
	at := func(d time.Duration) int64 { return now.Add(-d).UnixNano() }
	stamp := now.Add(-10 * time.Second).UnixMilli()
	offsets := []*egopb.Offset{
		{ProjectionName: "ahead", ShardNumber: 0, Value: at(-time.Minute), Timestamp: stamp},
		{ProjectionName: "ahead", ShardNumber: 17, Value: at(-time.Minute), Timestamp: stamp},
		{ProjectionName: "ahead", ShardNumber: 99, Value: at(-time.Minute), Timestamp: stamp},
		{ProjectionName: "ahead", ShardNumber: 270, Value: at(-time.Minute), Timestamp: stamp},
		{ProjectionName: "ahead", ShardNumber: 1<<63 + 5, Value: at(time.Hour), Timestamp: stamp},
		{ProjectionName: "behind", ShardNumber: 0, Value: at(5 * time.Minute), Timestamp: stamp},
		{ProjectionName: "behind", ShardNumber: 17, Value: at(time.Hour), Timestamp: stamp},
		{ProjectionName: "behind", ShardNumber: 270, Value: at(3 * time.Minute), Timestamp: stamp},
		{ProjectionName: "caught", ShardNumber: 0, Value: at(30 * time.Second), Timestamp: stamp},
		{ProjectionName: "caught", ShardNumber: 17, Value: at(20 * time.Minute), Timestamp: stamp},
		{ProjectionName: "caught", ShardNumber: 99, Value: at(time.Second), Timestamp: stamp},
		{ProjectionName: "caught", ShardNumber: 270, Value: at(3 * time.Minute), Timestamp: stamp},
		{ProjectionName: "fresh", ShardNumber: 0, Value: 0, Timestamp: stamp},
		{ProjectionName: "fresh", ShardNumber: 5, Value: 0, Timestamp: stamp},
	}
	return offsets, events
}

// A referenceRow is a shard of a projection: its offset, or nil if it has
// none but the events have the shard, which eGo's runner reads from 0.
type referenceRow struct {
	shard  uint64
	offset *egopb.Offset
}

// referenceRows returns the shards of each projection of offsets, by
// name, sorted by shard: those of its offsets, and those of events it has
// no offset for.
func referenceRows(offsets []*egopb.Offset, events []testEvent) map[string][]referenceRow {
	rows := map[string][]referenceRow{}
	for _, o := range offsets {
		rows[o.ProjectionName] = append(rows[o.ProjectionName], referenceRow{o.ShardNumber, o})
	}
	for name, rs := range rows {
		for _, e := range events {
			if !slices.ContainsFunc(rs, func(r referenceRow) bool { return r.shard == e.shard }) {
				rs = append(rs, referenceRow{shard: e.shard})
			}
		}
		slices.SortFunc(rs, func(a, b referenceRow) int { return cmp.Compare(a.shard, b.shard) })
		rows[name] = rs
	}
	return rows
}

// referenceLag is the lag of r as the definition says it, counted here
// one event at a time: the events of r's shard after its offset's value
// (after 0 if it has none), and the newest one's time less the value's
// time (less the oldest one's, if the value is no time).
func referenceLag(r referenceRow, events []testEvent) (int64, time.Duration) {
	o := r.offset
	if o == nil {
		o = &egopb.Offset{ShardNumber: r.shard}
	}
	var behind int64
	var newest, oldest int64
	for _, e := range events {
		ts := now.Add(-e.ago).UnixNano()
		if e.shard != o.ShardNumber || ts <= o.Value {
			continue
		}
		if behind == 0 || ts > newest {
			newest = ts
		}
		if behind == 0 || ts < oldest {
			oldest = ts
		}
		behind++
	}
	if behind == 0 {
		return 0, 0
	}
	if o.Value >= minValueTime && o.Value < maxValueTime {
		return behind, time.Duration(newest - o.Value)
	}
	return behind, time.Duration(newest - oldest)
}

// lagLine is what the JSON lines of projections and offsets say of lag.
type lagLine struct {
	ProjectionName string `json:"projectionName"`
	ShardNumber    uint64 `json:"shardNumber,string"`
	WorstShard     string `json:"worstShard"`
	EventsBehind   string `json:"eventsBehind"`
	Lag            string `json:"lag"`
	LagNanos       string `json:"lagNanos"`
}

func parseLagLines(t *testing.T, out string) []lagLine {
	t.Helper()
	var lines []lagLine
	for line := range strings.Lines(out) {
		var l lagLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		lines = append(lines, l)
	}
	return lines
}

// parseValues returns the value of each line of out, as JSON writes it.
func parseValues(t *testing.T, out string) []string {
	t.Helper()
	var values []string
	for line := range strings.Lines(out) {
		var l struct{ Value json.RawMessage }
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		values = append(values, string(l.Value))
	}
	return values
}

// TestLag_FromTheEventsTable seeds eGo's events table beside the offsets,
// and checks each shard's EVENTS BEHIND and LAG, and each projection's
// furthest-behind shard, against the definition counted event by event:
// in JSON, on PostgreSQL and on NATS (whose offsets read the events of
// --events-url), and in the tables of the golden files.
func TestLag_FromTheEventsTable(t *testing.T) {
	t.Parallel()
	offsets, events := lagFixture()
	schema, _ := fixtureSchema(t, offsets)
	seedEvents(t, schema, events)
	byName := referenceRows(offsets, events)

	// The expected worst shard of each projection: the longest lag, then
	// the most events behind, then the first shard.
	type worstWant struct {
		shard  uint64
		behind int64
		lag    time.Duration
	}
	worstOf := map[string]worstWant{}
	for name, rs := range byName {
		var w worstWant
		for i, r := range rs {
			behind, lag := referenceLag(r, events)
			if i == 0 || lag > w.lag || (lag == w.lag && behind > w.behind) {
				w = worstWant{r.shard, behind, lag}
			}
		}
		worstOf[name] = w
	}
	// The fixture covers what it says it does: fresh's worst shard is
	// one it has no offset for.
	for name, want := range map[string]worstWant{
		"ahead":  {0, 0, 0},
		"behind": {17, 1, 40 * time.Minute},
		"caught": {0, 0, 0},
		"fresh":  {17, 2, 40 * time.Minute},
	} {
		if worstOf[name] != want {
			t.Fatalf("the reference's worst shard of %s is %+v; want %+v: the fixture is not what the test says", name, worstOf[name], want)
		}
	}

	eventsFlags := []string{"--events-table", "events_store", "--events-schema", schema}
	checkProjections := func(t *testing.T, out string) {
		t.Helper()
		lines := parseLagLines(t, out)
		if len(lines) != len(worstOf) {
			t.Fatalf("projections printed %d lines; want %d:\n%s", len(lines), len(worstOf), out)
		}
		for _, l := range lines {
			w := worstOf[l.ProjectionName]
			want := lagLine{l.ProjectionName, 0, fmt.Sprint(w.shard), fmt.Sprint(w.behind), formatDuration(w.lag), fmt.Sprint(int64(w.lag))}
			if l != want {
				t.Errorf("projections: %+v; want %+v: the lag of a projection is its furthest-behind shard's", l, want)
			}
		}
	}
	checkOffsets := func(t *testing.T, name, out string) {
		t.Helper()
		lines := parseLagLines(t, out)
		if len(lines) != len(byName[name]) {
			t.Fatalf("offsets %s printed %d lines; want %d:\n%s", name, len(lines), len(byName[name]), out)
		}
		values := parseValues(t, out)
		for i, l := range lines {
			r := byName[name][i]
			behind, lag := referenceLag(r, events)
			want := lagLine{name, r.shard, "", fmt.Sprint(behind), formatDuration(lag), fmt.Sprint(int64(lag))}
			if l != want {
				t.Errorf("offsets %s: %+v; want %+v: EVENTS BEHIND counts the shard's events after the value, or after 0 on a shard of the events with no offset", name, l, want)
			}
			if wantNull := r.offset == nil; (values[i] == "null") != wantNull {
				want := "its offset's"
				if wantNull {
					want = "null"
				}
				t.Errorf("offsets %s: shard %d's value is %s; want %s: the value of a shard with no offset is null", name, r.shard, values[i], want)
			}
		}
	}

	var postgresJSON []string
	t.Run("postgres", func(t *testing.T) {
		run := func(args ...string) string {
			t.Helper()
			args = append(append(args, "--schema", schema), eventsFlags...)
			r := offsetctl(t, "", args...)
			wantCode(t, r, exitOK, args...)
			return r.stdout
		}
		out := run("projections", "-o", "json")
		checkProjections(t, out)
		postgresJSON = append(postgresJSON, out)
		// The projections' lines check every shard of ahead and caught,
		// whose worst shard is at 0, and the worst of the others.
		for _, name := range []string{"behind", "fresh"} {
			out := run("offsets", name, "-o", "json")
			checkOffsets(t, name, out)
			postgresJSON = append(postgresJSON, out)
		}
		golden(t, "lag-projections.golden", run("projections"))
		golden(t, "lag-projections-wide.golden", run("projections", "-o", "wide"))
		golden(t, "lag-projections.json.golden", postgresJSON[0])
		golden(t, "lag-offsets-behind.golden", run("offsets", "behind"))
		golden(t, "lag-offsets-fresh-wide.golden", run("offsets", "fresh", "-o", "wide"))
		golden(t, "lag-offsets-behind.json.golden", postgresJSON[1])
	})
	t.Run("nats", func(t *testing.T) {
		url := natstest.RunServer(t).URL()
		var backup strings.Builder
		for _, o := range offsets {
			fmt.Fprintf(&backup, `{"projectionName":%q,"shardNumber":"%d","value":"%d","timestamp":"%d"}`+"\n", o.ProjectionName, o.ShardNumber, o.Value, o.Timestamp)
		}
		args := []string{"import", "-", "--execute", "--url", url}
		wantCode(t, offsetctl(t, backup.String(), args...), exitOK, args...)
		run := func(args ...string) string {
			t.Helper()
			args = append(append(args, "--url", url, "--events-url", pgtest.URL(t)), eventsFlags...)
			r := offsetctl(t, "", args...)
			wantCode(t, r, exitOK, args...)
			return r.stdout
		}
		var natsJSON []string
		natsJSON = append(natsJSON, run("projections", "-o", "json"))
		for _, name := range []string{"behind", "fresh"} {
			natsJSON = append(natsJSON, run("offsets", name, "-o", "json"))
		}
		checkProjections(t, natsJSON[0])
		if strings.Join(natsJSON, "") != strings.Join(postgresJSON, "") {
			t.Errorf("on NATS, projections and offsets printed\n%s\non PostgreSQL\n%s\nwant the same", strings.Join(natsJSON, ""), strings.Join(postgresJSON, ""))
		}
	})
}

// TestLag_EventsTableErrors names the events table offsetctl cannot read:
// missing, or not eGo's.
func TestLag_EventsTableErrors(t *testing.T) {
	t.Parallel()
	offsets, _ := lagFixture()
	schema, _ := fixtureSchema(t, offsets)
	conn, err := pgx.Connect(t.Context(), pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	other := pgx.Identifier{schema, "accounts"}.Sanitize()
	if _, err := conn.Exec(t.Context(), "CREATE TABLE "+other+" (id bigint PRIMARY KEY, owner text)"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		command, flags []string
		want           []string
	}{
		{[]string{"projections"}, []string{"--events-table", "events_store", "--events-schema", schema},
			[]string{`events table "` + schema + `"."events_store" does not exist in database`, "check --events-schema and --events-table"}},
		// A table that is there, but is not eGo's events table.
		{[]string{"offsets", "behind"}, []string{"--events-table", "accounts", "--events-schema", schema},
			[]string{"table " + other + " in database", "is not eGo's events table", `column e.shard_number does not exist`}},
		{[]string{"projections"}, []string{"--events-table", "events_store", "--events-url", "postgres://postgres@127.0.0.1:" + closedPort(t) + "/app"},
			[]string{"cannot connect to database app on 127.0.0.1:", "connection refused", "(the events' database)"}},
	} {
		args := append(append(tc.command, "--schema", schema), tc.flags...)
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			r := offsetctl(t, "", args...)
			wantCode(t, r, exitFailure, args...)
			wantOneLineError(t, r, tc.want...)
			if r.stdout != "" {
				t.Errorf("stdout = %q; want nothing", r.stdout)
			}
		})
	}
}

func TestLagOf(t *testing.T) {
	t.Parallel()
	at := func(d time.Duration) int64 { return now.Add(-d).UnixNano() }
	for _, tc := range []struct {
		value, behind, newest, oldest int64
		want                          shardLag
	}{
		{at(time.Minute), 0, 0, 0, shardLag{}},
		{at(time.Hour), 3, at(time.Minute), at(50 * time.Minute), shardLag{3, 59 * time.Minute}},
		// A value that is no time: from the oldest event behind.
		{0, 2, at(time.Minute), at(50 * time.Minute), shardLag{2, 49 * time.Minute}},
		{-62135596800000, 1, at(time.Minute), at(time.Minute), shardLag{1, 0}},
	} {
		if got := lagOf(tc.value, tc.behind, tc.newest, tc.oldest); got != tc.want {
			t.Errorf("lagOf(%d, %d, %d, %d) = %+v; want %+v", tc.value, tc.behind, tc.newest, tc.oldest, got, tc.want)
		}
	}
}

func TestWorst(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		lags []shardLag
		want int
	}{
		{[]shardLag{{}}, 0},
		{[]shardLag{{}, {}}, 0},
		{[]shardLag{{1, time.Second}, {1, time.Minute}, {9, time.Second}}, 1},
		// The same lag: the most events behind.
		{[]shardLag{{1, time.Minute}, {4, time.Minute}, {2, time.Minute}}, 1},
	} {
		if got := worst(tc.lags); got != tc.want {
			t.Errorf("worst(%v) = %d; want %d", tc.lags, got, tc.want)
		}
	}
}

// TestLag_ShardWithEventsButNoOffsetIsBehind seeds events on shards 0, 1
// and 2 and a projection caught up on 0 and 1 that has never committed
// shard 2. eGo's runner reads every shard of the events store
// (pendingShards, from ShardOffsets) and starts a shard it has no offset
// for from 0: every event of shard 2 is yet to be handled, as when the
// handler fails on shard 2's first event. projections must not say such a
// projection is caught up.
func TestLag_ShardWithEventsButNoOffsetIsBehind(t *testing.T) {
	t.Parallel()
	at := func(d time.Duration) int64 { return now.Add(-d).UnixNano() }
	stamp := now.Add(-10 * time.Second).UnixMilli()
	offsets := []*egopb.Offset{
		{ProjectionName: "partial", ShardNumber: 0, Value: at(time.Minute), Timestamp: stamp},
		{ProjectionName: "partial", ShardNumber: 1, Value: at(time.Minute), Timestamp: stamp},
	}
	events := []testEvent{
		{0, 2 * time.Minute}, {0, time.Minute},
		{1, 2 * time.Minute}, {1, time.Minute},
		{2, 30 * time.Minute}, {2, 20 * time.Minute}, {2, 10 * time.Minute},
	}
	schema, _ := fixtureSchema(t, offsets)
	seedEvents(t, schema, events)
	args := []string{"projections", "-o", "json", "--schema", schema, "--events-table", "events_store", "--events-schema", schema}
	r := offsetctl(t, "", args...)
	wantCode(t, r, exitOK, args...)
	lines := parseLagLines(t, r.stdout)
	if len(lines) != 1 {
		t.Fatalf("offsetctl %s printed\n%s\nwant one line", strings.Join(args, " "), r.stdout)
	}
	got := lines[0]
	if got.EventsBehind != "3" || got.WorstShard != "2" || got.Lag != formatDuration(20*time.Minute) {
		t.Errorf("offsetctl %s: worstShard %s, eventsBehind %s, lag %s; want 2, 3, %s: a shard with events and no offset is behind by all of its events, which eGo's runner has yet to handle",
			strings.Join(args, " "), got.WorstShard, got.EventsBehind, got.Lag, formatDuration(20*time.Minute))
	}
}

// TestLag_EventsURLOfNATSNamesWhatItWants: --events-url must be a
// PostgreSQL URL; given the NATS URL an operator has at hand, offsetctl
// answers with pgx's words for a key=value string ("failed to parse as
// keyword/value"), which does not say what to give.
func TestLag_EventsURLOfNATSNamesWhatItWants(t *testing.T) {
	t.Parallel()
	args := []string{"projections", "--url", "nats://127.0.0.1:" + closedPort(t), "--events-table", "events_store", "--events-url", "nats://127.0.0.1:4222"}
	r := offsetctl(t, "", args...)
	wantCode(t, r, exitUsage, args...)
	wantOneLineError(t, r, "--events-url", "postgres://")
	if strings.Contains(r.stderr, "keyword/value") {
		t.Errorf("stderr = %q; want no word of pgx's key=value parser for a URL with a scheme", r.stderr)
	}
}

// TestLag_ShardsAreThoseOfTheEvents checks the shards read from the
// events table, through its index on shard_number, against the shards of
// the events seeded, consecutive and sparse: every one, once, in order.
func TestLag_ShardsAreThoseOfTheEvents(t *testing.T) {
	t.Parallel()
	schema := pgtest.Schema(t)
	var events []testEvent
	want := []uint64{0, 1, 2, 3, 100, 101, 269, 270}
	for i, s := range want {
		for j := range i%3 + 1 {
			events = append(events, testEvent{s, time.Duration(j) * time.Minute})
		}
	}
	seedEvents(t, schema, events)
	config, err := pgx.ParseConfig(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	table := newEventsTable(config, pgx.Identifier{schema, "events_store"}, 0)
	conn, err := pgx.ConnectConfig(t.Context(), config)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	got, err := table.shards(t.Context(), conn)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("shards(ctx, conn) = %v, %v; want %v, <nil>: every shard of the events, once, smallest first", got, err, want)
	}
}
