package offsetstore_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// The checks below keep the README and the guides of docs/ true to the
// repository: their links lead somewhere, and their code is code the test
// command compiles.

// codeMarker names the file a code block is copied from, on the line right
// above the block: <!-- code: examples/quickstart/main.go -->. The path is
// relative to the repository's root.
var codeMarker = regexp.MustCompile(`^<!-- code: (\S+) -->$`)

// A mdDoc is a Markdown document of the repository, split into what the
// checks look at.
type mdDoc struct {
	path     string // relative to the repository's root, with slashes
	lines    []string
	blocks   []mdBlock
	links    []mdLink
	headings map[string]bool // anchors, as GitHub makes them
}

type mdBlock struct {
	line   int // of the opening fence, 1-based
	lang   string
	body   string
	source string // from the marker above it; empty if none
}

type mdLink struct {
	line   int
	target string
}

var (
	inlineLink = regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	refLink    = regexp.MustCompile(`^\s*\[[^\]]+\]:\s*(\S+)`)
	codeSpan   = regexp.MustCompile("`+[^`]*`+")
	fence      = regexp.MustCompile("^(```+|~~~+)\\s*([A-Za-z0-9_+-]*)")
)

// documents returns README.md, CHANGELOG.md and every docs/*.md, parsed.
func documents(t *testing.T) []*mdDoc {
	t.Helper()
	paths, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	paths = append([]string{"README.md", "CHANGELOG.md"}, paths...)
	var docs []*mdDoc
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, parseMarkdown(filepath.ToSlash(p), string(data)))
	}
	return docs
}

func parseMarkdown(path, text string) *mdDoc {
	d := &mdDoc{path: path, lines: strings.Split(text, "\n"), headings: map[string]bool{}}
	seen := map[string]int{}
	var open *mdBlock
	var closing string
	var body []string
	for i, line := range d.lines {
		if open != nil {
			if strings.HasPrefix(line, closing) && strings.TrimSpace(strings.TrimLeft(line, closing[:1])) == "" {
				open.body = strings.Join(body, "\n")
				d.blocks = append(d.blocks, *open)
				open, body = nil, nil
				continue
			}
			body = append(body, line)
			continue
		}
		if m := fence.FindStringSubmatch(line); m != nil {
			open = &mdBlock{line: i + 1, lang: m[2]}
			closing = m[1]
			if i > 0 {
				if mm := codeMarker.FindStringSubmatch(d.lines[i-1]); mm != nil {
					open.source = mm[1]
				}
			}
			continue
		}
		if strings.HasPrefix(line, "#") {
			level := len(line) - len(strings.TrimLeft(line, "#"))
			if level <= 6 && strings.HasPrefix(line[level:], " ") {
				slug := anchor(line[level+1:])
				if n := seen[slug]; n > 0 {
					d.headings[fmt.Sprintf("%s-%d", slug, n)] = true
				} else {
					d.headings[slug] = true
				}
				seen[slug]++
			}
		}
		prose := codeSpan.ReplaceAllString(line, "")
		for _, m := range inlineLink.FindAllStringSubmatch(prose, -1) {
			d.links = append(d.links, mdLink{line: i + 1, target: m[1]})
		}
		if m := refLink.FindStringSubmatch(prose); m != nil {
			d.links = append(d.links, mdLink{line: i + 1, target: m[1]})
		}
	}
	return d
}

// anchor returns the anchor GitHub gives a heading: lower case, spaces as
// hyphens, and every character but letters, digits, '-' and '_' dropped.
func anchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestDocs_RelativeLinksResolve(t *testing.T) {
	docs := documents(t)
	byPath := map[string]*mdDoc{}
	for _, d := range docs {
		byPath[d.path] = d
	}
	for _, d := range docs {
		for _, l := range d.links {
			if strings.Contains(l.target, "://") || strings.HasPrefix(l.target, "mailto:") {
				continue
			}
			file, frag, _ := strings.Cut(l.target, "#")
			target := d.path
			if file != "" {
				target = filepath.ToSlash(filepath.Clean(filepath.Join(filepath.Dir(d.path), file)))
			}
			if _, err := os.Stat(filepath.FromSlash(target)); err != nil {
				t.Errorf("%s:%d: link %q: %s does not exist: every relative link must lead to a file of the repository", d.path, l.line, l.target, target)
				continue
			}
			if frag == "" {
				continue
			}
			to, ok := byPath[target]
			if !ok {
				t.Errorf("%s:%d: link %q has an anchor in %s, which is not a document checked here (README.md, CHANGELOG.md, docs/*.md)", d.path, l.line, l.target, target)
				continue
			}
			if !to.headings[frag] {
				t.Errorf("%s:%d: link %q: %s has no heading with the anchor #%s: every anchor must name a heading", d.path, l.line, l.target, target, frag)
			}
		}
	}
}

