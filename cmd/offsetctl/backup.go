package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/ego-contrib/offsetstore/egopb"
	"github.com/ego-contrib/offsetstore/postgres"
)

var exportCommand = &command{
	name:    "export",
	args:    "[NAME ...]",
	nargs:   anyNumber,
	summary: "write offsets as JSON lines, to stdout or --file",
	output:  "json",
	flags: func(fs *flag.FlagSet, o *options) {
		fs.StringVar(&o.file, "file", "", "write to `file` instead of stdout; it is replaced only once the export is whole")
	},
	help: `Writes the offsets of the projections NAME, or of every projection, one
JSON object per line, with the protobuf JSON names of eGo's Offset fields
and 64-bit integers as strings, sorted by projection and shard. Each
projection is read in one statement; without NAME, the whole table is. A
NAME with no offsets is an error, and nothing is written.

--output table shows the same offsets as a table, for people: the columns
of offsets, after a PROJECTION column, times in UTC. import reads JSON
lines only: keep those for a backup.

Example:
  offsetctl export --file offsets.jsonl
  offsetctl export accounts

  {"projectionName":"accounts","shardNumber":"0","value":"1042","timestamp":"1795691640000"}

  offsetctl export accounts --output table

  PROJECTION  SHARD  VALUE  TIMESTAMP                 AGE
  accounts    0      1042   2026-11-26T11:14:00.000Z  5m3s
`,
	run: runExport,
}

var importCommand = &command{
	name:    "import",
	args:    "FILE",
	nargs:   exactly(1),
	summary: "write the offsets of an export file, all or none (dry run unless --execute)",
	output:  "table",
	flags: func(fs *flag.FlagSet, o *options) {
		fs.BoolVar(&o.execute, "execute", false, "write the offsets; without it, only print what would change")
	},
	help: `Reads FILE ('-' for stdin), JSON lines as export writes them, and checks
every line first: bad JSON, unknown fields, bad projection names and a
projection and shard given twice are reported with their line numbers, and
then nothing is written. Prints, for every offset, the value and timestamp
before and after; writes them only with --execute, all in one statement,
so all or none. Offsets in the table but not in FILE are left as they are.
Stop the projections first, as for reset.

A table that does not exist, and its --schema, are created by --execute
(with package postgres's statement, postgres/schema.sql), so that a backup
restores into a new database; the dry run says it would. A table that
exists but is not an offsets table is an error.

Example:
  offsetctl import offsets.jsonl                  # dry run: prints the plan
  offsetctl import offsets.jsonl --execute        # does it
  offsetctl export --url "$FROM" | offsetctl import --url "$TO" --execute -
`,
	run: runImport,
}

