package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/ego-contrib/offsetstore/egopb"
)

type importOptions struct {
	*env
	output  string
	file    string
	execute bool
}

func newImportCommand(e *env) *cobra.Command {
	o := &importOptions{env: e}
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "write the offsets of an export file, or undo a reset or a delete, all or none (dry run unless --execute)",
		Long: `Reads FILE ('-' for stdin), JSON lines as export writes them, and checks
every line first: bad JSON, unknown fields, bad names and a projection and
shard given twice are reported with their line numbers, and then nothing
is written. Prints each offset before and after; writes them only with
--execute, all or none. Offsets not in FILE are left as they are. Stop the
projections first.

It reads what offsetctl prints with --output json too, as an undo: the
lines of offsets and delete, whose notes (valueTime, age, lag...) it skips,
and the lines of reset, from which it takes each offset as it was before
the reset. A line of an import's own report whose offset did not exist
before is refused: import writes offsets, it does not delete them. So is
a line of offsets --events-table for a shard with no offset (value null).

--execute creates a missing table, and its --schema, or a missing bucket
(with --replicas copies, on NATS), so that a backup restores into a new
store; the dry run says it would.`,
		Example: `  offsetctl import offsets.jsonl                  # dry run: prints the plan
  offsetctl import offsets.jsonl --execute        # does it
  offsetctl export --url "$FROM" | offsetctl import --url "$TO" --execute -
  offsetctl reset accounts --to 0 --execute -o json > undo.jsonl
  offsetctl import undo.jsonl --execute           # puts accounts back
  offsetctl import offsets.jsonl --url nats://n1:4222,nats://n2:4222,nats://n3:4222 --replicas 3 --execute`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.file = args[0]
			o.replicasGiven = cmd.Flags().Changed("replicas")
			return runImport(o.start(cmd), o)
		},
	}
	addOutputFlag(cmd, &o.output, formatTable)
	cmd.Flags().BoolVar(&o.execute, "execute", false, "write the offsets; without it, only print what would change")
	cmd.Flags().IntVar(&e.replicas, "replicas", 0, "NATS: how many servers keep a copy of a bucket import creates, `N`, 1 or more (default: the nats store's default for a bucket it creates); a bucket that exists keeps its own")
	return cmd
}

// maxProblems is how many bad lines import reports before it stops
// listing them: enough to see the pattern, not a screenful of the same.
const maxProblems = 20

func runImport(ctx context.Context, o *importOptions) error {
	b, err := o.chooseBackend()
	if err != nil {
		return err
	}
	// file names the input in messages, which must stay one line each.
	in, file := o.stdin, "stdin"
	if o.file != "-" {
		f, err := os.Open(o.file)
		if err != nil {
			return fmt.Errorf("cannot read %s: %w", displayName(o.file), withoutPath(err))
		}
		defer f.Close()
		in, file = f, displayName(o.file)
	}
	data, err := readAll(ctx, in)
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted while reading %s: nothing imported", file)
	}
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", file, withoutPath(err))
	}
	offsets, problems := parseOffsets(data, b.checkName)
	if len(problems) == 1 {
		// One error, one line, as every other error.
		return fmt.Errorf("%s:%d: %s: nothing imported", file, problems[0].line, problems[0].msg)
	}
	if len(problems) > 0 {
		for i, p := range problems {
			if i == maxProblems {
				fmt.Fprintf(o.stderr, "offsetctl: import: %s: %d more bad lines not shown\n", file, len(problems)-maxProblems)
				break
			}
			fmt.Fprintf(o.stderr, "offsetctl: import: %s:%d: %s\n", file, p.line, p.msg)
		}
		return fmt.Errorf("%s has %s: nothing imported", file, plural(len(problems), "bad line"))
	}
	if len(offsets) == 0 {
		return fmt.Errorf("%s holds no offsets: nothing to import", file)
	}
	ctx, cancel := o.withTimeout(ctx)
	defer cancel()
	// Connect without creating first: a dry run creates nothing, and an
	// import that creates the table or bucket must say so, since a typo
	// in --table or --bucket would create one too.
	db, err := o.connect(ctx, b, false)
	defer func() { db.close() }()
	missing := err != nil && b.missing(err)
	if missing && o.execute {
		db.close()
		if db, err = o.connect(ctx, b, true); err != nil {
			return err
		}
		fmt.Fprintf(o.stderr, "created %s in %s\n", db.holder, db.where)
		missing = false
	} else if err != nil && !missing {
		return err
	} else if o.replicas > 0 && !missing {
		fmt.Fprintf(o.stderr, "%s exists in %s: it keeps its own replicas; --replicas applies to a bucket import creates\n", db.holder, db.where)
	}
	current := map[key]*egopb.Offset{}
	if !missing {
		all, err := db.store.Snapshot(ctx)
		if err != nil {
			return db.explain(ctx, err)
		}
		for _, o := range all {
			current[keyOf(o)] = o
		}
	}
	sortOffsets(offsets)
	changes := make([]change, len(offsets))
	added, changed := 0, 0
	for i, o := range offsets {
		before := current[keyOf(o)]
		changes[i] = change{before: before, after: o}
		switch {
		case before == nil:
			added++
		case before.Value != o.Value || before.Timestamp != o.Timestamp:
			changed++
		}
	}
	summary := fmt.Sprintf("%s of %s (%d new, %d changed, %d as they are)",
		plural(len(offsets), "offset"), plural(projectionCount(offsets), "projection"), added, changed, len(offsets)-added-changed)
	if o.execute {
		if err := db.store.WriteOffsets(ctx, offsets); err != nil {
			return db.explain(ctx, err)
		}
	}
	if err := printChanges(o.stdout, o.output, changes, true); err != nil {
		return err
	}
	if !o.execute {
		fmt.Fprintf(o.stderr, "dry run: would write %s; nothing changed: add --execute to import\n", summary)
		if missing {
			fmt.Fprintf(o.stderr, "%s does not exist in %s: --execute creates it\n", db.holder, db.where)
		}
		return nil
	}
	fmt.Fprintf(o.stderr, "imported %s\n", summary)
	return nil
}