// Every Go block of the documents is copied from a file the test command
// compiles, named by a marker above it, so that it cannot drift from code
// that builds.
func TestDocs_CodeBlocksAreCopiedFromCompiledFiles(t *testing.T) {
	for _, d := range documents(t) {
		for _, b := range d.blocks {
			if b.source == "" {
				if b.lang == "go" {
					t.Errorf("%s:%d: go block has no <!-- code: FILE --> marker above it: every go block must be copied from a file that compiles", d.path, b.line)
				}
				continue
			}
			src, err := os.ReadFile(filepath.FromSlash(b.source))
			if err != nil {
				t.Errorf("%s:%d: block copied from %s: %v", d.path, b.line, b.source, err)
				continue
			}
			if err := copiedFrom(b.body, string(src)); err != nil {
				t.Errorf("%s:%d: block is not copied from %s: %v; copy it again from the file, which the test command compiles", d.path, b.line, b.source, err)
			}
		}
	}
}

// copiedFrom returns nil if block is a run of consecutive lines of src,
// every line of the run indented alike by tabs that the block leaves out.
// A block that starts with a package clause must be the whole of src from
// its package clause on.
func copiedFrom(block, src string) error {
	want := strings.Split(block, "\n")
	lines := strings.Split(strings.TrimSuffix(src, "\n"), "\n")
	if strings.HasPrefix(block, "package ") {
		i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "package ") })
		if i < 0 || !slices.Equal(lines[i:], want) {
			return fmt.Errorf("a block with a package clause must be the whole file from that clause on")
		}
		return nil
	}
	for start := 0; start+len(want) <= len(lines); start++ {
		if indentedLike(lines[start:start+len(want)], want) {
			return nil
		}
	}
	return fmt.Errorf("no run of %d consecutive lines of the file matches it", len(want))
}

// indentedLike reports whether got is want with one indentation of tabs
// added to every line that is not empty.
func indentedLike(got, want []string) bool {
	indent := ""
	found := false
	for i, w := range want {
		if w == "" {
			if strings.TrimSpace(got[i]) != "" {
				return false
			}
			continue
		}
		if !found {
			var ok bool
			indent, ok = strings.CutSuffix(got[i], w)
			if !ok || strings.Trim(indent, "\t") != "" {
				return false
			}
			found = true
		}
		if got[i] != indent+w {
			return false
		}
	}
	return found
}

func TestDocs_CopiedFromDetectsDrift(t *testing.T) {
	src := "package p\n\nfunc f() {\n\tif x {\n\t\ty()\n\t}\n}\n"
	for _, c := range []struct {
		block string
		ok    bool
	}{
		{"if x {\n\ty()\n}", true},
		{"\ty()", true},
		{"if x {\n\tz()\n}", false},   // a changed line
		{"if x {\n}", false},          // a line left out
		{"if x {\n    y()\n}", false}, // spaces for a tab
		{"package p\n\nfunc f() {\n\tif x {\n\t\ty()\n\t}\n}", true},
		{"package p\n\nfunc f() {", false}, // a program cut short
	} {
		if err := copiedFrom(c.block, src); (err == nil) != c.ok {
			t.Errorf("copiedFrom(%q, src) = %v; want ok = %v", c.block, err, c.ok)
		}
	}
}

// The README's program that hands a store to eGo lives in a module of its
// own, which the go command run on this module never builds, vets or tidies.
func TestEgoEngineExampleCompiles(t *testing.T) {
	for _, args := range [][]string{{"vet", "./..."}, {"mod", "tidy", "-diff"}} {
		cmd := exec.Command("go", args...)
		cmd.Dir = filepath.Join("examples", "egoengine")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("go %s in examples/egoengine = %v:\n%s\nwant it to pass: the README shows its run.go", strings.Join(args, " "), err, out)
		}
	}
}

// The README is a front page, read in five minutes; figures belong to
// docs/performance.md, as the latest run's table.
func TestREADME_IsAFrontPage(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) > 300 {
		t.Errorf("README.md has %d lines; want at most 300: move detail to docs/ and link to it", len(lines))
	}
	dated := regexp.MustCompile(`(?i)(re-?measured|measured|run) (on|of) 20\d\d-\d\d-\d\d`)
	for _, d := range documents(t) {
		for i, l := range d.lines {
			if dated.MatchString(l) {
				t.Errorf("%s:%d: %q dates a measurement: figures go in docs/performance.md, as the table a script prints", d.path, i+1, l)
			}
		}
	}
}
