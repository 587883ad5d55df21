#!/bin/sh
# Runs the NATS store's benchmarks (nats/bench_test.go) and prints their
# table, with the date, the machine, the Go, nats-server and nats.go
# versions and the command, so that the figures can be checked and run
# again. Every benchmark runs on a cluster of three servers started in
# the test process, over a plain KeyValue store (impl=baseline) and this
# store in turn, in six rounds that swap which goes first: each sample of
# a ratio takes both one right after the other, so that a burst of load
# on a shared machine slows both. benchstat prints the medians and the
# ratios to the baseline. The raw output is kept in bench-nats.txt (or
# $1), for benchstat to compare with another run.
#
# Usage: scripts/bench-nats.sh [output-file]
#
# RUNS (default 2) is how many times the test binary runs every
# benchmark; BENCH (default .) selects them, as -test.bench does. About 90
# seconds a run. Run it alone on the machine (flock -x
# /work/notes/cpu.lock scripts/bench-nats.sh on the team's machine).
set -eu
cd "$(dirname "$0")/.."
out=${1:-bench-nats.txt}
RUNS=${RUNS:-2}
BENCH=${BENCH:-.}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go test -c -o "$dir/nats.test" ./nats
command="nats.test -test.run '^\$' -test.bench '$BENCH' -test.benchmem, $RUNS runs"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$out"
for run in $(seq "$RUNS"); do
	echo "== run $run of $RUNS" >&2
	(cd nats && "$dir/nats.test" -test.run '^$' -test.bench "$BENCH" -test.benchmem) >>"$out"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

echo "# NATS store beside a plain KeyValue store, three servers"
echo
echo "date:        $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine:     $(uname -m), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')), $(uname -sr)"
echo "load:        $load_before before, $load_after after (1, 5, 15 min)"
echo "go:          $(go env GOVERSION)"
echo "nats-server: $(go list -m -f '{{.Version}}' github.com/nats-io/nats-server/v2), in the test process"
echo "nats.go:     $(go list -m -f '{{.Version}}' github.com/nats-io/nats.go)"
echo "command:     scripts/bench-nats.sh ($command)"
echo
# benchstat is pinned in tools/go.mod, apart from the library's
# dependencies, so that every run formats alike.
go tool -modfile=tools/go.mod benchstat -col '/impl@(baseline store store-resetshards)' -ignore /round "$out"
