package offsetstoretest

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/ego-contrib/offsetstore"
	"github.com/ego-contrib/offsetstore/egopb"
)

// unusualNames are valid projection names that a store backed by a
// database may not be able to hold, each with the reason. A store either
// keeps each one exactly or refuses it (rule 3).
var unusualNames = []struct{ name, why string }{
	{"p\x00q", "a NUL byte, which PostgreSQL's text cannot hold"},
	{"\x00", "a NUL byte alone"},
	{strings.Repeat("n", 63), "63 bytes, the longest PostgreSQL identifier"},
	{strings.Repeat("n", 64), "64 bytes"},
	{strings.Repeat("n", 255), "255 bytes, the most VARCHAR(255) holds in ASCII"},
	{strings.Repeat("n", 256), "256 bytes"},
	{strings.Repeat("é", 255), "255 two-byte runes, 510 bytes, which VARCHAR(255) holds"},
	{strings.Repeat("é", 256), "256 two-byte runes"},
	{strings.Repeat("😀", 255), "255 four-byte runes, 1020 bytes"},
	{strings.Repeat("n", 3000), "3000 bytes, past the largest entry of a PostgreSQL B-tree index"},
	{strings.Repeat("n", 1<<16), "64 KiB"},
	{"p'; DROP TABLE offsets; --", "SQL quotes and comments"},
	{`p%_\`, "LIKE wildcards and a backslash"},
	{"\uFFFE\uFFFF", "Unicode noncharacters"},
	{" p\t\n", "spaces and control characters"},
}

// nearNames returns the names a store that changed name to fit, instead of
// refusing it, would write under instead: name cut at its first NUL byte,
// cut to 63 or 255 bytes or 255 runes, or trimmed of spaces.
func nearNames(name string) []string {
	near := []string{strings.TrimSpace(name)}
	if before, _, ok := strings.Cut(name, "\x00"); ok {
		near = append(near, before)
	}
	for _, n := range []int{63, 255} {
		if len(name) > n {
			near = append(near, strings.ToValidUTF8(name[:n], ""))
		}
	}
	if utf8.RuneCountInString(name) > 255 {
		near = append(near, string([]rune(name)[:255]))
	}
	return near
}

// testUnusualNames writes under every unusual name, after writing under
// every name a store might turn one of them into. Each write must succeed
// and be read back exactly, or fail with ErrInvalidArgument; resets must
// reach the names written, exactly; and the near names must never change.
func testUnusualNames(h *harness) {
	ctx := h.t.Context()
	unusual := make(map[string]bool)
	for _, u := range unusualNames {
		unusual[u.name] = true
	}
	var near []*egopb.Offset
	seen := make(map[string]bool)
	for _, u := range unusualNames {
		for _, name := range nearNames(u.name) {
			if name != "" && !unusual[name] && !seen[name] {
				seen[name] = true
				near = append(near, newOffset(name, 1, int64(1000+len(near)), int64(2000+len(near))))
			}
		}
	}
	h.write(near...)

	var kept []*egopb.Offset
	for i, u := range unusualNames {
		o := newOffset(u.name, 1, int64(i+1), int64(i+101))
		err := h.store.WriteOffset(ctx, o)
		switch {
		case err == nil:
			kept = append(kept, o)
		case errors.Is(err, offsetstore.ErrInvalidArgument):
			h.wantRefused(ctx, u.name, u.why, err)
		default:
			h.errorf("%s (%s) = %v; want <nil> or an error wrapping offsetstore.ErrInvalidArgument", writeCall(o).name, u.why, err)
		}
	}
	h.wantStored(kept...)
	h.wantStored(near...)

	type window struct{ before, after int64 }
	resets := make([]window, len(kept))
	for i, o := range kept {
		resets[i].before, resets[i].after = h.reset(o.ProjectionName, -int64(i+1))
	}
	for i, o := range kept {
		h.wantReset(o.ProjectionName, 1, -int64(i+1), resets[i].before, resets[i].after)
	}
	h.wantStored(near...)
	h.t.Logf("%d of %d unusual names kept, the others refused with offsetstore.ErrInvalidArgument", len(kept), len(unusualNames))
}

// wantRefused checks a store that refused to write under name, with err:
// err must say why, and reading or resetting name must find nothing there
// or refuse it too.
func (h *harness) wantRefused(ctx context.Context, name, why string, err error) {
	h.t.Helper()
	if err.Error() == offsetstore.ErrInvalidArgument.Error() {
		h.errorf("WriteOffset(ctx, {%s ...}) (%s) = %v; want an error that says what was wrong", nameString(name), why, err)
	}
	id := newID(name, 1)
	if o, err := h.store.GetCurrentOffset(ctx, id); o != nil || err != nil && !errors.Is(err, offsetstore.ErrInvalidArgument) {
		h.errorf("%s (%s) after the write was refused = %s, %v; want <nil>, <nil> or an error wrapping offsetstore.ErrInvalidArgument",
			getName(id), why, offsetString(o), err)
	}
	if err := h.store.ResetOffset(ctx, name, 0); err != nil && !errors.Is(err, offsetstore.ErrInvalidArgument) {
		h.errorf("ResetOffset(ctx, %s, 0) (%s) = %v; want <nil> or an error wrapping offsetstore.ErrInvalidArgument", nameString(name), why, err)
	}
}
