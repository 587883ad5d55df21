#!/bin/sh
# Runs the memory store's benchmarks beside the floor store's and prints
# each figure as a ratio to the floor, under a header saying when, where and
# how it ran, so that the table can be pasted into docs/performance.md as
# printed. The raw output is kept in bench.txt (or $1), so that two runs can
# be compared with benchstat later.
#
# Usage: scripts/bench.sh [output-file]
set -eu
cd "$(dirname "$0")/.."
out=${1:-bench.txt}
# On a shared machine a burst of load can slow any one run. go test -count
# would take all the samples of one benchmark in a row, floor first, then
# store, so a burst would land on one side of a ratio only. Instead one
# test binary runs twenty times, each run taking one short sample of every
# benchmark, floor and store one right after the other: a burst slows both.
bin=$(mktemp -d)/memory.test
trap 'rm -rf "$(dirname "$bin")"' EXIT
go test -c -o "$bin" ./memory
started=$(date -u '+%Y-%m-%d %H:%M UTC')
load=$(cut -d ' ' -f 1-3 /proc/loadavg 2>/dev/null || echo unknown)
: >"$out"
for run in $(seq 20); do
	echo "== run $run of 20" >&2
	"$bin" -test.run '^$' -test.bench . -test.benchmem -test.count 1 -test.benchtime 0.25s | tee -a "$out"
done
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
echo "date:    $started"
echo "machine: $(getconf _NPROCESSORS_ONLN) CPUs${cpu:+ ($cpu)}, $(uname -sm), load average $load at the start"
echo "go:      $(go version | cut -d ' ' -f 3-)"
echo "command: scripts/bench.sh (20 runs of -test.bench . -test.benchmem -test.benchtime 0.25s)"
echo
# benchstat is pinned in tools/go.mod, apart from the library's dependencies,
# so that every run formats and tests alike.
go tool -modfile=tools/go.mod benchstat \
	-col '/impl@(floor store)' "$out"
