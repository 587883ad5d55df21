#!/bin/sh
# Runs the memory store's benchmarks beside the floor store's and prints
# each figure as a ratio to the floor. The raw output is kept in bench.txt
# (or $1), so that two runs can be compared with benchstat later.
#
# Usage: scripts/bench.sh [output-file]
set -eu
cd "$(dirname "$0")/.."
out=${1:-bench.txt}
# Ten runs give benchstat enough samples for medians and confidence
# intervals; 0.5s each keeps the whole run within a few minutes.
go test -run '^$' -bench . -benchmem -count 10 -benchtime 0.5s ./memory | tee "$out"
# benchstat is pinned so that every run formats and tests alike; go run
# pkg@version leaves go.mod alone.
go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da \
	-col '/impl@(floor store)' "$out"