func runExport(ctx context.Context, inv *invocation) error {
	var names []string
	for _, name := range inv.args {
		if err := postgres.CheckProjectionName(name); err != nil {
			return &usageError{msg: err.Error()}
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	ctx, cancel := inv.withTimeout(ctx)
	defer cancel()
	db, err := inv.connect(ctx, false)
	defer db.close()
	if err != nil {
		return err
	}
	var offsets []*egopb.Offset
	if len(names) == 0 {
		if offsets, err = db.store.Snapshot(ctx); err != nil {
			return db.explain(ctx, inv, err)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		some, err := db.projectionOffsets(ctx, inv, name, "nothing exported")
		if err != nil {
			return err
		}
		offsets = append(offsets, some...)
	}
	var buf bytes.Buffer
	if err := inv.printOffsets(&buf, offsets, true); err != nil {
		return err
	}
	dest := "stdout"
	if inv.opts.file == "" {
		if _, err := inv.stdout.Write(buf.Bytes()); err != nil {
			return fmt.Errorf("write stdout: %w", err)
		}
	} else {
		dest = displayName(inv.opts.file)
		if err := writeFileAtomically(inv.opts.file, buf.Bytes()); err != nil {
			return err
		}
	}
	fmt.Fprintf(inv.stderr, "exported %s of %s to %s\n", plural(len(offsets), "offset"), plural(countProjections(offsets), "projection"), dest)
	return nil
}

// writeFileAtomically replaces name with data, whole or not at all: a
// failed export must not leave a truncated file that looks like a backup.
func writeFileAtomically(name string, data []byte) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("cannot write %s: %w", displayName(name), withoutPath(err))
		}
	}()
	// The rename would replace a symbolic link, not the file it names,
	// which would keep the old export: write where the link points, as
	// the shell's > does.
	path := followLinks(name)
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	// CreateTemp makes the file readable by its owner only; an export is
	// no more secret than the table, so give it a new file's usual mode.
	err = tmp.Chmod(0o644)
	if err == nil {
		_, err = tmp.Write(data)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// maxLinks bounds the symbolic links followLinks follows, as the kernel
// bounds them, so that a loop of links ends.
const maxLinks = 40

// followLinks returns the file that name names once every symbolic link on
// the way is followed, even if that file does not exist yet.
func followLinks(name string) string {
	for range maxLinks {
		target, err := os.Readlink(name)
		if err != nil {
			// Not a link (or not there): name is the file.
			return name
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(name), target)
		}
		name = target
	}
	return name
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

// withoutPath returns the reason of a file system error without the path,
// which the message around it names already (or which is a temporary
// file's, gone since).
func withoutPath(err error) error {
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		return pathErr.Err
	}
	var linkErr *os.LinkError
	if errors.As(err, &linkErr) {
		return linkErr.Err
	}
	return err
}

func countProjections(offsets []*egopb.Offset) int {
	n := 0
	for i, o := range offsets {
		if i == 0 || o.ProjectionName != offsets[i-1].ProjectionName {
			n++
		}
	}
	return n
}

// maxProblems is how many bad lines import reports before it stops
// listing them: enough to see the pattern, not a screenful of the same.
const maxProblems = 20

func runImport(ctx context.Context, inv *invocation) error {
	var data []byte
	var err error
	// file names the input in messages, which must stay one line each.
	file := displayName(inv.args[0])
	if inv.args[0] == "-" {
		file = "stdin"
		data, err = readAll(ctx, inv.stdin)
	} else {
		var f *os.File
		if f, err = os.Open(inv.args[0]); err == nil {
			data, err = readAll(ctx, f)
			f.Close()
		}
	}
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted while reading %s: nothing imported", file)
	}
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", file, withoutPath(err))
	}
	offsets, problems := parseOffsets(data)
	if len(problems) == 1 {
		// One error, one line, as every other error.
		return fmt.Errorf("%s:%d: %s: nothing imported", file, problems[0].line, problems[0].msg)
	}
	if len(problems) > 0 {
		for i, p := range problems {
			if i == maxProblems {
				fmt.Fprintf(inv.stderr, "offsetctl: import: %s: %d more bad lines not shown\n", file, len(problems)-maxProblems)
				break
			}
			fmt.Fprintf(inv.stderr, "offsetctl: import: %s:%d: %s\n", file, p.line, p.msg)
		}
		return fmt.Errorf("%s has %s: nothing imported", file, plural(len(problems), "bad line"))
	}
	if len(offsets) == 0 {
		return fmt.Errorf("%s holds no offsets: nothing to import", file)
	}
	ctx, cancel := inv.withTimeout(ctx)
	defer cancel()
	// Connect without creating first: a dry run creates nothing, and an
	// import that creates the table must say so, since a --table typo
	// would create one too.
	db, err := inv.connect(ctx, false)
	defer func() { db.close() }()
	tableMissing := err != nil && missingTable(err)
	if tableMissing && inv.opts.execute {
		db.close()
		if db, err = inv.connect(ctx, true); err != nil {
			return err
		}
		fmt.Fprintf(inv.stderr, "created table %s in %s\n", db.table, db.where)
		tableMissing = false
	} else if err != nil && !tableMissing {
		return err
	}
	current := map[key]*egopb.Offset{}
	if !tableMissing {
		all, err := db.store.Snapshot(ctx)
		if err != nil {
			return db.explain(ctx, inv, err)
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
		plural(len(offsets), "offset"), plural(countProjections(offsets), "projection"), added, changed, len(offsets)-added-changed)
	if !inv.opts.execute {
		if err := inv.printChanges(changes, true); err != nil {
			return err
		}
		fmt.Fprintf(inv.stderr, "dry run: would write %s; nothing changed: add --execute to import\n", summary)
		if tableMissing {
			fmt.Fprintf(inv.stderr, "table %s does not exist in %s: --execute creates it\n", db.table, db.where)
		}
		return nil
	}
	if err := db.store.WriteOffsets(ctx, offsets); err != nil {
		return db.explain(ctx, inv, err)
	}
	if err := inv.printChanges(changes, true); err != nil {
		return err
	}
	fmt.Fprintf(inv.stderr, "imported %s\n", summary)
	return nil
}

// sortOffsets sorts offsets as package postgres's Snapshot, and so export,
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
func parseOffsets(data []byte) ([]*egopb.Offset, []problem) {
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
		if err := protojson.Unmarshal(line, &o); err != nil {
			problems = append(problems, problem{n, "not an offset: " + protojsonMessage(err)})
			continue
		}
		if err := postgres.CheckProjectionName(o.ProjectionName); err != nil {
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
