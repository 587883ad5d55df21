package natstest

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Process is a nats-server of a released version, running as a process of
// its own: for a version other than the one in go.mod, which a module
// cannot import twice.
type Process struct {
	port int
	cmd  *exec.Cmd
}

// URL is the address clients connect to.
func (p *Process) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", p.port) }

// RunRelease starts nats-server at version, a version of the module
// github.com/nats-io/nats-server/v2 such as "v2.11.0", with JetStream, on
// a free port, storing in a directory of tb's, and kills it when tb ends.
//
// It builds the version once, with go install, into a directory under
// [os.UserCacheDir] that later runs reuse: the first run needs the go
// command and the module proxy (or a module cache that holds the
// version), and took 14 s on a 2-core machine.
func RunRelease(tb testing.TB, version string) *Process {
	tb.Helper()
	bin, err := releaseBinary(version)
	if err != nil {
		tb.Fatalf("natstest: build nats-server %s: %v", version, err)
	}
	p := &Process{port: freePort(tb)}
	p.cmd = exec.Command(bin, "-js", "-a", "127.0.0.1", "-p", strconv.Itoa(p.port), "-sd", tb.TempDir(), "-n", "release-"+version)
	if err := p.cmd.Start(); err != nil {
		tb.Fatalf("natstest: start nats-server %s: %v", version, err)
	}
	tb.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
	})
	// The server opens its client port once JetStream is up.
	deadline := time.Now().Add(readyTimeout)
	for {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p.port), time.Second)
		if err == nil {
			conn.Close()
			return p
		}
		if time.Now().After(deadline) {
			tb.Fatalf("natstest: nats-server %s does not accept clients after %v: %v", version, readyTimeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// releaseBinary returns the path of nats-server at version, building it
// first if the cache does not hold it.
func releaseBinary(version string) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	root := filepath.Join(cache, "offsetstore-natstest")
	dir := filepath.Join(root, "nats-server@"+version)
	bin := filepath.Join(dir, "nats-server")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		goCmd = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	// Build into a directory of its own and rename it into place, so
	// that test processes building at once never see half a binary.
	tmp, err := os.MkdirTemp(root, "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command(goCmd, "install", "github.com/nats-io/nats-server/v2@"+version)
	cmd.Dir = tmp
	// go install of a version ignores go.mod; GOFLAGS of the caller's
	// (-mod=vendor, say) would make it fail.
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install github.com/nats-io/nats-server/v2@%s: %w\n%s", version, err, out)
	}
	if err := os.Rename(tmp, dir); err != nil && !errors.Is(err, fs.ErrExist) {
		if _, statErr := os.Stat(bin); statErr != nil {
			return "", err
		}
	}
	return bin, nil
}
