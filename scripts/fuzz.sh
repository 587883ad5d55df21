#!/bin/sh
# fuzz.sh fuzzes the memory store for longer than go test does. go test
# runs only the seed corpus (f.Add and memory/testdata/fuzz), and go test
# -fuzz takes one target at a time, so this runs each target in turn.
#
# Usage: scripts/fuzz.sh [fuzztime]
#
# fuzztime is per target, as go test -fuzztime takes it: 2m (the default),
# 30s, or 100000x for a number of executions. A failing input is written
# to memory/testdata/fuzz/<target>/; keep it there, as a regression seed,
# with the fix.
#
# Minimizing each new interesting input may take up to a minute by default
# (-fuzzminimizetime), during which no executions are counted and, on two
# cores, fuzzing stalls (golang/go#48820). Ten seconds is plenty for inputs
# of a few fields; set FUZZMINIMIZETIME to change it.
set -eu

fuzztime=${1:-2m}
minimizetime=${FUZZMINIMIZETIME:-10s}
cd "$(dirname "$0")/.."

for target in FuzzAPI FuzzOffsetBytes; do
	echo "== $target, $fuzztime"
	go test -run '^$' -fuzz "^$target\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimizetime" ./memory
done
