package main

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print offsetctl's module version and the revision it was built from",
		Long: `Prints the version of the module offsetctl was built from, as Go's build
information holds it: a release tag (go install ...@v0.1.0), or a
pseudo-version of the commit (go build in a checkout, +dirty when it had
uncommitted changes); then the VCS revision and its time, which only a build
in a checkout records; then the Go release. offsetctl --version prints the
same.`,
		Example: "  offsetctl version",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprint(cmd.OutOrStdout(), versionText(debug.ReadBuildInfo()))
			return err
		},
	}
}

// versionText says which build of offsetctl info describes, from
// [debug.ReadBuildInfo]: ok is false in a binary built without modules.
func versionText(info *debug.BuildInfo, ok bool) string {
	if !ok {
		return "offsetctl: built without module support: no version\n"
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	var b strings.Builder
	fmt.Fprintf(&b, "offsetctl %s\n", info.Main.Version)
	if rev := settings["vcs.revision"]; rev == "" {
		b.WriteString("revision unknown: not built in a checkout\n")
	} else {
		b.WriteString("revision " + rev)
		if t := settings["vcs.time"]; t != "" {
			b.WriteString(", committed " + t)
		}
		if settings["vcs.modified"] == "true" {
			b.WriteString(", with uncommitted changes")
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "built with %s\n", info.GoVersion)
	return b.String()
}
