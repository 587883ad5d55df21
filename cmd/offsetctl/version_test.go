package main

import (
	"debug/buildinfo"
	"os/exec"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionText(t *testing.T) {
	t.Parallel()
	settings := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	for _, tc := range []struct {
		name string
		info *debug.BuildInfo
		ok   bool
		want string
	}{
		{"go install of a release", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.3.1"}}, true,
			"offsetctl v0.3.1\nrevision unknown: not built in a checkout\nbuilt with go1.26.0\n"},
		{"go build in a checkout", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.0.0-20261206154600-7be55951d590"},
			Settings: settings("vcs", "git", "vcs.revision", "7be55951d590fb5be71b5487edd2d6a90bf29d9d", "vcs.time", "2026-12-06T15:46:00Z", "vcs.modified", "false")}, true,
			"offsetctl v0.0.0-20261206154600-7be55951d590\nrevision 7be55951d590fb5be71b5487edd2d6a90bf29d9d, committed 2026-12-06T15:46:00Z\nbuilt with go1.26.0\n"},
		{"go build in a checkout with changes", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.0.0-20261206154600-7be55951d590+dirty"},
			Settings: settings("vcs.revision", "7be55951d590fb5be71b5487edd2d6a90bf29d9d", "vcs.modified", "true")}, true,
			"offsetctl v0.0.0-20261206154600-7be55951d590+dirty\nrevision 7be55951d590fb5be71b5487edd2d6a90bf29d9d, with uncommitted changes\nbuilt with go1.26.0\n"},
		{"no modules", nil, false, "offsetctl: built without module support: no version\n"},
	} {
		if got := versionText(tc.info, tc.ok); got != tc.want {
			t.Errorf("%s: versionText = %q; want %q", tc.name, got, tc.want)
		}
	}
}

// TestVersion_PrintsTheBuildInfo runs the binary the tests built: version
// and --version print the module version and the revision that its build
// information holds, and, when the build recorded a revision (go build
// in a clone, unless -buildvcs=false), it is the checkout's.
func TestVersion_PrintsTheBuildInfo(t *testing.T) {
	t.Parallel()
	info, err := buildinfo.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	want := versionText(info, true)
	for _, args := range [][]string{{"version"}, {"--version"}} {
		r := runBinary(t, nil, "", args...)
		wantCode(t, r, exitOK, args...)
		if r.stdout != want || r.stderr != "" {
			t.Errorf("offsetctl %s printed %q, stderr %q; want %q", strings.Join(args, " "), r.stdout, r.stderr, want)
		}
	}
	if info.Main.Version == "" {
		t.Errorf("the binary's module version is empty; want (devel) or a version")
	}
	for _, s := range info.Settings {
		if s.Key != "vcs.revision" {
			continue
		}
		head, err := exec.Command("git", "rev-parse", "HEAD").Output()
		if err != nil {
			t.Skipf("git rev-parse HEAD: %v", err)
		}
		if s.Value != strings.TrimSpace(string(head)) {
			t.Errorf("the binary's revision is %s; want the checkout's, %s", s.Value, head)
		}
		return
	}
	t.Logf("the build recorded no revision (-buildvcs=false in GOFLAGS, or a git worktree, whose .git Go does not read): %q", want)
}