// readAll reads r to its end, or until ctx is done: a read from a
// terminal, a pipe or a FIFO waits for a writer, and heeds no signal by
// itself, so that without this an operator could not interrupt an import
// whose input does not come (import - typed by mistake).
func readAll(ctx context.Context, r io.Reader) ([]byte, error) {
	type result struct {
		data []byte
		err  error
	}
	// Buffered: the reader may finish after nobody waits for it.
	done := make(chan result, 1)
	go func() {
		data, err := io.ReadAll(r)
		done <- result{data, err}
	}()
	select {
	case res := <-done:
		return res.data, res.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// sortOffsets sorts offsets as every store's Snapshot, and so export,
// does: by name, byte by byte, then by shard as a uint64.
func sortOffsets(offsets []*egopb.Offset) {
	slices.SortFunc(offsets, func(a, b *egopb.Offset) int {
		return cmp.Or(cmp.Compare(a.ProjectionName, b.ProjectionName), cmp.Compare(a.ShardNumber, b.ShardNumber))
	})
}

type key struct {
	name  string
	shard uint64
}

func keyOf(o *egopb.Offset) key { return key{o.ProjectionName, o.ShardNumber} }

// A problem is what is wrong with a line of an import file.
type problem struct {
	line int
	msg  string
}

// parseOffsets reads JSON lines of offsets, skipping blank lines, and
// returns them with what is wrong with the lines that are not offsets the
// table can hold, or name a projection and shard an earlier line named.
func parseOffsets(data []byte, checkName func(string) error) ([]*egopb.Offset, []problem) {
	var offsets []*egopb.Offset
	var problems []problem
	seen := map[key]int{}
	for i, line := range bytes.Split(data, []byte("\n")) {
		n := i + 1
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var o egopb.Offset
		// protojson refuses what the protobuf JSON mapping does: unknown
		// and repeated fields, numbers out of range, invalid UTF-8.
		if err := unmarshalOffset(line, &o); err != nil {
			problems = append(problems, problem{n, "not an offset: " + protojsonMessage(err)})
			continue
		}
		if err := checkName(o.ProjectionName); err != nil {
			problems = append(problems, problem{n, err.Error()})
			continue
		}
		k := keyOf(&o)
		if first, ok := seen[k]; ok {
			problems = append(problems, problem{n, fmt.Sprintf("projection %q shard %d is on line %d already", k.name, k.shard, first)})
			continue
		}
		seen[k] = n
		offsets = append(offsets, &o)
	}
	return offsets, problems
}

// protojsonError matches protojson's errors: a prefix, whose space
// protojson picks at random (sometimes U+00A0) so that callers do not
// compare its text, and a position in its input. Every input here is one
// line, so the column is what tells, and "line 1" would read as the wrong
// line of the file.
var protojsonError = regexp.MustCompile(`^proto:[\s\x{a0}]*(syntax error)?[\s\x{a0}]*\(line 1:(\d+)\):[\s\x{a0}]*`)

// protojsonMessage returns protojson's error as "column N: what", or as it
// is, but for its prefix, if its shape has changed.
func protojsonMessage(err error) string {
	msg := err.Error()
	if m := protojsonError.FindStringSubmatch(msg); m != nil {
		what := msg[len(m[0]):]
		if m[1] != "" {
			what = m[1] + ": " + what
		}
		return "column " + m[2] + ": " + what
	}
	return strings.TrimLeft(strings.TrimPrefix(msg, "proto:"), " \u00a0")
}

// offsetFields are the names protojson reads an Offset's fields by.
var offsetFields = map[string]bool{"projectionName": true, "projection_name": true, "shardNumber": true, "shard_number": true, "value": true, "timestamp": true}

// unmarshalOffset reads line, the protobuf JSON of an Offset, as protojson
// does, but skips the notes offsetctl prints beside the fields; or a line
// of a change, as reset and import print it, as the offset before the
// change.
func unmarshalOffset(line []byte, o *egopb.Offset) error {
	fields, err := objectFields(line)
	switch {
	case err != nil && json.Valid(line):
		// Not an object, or a field given twice.
		return err
	case err != nil:
		// protojson says where the syntax breaks.
		if perr := protojson.Unmarshal(line, o); perr != nil {
			return perr
		}
		return err
	}
	if _, ok := fields["before"]; ok {
		return unmarshalChange(fields, o)
	}
	if v, ok := fields["value"]; ok && string(bytes.TrimSpace(v)) == "null" {
		return unmarshalNoOffset(fields, o)
	}
	var opts protojson.UnmarshalOptions
	for k := range fields {
		if notes[k] {
			opts.DiscardUnknown = true
		}
	}
	if opts.DiscardUnknown {
		if err := onlyFields(fields, offsetFields, notes); err != nil {
			return err
		}
	}
	return opts.Unmarshal(line, o)
}

// unmarshalNoOffset reads the key of a line whose value is null, as
// offsets --events-table prints a shard of the events a projection has no
// offset for, and refuses it: protojson would read null as 0, and write an
// offset the line says is not there.
func unmarshalNoOffset(fields map[string]json.RawMessage, o *egopb.Offset) error {
	if err := onlyFields(fields, offsetFields, notes); err != nil {
		return err
	}
	key := maps.Clone(fields)
	maps.DeleteFunc(key, func(k string, _ json.RawMessage) bool { return !offsetFields[k] || k == "value" || k == "timestamp" })
	if err := unmarshalSynthetic(key, o); err != nil {
		return err
	}
	return fmt.Errorf("projection %q shard %d has no offset on this line (value null, as offsets --events-table prints a shard of the events with none): import writes offsets; leave the line out",
		o.ProjectionName, o.ShardNumber)
}

// changeFields are the fields of a change's line beside the offset's key.
var changeFields = map[string]bool{"before": true, "after": true}

// unmarshalChange reads the fields of a change's line as the offset before
// the change.
func unmarshalChange(fields map[string]json.RawMessage, o *egopb.Offset) error {
	if err := onlyFields(fields, offsetFields, changeFields); err != nil {
		return err
	}
	key := maps.Clone(fields)
	delete(key, "before")
	delete(key, "after")
	before := bytes.TrimSpace(fields["before"])
	if string(before) == "null" {
		if err := unmarshalSynthetic(key, o); err != nil {
			return err
		}
		return fmt.Errorf("projection %q shard %d did not exist before this change, which created it: import writes offsets, it does not delete them ('offsetctl delete %s --shard %d' does)",
			o.ProjectionName, o.ShardNumber, o.ProjectionName, o.ShardNumber)
	}
	state, err := objectFields(before)
	if err != nil {
		return fmt.Errorf("before: %w", err)
	}
	if err := onlyFields(state, map[string]bool{"value": true, "timestamp": true}, notes); err != nil {
		return fmt.Errorf("before: %w", err)
	}
	for _, k := range []string{"value", "timestamp"} {
		if v, ok := state[k]; ok {
			key[k] = v
		}
	}
	return unmarshalSynthetic(key, o)
}

// unmarshalSynthetic reads fields, taken from a line and put together
// anew, as protojson reads an Offset: its positions would not be the
// line's, so its message says none.
func unmarshalSynthetic(fields map[string]json.RawMessage, o *egopb.Offset) error {
	data, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	if err := protojson.Unmarshal(data, o); err != nil {
		msg := protojsonMessage(err)
		if _, after, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(msg, "column ") {
			msg = after
		}
		return errors.New(msg)
	}
	return nil
}

// onlyFields returns an error naming a field of fields that neither of
// known nor also has, or nil.
func onlyFields(fields map[string]json.RawMessage, known, also map[string]bool) error {
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if !known[k] && !also[k] {
			return fmt.Errorf("unknown field %q", k)
		}
	}
	return nil
}

// objectFields returns the fields of data, a JSON object, refusing a
// field given twice, which encoding/json would take the last of.
func objectFields(data []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	fields := map[string]json.RawMessage{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		if _, ok := fields[k]; ok {
			return nil, fmt.Errorf("duplicate field %q", k)
		}
		fields[k] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("more after the object")
	}
	return fields, nil
}
