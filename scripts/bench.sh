#!/bin/sh
# Runs the memory store's benchmarks beside the floor store's and prints
# each figure as a ratio to the floor. The raw output is kept in bench.txt
# (or $1), so that two runs can be compared with benchstat later.
#
# Usage: scripts/bench.sh [output-file]
set -eu
cd "$(dirname "$0")/.."
out=${1:-bench.txt}
# On a shared machine a burst of load can slow any one run: twenty short
# runs, with the floor and the store side by side in each, give medians
# that such bursts barely move, and the whole run stays within about three
# minutes.
go test -run '^$' -bench . -benchmem -count 20 -benchtime 0.25s ./memory | tee "$out"
# benchstat is pinned in tools/go.mod, apart from the library's dependencies,
# so that every run formats and tests alike.
go tool -modfile=tools/go.mod benchstat \
	-col '/impl@(floor store)' "$out"
