package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestDocs_EveryFlagIsDocumented checks that every flag of every command
// is in the README's operating section, short as it is, and in the
// operator's guide, docs/operating.md: a flag added to the command line
// and not to them fails here.
func TestDocs_EveryFlagIsDocumented(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Operating offsets\n")
	if !ok {
		t.Fatal("README.md has no section ## Operating offsets")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	guide, err := os.ReadFile(filepath.Join("..", "..", "docs", "operating.md"))
	if err != nil {
		t.Fatal(err)
	}
	flags := map[string]bool{}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		c.InitDefaultHelpFlag()
		each := func(f *pflag.Flag) {
			if f.Name != "help" {
				flags["--"+f.Name] = true
			}
		}
		c.LocalFlags().VisitAll(each)
		c.PersistentFlags().VisitAll(each)
		for _, sub := range c.Commands() {
			// cobra's own: its scripts' --no-descriptions.
			if sub.Name() != "completion" {
				walk(sub)
			}
		}
	}
	walk(newRootCommand(&env{}))
	if len(flags) < 20 {
		t.Fatalf("found %d flags; want every flag of every command", len(flags))
	}
	for f := range flags {
		for name, doc := range map[string]string{"README.md's operating section": section, "docs/operating.md": string(guide)} {
			if !strings.Contains(doc, "`"+f) {
				t.Errorf("%s does not mention `%s`", name, f)
			}
		}
	}
}
