package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/ego-contrib/offsetstore/egopb"
)

type exportOptions struct {
	*env
	output string
	names  []string
	file   string
}

func newExportCommand(e *env) *cobra.Command {
	o := &exportOptions{env: e}
	cmd := &cobra.Command{
		Use:   "export [NAME ...]",
		Short: "write offsets as JSON lines, to stdout or --file",
		Long: `Writes the offsets of the projections NAME, or of every projection, one
JSON object per line: the protobuf JSON of eGo's Offset, 64-bit integers as
strings, sorted by projection and shard, each projection read at once. A
NAME with no offsets is an error, and nothing is written. --output table
shows them as offsets does, for people (--output wide adds their
timestamps); import reads JSON lines.`,
		Example: `  offsetctl export --file offsets.jsonl
  offsetctl export accounts

  {"projectionName":"accounts","shardNumber":"0","value":"1795694395000000000","timestamp":"1795694395000"}

  offsetctl export accounts --output table`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.names = args
			return runExport(o.start(cmd), o)
		},
		ValidArgsFunction: e.completeName(true),
	}
	addOutputFlag(cmd, &o.output, formatJSON)
	cmd.Flags().StringVar(&o.file, "file", "", "write to `FILE` instead of stdout; it is replaced only once the export is whole")
	return cmd
}

func runExport(ctx context.Context, o *exportOptions) error {
	names := slices.Compact(slices.Sorted(slices.Values(o.names)))
	ctx, db, err := o.open(ctx, names...)
	defer db.close()
	if err != nil {
		return err
	}
	var offsets []*egopb.Offset
	if len(names) == 0 {
		if offsets, err = db.store.Snapshot(ctx); err != nil {
			return db.explain(ctx, err)
		}
	}
	for _, name := range names {
		some, err := db.offsets(ctx, name, nil, "nothing exported")
		if err != nil {
			return err
		}
		offsets = append(offsets, some...)
	}
	var buf bytes.Buffer
	if err := printOffsets(&buf, o.output, o.now(), offsets, true, false); err != nil {
		return err
	}
	dest := "stdout"
	if o.file != "" {
		dest = displayName(o.file)
		err = writeFileAtomically(o.file, buf.Bytes())
	} else if _, err = o.stdout.Write(buf.Bytes()); err != nil {
		err = fmt.Errorf("write stdout: %w", err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(o.stderr, "exported %s of %s to %s\n", plural(len(offsets), "offset"), plural(projectionCount(offsets), "projection"), dest)
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
	_, err = tmp.Write(data)
	// CreateTemp makes the file readable by its owner only; an export is
	// no more secret than the table, so give it a new file's usual mode.
	if err = errors.Join(err, tmp.Chmod(0o644), tmp.Sync(), tmp.Close()); err != nil {
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
