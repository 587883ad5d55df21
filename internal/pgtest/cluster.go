package pgtest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// The variables scripts/with-postgres.sh sets for [StartCluster]: the
// directory of the server binaries it used, and a directory the server's
// user can write to, which the script empties on exit.
const (
	BinDirVariable   = "OFFSETSTORE_POSTGRES_BINDIR"
	ClustersVariable = "OFFSETSTORE_POSTGRES_CLUSTERS"
)

// A Cluster is a throwaway PostgreSQL server of a test's own, listening on
// 127.0.0.1 only, stopped and removed when the test ends.
type Cluster struct {
	// Port is the port the server listens on.
	Port int
	// Data is its data directory.
	Data string

	tb  testing.TB
	bin string
	// user runs the server: "" for this process's, which must not be root;
	// group is user's group.
	user, group string
}

// URL returns the URL of the cluster's postgres database, as user
// postgres, who needs no password.
func (c *Cluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.Port)
}

// StartCluster starts a new cluster: initdb, then the server, with conf's
// settings (name=value, as postgres -c takes them) on top of a few of the
// clusters' own: fsync off, since a test kills processes, never the
// machine, and no Unix socket. It ends the test as [URL] does when there
// are no server binaries.
//
// PostgreSQL refuses to run as root: run as root, the server runs as the
// postgres system user, or nobody, through runuser or setpriv, as with
// scripts/with-postgres.sh.
func StartCluster(tb testing.TB, conf ...string) *Cluster {
	tb.Helper()
	c := newCluster(tb)
	c.run("initdb", "-D", c.Data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
	c.start(conf)
	return c
}

// StartStandby starts a new cluster that streams c's WAL as a hot
// standby, from a base backup of c (pg_basebackup -R), with conf's
// settings. c is its primary: make c with synchronous_standby_names='*'
// for the standby to be synchronous.
func (c *Cluster) StartStandby(tb testing.TB, conf ...string) *Cluster {
	tb.Helper()
	s := newCluster(tb)
	s.run("pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(c.Port), "-U", "postgres",
		"-D", s.Data, "-R", "-X", "stream", "--no-sync")
	s.start(conf)
	return s
}

// Kill sends SIGKILL to the cluster's postmaster, as a crash of the
// machine would stop it, but for what the disk and the standbys hold.
func (c *Cluster) Kill() {
	c.tb.Helper()
	pidFile, err := os.ReadFile(filepath.Join(c.Data, "postmaster.pid"))
	if err != nil {
		c.tb.Fatalf("read the postmaster's pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(pidFile), "\n", 2)[0]))
	if err != nil {
		c.tb.Fatalf("read the postmaster's pid: %v", err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		c.tb.Fatalf("kill -KILL %d (the postmaster): %v", pid, err)
	}
}

// Promote makes a standby the primary, and returns once it is.
func (c *Cluster) Promote() {
	c.tb.Helper()
	c.run("pg_ctl", "promote", "-w", "-t", "60", "-D", c.Data)
}

// newCluster returns a cluster, not yet made, in a directory of its own.
func newCluster(tb testing.TB) *Cluster {
	tb.Helper()
	bin, runAs := binaries(tb)
	base := os.Getenv(ClustersVariable)
	if base == "" {
		// The server's user must reach the directory, which a TMPDIR
		// under /root, say, forbids: /tmp is reachable by every user.
		base = os.TempDir()
		if runAs != "" {
			base = "/tmp"
		}
	}
	dir, err := os.MkdirTemp(base, "cluster")
	if err != nil {
		tb.Fatal(err)
	}
	c := &Cluster{Data: filepath.Join(dir, "data"), tb: tb, bin: bin, user: runAs}
	if runAs != "" {
		u, err := user.Lookup(runAs)
		if err != nil {
			tb.Fatal(err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			tb.Fatal(err)
		}
		c.group = u.Gid
	}
	tb.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(c.Data, "postmaster.pid")); err == nil {
			_, _ = c.command("pg_ctl", "stop", "-D", c.Data, "-m", "immediate", "-s").CombinedOutput()
		}
		_ = os.RemoveAll(dir)
	})
	return c
}

// start starts the server on a free port, trying others while the one
// picked is taken meanwhile.
func (c *Cluster) start(conf []string) {
	c.tb.Helper()
	opts := []string{"-c listen_addresses=127.0.0.1", "-c unix_socket_directories=''", "-c fsync=off"}
	for _, setting := range conf {
		name, value, _ := strings.Cut(setting, "=")
		opts = append(opts, "-c "+name+"='"+value+"'")
	}
	log := filepath.Join(filepath.Dir(c.Data), "server.log")
	for try := 0; ; try++ {
		c.Port = freePort(c.tb)
		out, err := c.command("pg_ctl", "start", "-D", c.Data, "-w", "-t", "60", "-s", "-l", log,
			"-o", strings.Join(append(opts, "-p "+strconv.Itoa(c.Port)), " ")).CombinedOutput()
		if err == nil {
			return
		}
		logged, _ := os.ReadFile(log)
		if try < 5 && bytes.Contains(logged, []byte("could not bind")) {
			continue
		}
		c.tb.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, logged)
	}
}

// run runs a program of the server's, as the server's user, and ends the
// test if it fails.
func (c *Cluster) run(name string, args ...string) {
	c.tb.Helper()
	if out, err := c.command(name, args...).CombinedOutput(); err != nil {
		c.tb.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	path := filepath.Join(c.bin, name)
	if c.user == "" {
		return exec.Command(path, args...)
	}
	if _, err := exec.LookPath("runuser"); err == nil {
		return exec.Command("runuser", append([]string{"-u", c.user, "--", path}, args...)...)
	}
	return exec.Command("setpriv", append([]string{"--reuid=" + c.user, "--regid=" + c.group, "--init-groups", "--", path}, args...)...)
}

// freePort returns a port of 127.0.0.1 that nothing listened on a moment
// ago.
func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// binaries returns the directory of the server binaries and the user to
// run them as, or ends the test as [URL] does when there are none.
func binaries(tb testing.TB) (bin, runAs string) {
	tb.Helper()
	bin = os.Getenv(BinDirVariable)
	if bin == "" {
		bin = findBinaries()
	}
	if bin == "" {
		msg := "no PostgreSQL server binaries (initdb, pg_ctl) found, nor " + BinDirVariable + " set: install the server (Debian: apt-get install postgresql), or run the tests under scripts/with-postgres.sh"
		if os.Getenv(RequiredVariable) == "1" {
			tb.Fatalf("%s; %s=1 says the PostgreSQL tests must run", msg, RequiredVariable)
		}
		tb.Skip(msg)
	}
	if os.Geteuid() == 0 {
		runAs = "nobody"
		if _, err := user.Lookup("postgres"); err == nil {
			runAs = "postgres"
		}
	}
	return bin, runAs
}

// findBinaries looks where scripts/postgres-bindir.sh does: pg_config's
// bindir, Debian's newest /usr/lib/postgresql/N/bin, then PATH.
func findBinaries() string {
	has := func(dir string) bool {
		for _, name := range []string{"initdb", "pg_ctl", "pg_basebackup"} {
			if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
				return false
			}
		}
		return true
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if dir := strings.TrimSpace(string(out)); has(dir) {
			return dir
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return vb - va
	})
	for _, dir := range dirs {
		if has(dir) {
			return dir
		}
	}
	if path, err := exec.LookPath("initdb"); err == nil && has(filepath.Dir(path)) {
		return filepath.Dir(path)
	}
	return ""
}
