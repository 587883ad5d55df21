#!/bin/sh
# Runs the PostgreSQL store's benchmarks of eGo's load and prints their
# table: BenchmarkEgoLoad (the store beside plain upserts, one prepared
# upsert per call through a pool of the same size, with pgxpool's default
# pool and one of 16 connections) and BenchmarkStuckProjections (what two
# stuck projections cost fourteen others, on the default pool), with the date, the machine, the
# PostgreSQL and Go versions and the command, so that the figures can be
# checked and run again. The raw output is kept in bench-postgres.txt (or
# $1), for benchstat to compare with another run.
#
# Usage: scripts/bench-postgres.sh [output-file]
#
# ROUNDS (default 6) sets how many rounds run; each runs the test binary
# twice, once with -store-first and once without, so that neither side
# always writes behind more WAL. BENCHTIME (default 1s) is each figure's
# -test.benchtime; the stuck projections' is 5 times that. MECHANISMS=1
# also runs BenchmarkAnswerYield, the committer with and without its
# yield once a shared batch is answered, and BenchmarkSharedBatches, the
# bound on shared batches in flight (one) against two and the pool's. With
# OFFSETSTORE_POSTGRES_URL set the benchmarks run on that server;
# otherwise scripts/with-postgres.sh starts a throwaway one. About 3
# minutes a round, 5 with MECHANISMS=1.
set -eu
cd "$(dirname "$0")/.."
out=${1:-bench-postgres.txt}
ROUNDS=${ROUNDS:-6}
BENCHTIME=${BENCHTIME:-1s}
MECHANISMS=${MECHANISMS:-}
load=EgoLoad
[ -z "$MECHANISMS" ] || load='EgoLoad|AnswerYield|SharedBatches'
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
testbin=$dir/postgres.test
go test -c -o "$testbin" ./postgres
# On a shared machine a burst of load can slow any one run: each round
# runs every benchmark, both sides one right after the other, so that a
# burst slows both, and benchstat takes the medians of the rounds.
export testbin load out ROUNDS BENCHTIME
scripts/with-postgres.sh sh -c '
	stucktime=$(echo "$BENCHTIME" | sed "s/s$//")
	stucktime=$(awk "BEGIN { print $stucktime * 5 }")s
	: >"$out"
	for round in $(seq "$ROUNDS"); do
		for order in "" -store-first; do
			echo "== round $round of $ROUNDS ${order:-baseline first}" >&2
			"$testbin" -test.run "^\$" -test.bench "$load" -test.benchtime "$BENCHTIME" $order |
				grep "^Benchmark" >>"$out" || true
			"$testbin" -test.run "^\$" -test.bench "StuckProjections/pool=default" -test.benchtime "$stucktime" $order |
				grep "^BenchmarkStuckProjections" >>"$out" || true
		done
	done
	"$OFFSETSTORE_POSTGRES_BINDIR/postgres" --version >"$out.version" 2>/dev/null ||
		psql "$OFFSETSTORE_POSTGRES_URL" -XAtc "SHOW server_version" >"$out.version" 2>/dev/null || echo unknown >"$out.version"
'
pgversion=$(cat "$out.version")
rm -f "$out.version"

stat() { go tool -modfile=tools/go.mod benchstat "$@"; }
echo "# PostgreSQL store under eGo's load"
echo
echo "date:     $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine:  $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) memory, $(uname -m), $(uname -sr)"
echo "postgres: $pgversion (fsync on)"
echo "go:       $(go version | sed 's/^go version //')"
echo "command:  ROUNDS=$ROUNDS BENCHTIME=$BENCHTIME${MECHANISMS:+ MECHANISMS=$MECHANISMS} scripts/bench-postgres.sh $out"
echo "samples:  $((ROUNDS * 2)) of each figure, medians; raw output in $out"
echo
grep '^BenchmarkEgoLoad' "$out" >"$dir/load.txt" || true
# csv UNIT prints each benchmark's medians of UNIT, baseline's then the
# store's, and the p-value, as "name,baseline,store,p".
csv() {
	stat -format csv -col /impl -filter ".unit:($1)" "$dir/load.txt" 2>/dev/null |
		awk -F, '$1 ~ /^EgoLoad\// && NF >= 7 { sub(/-[0-9]+$/, "", $1); print $1 "," $2 "," $4 "," $7 }'
}
csv 'writes/s OR reads/s' >"$dir/tput.csv"
csv 'writes/txn' >"$dir/txn.csv"
csv 'server-µs/write OR server-µs/read' >"$dir/server.csv"
csv 'client-µs/write OR client-µs/read' >"$dir/client.csv"
echo "## The store beside plain upserts"
echo
echo "Medians; throughput in writes/s (reads/s at startup); CPU in µs a write, of the server's processes and of the benchmark's; p from benchstat (p > 0.05: no difference shown)."
echo
echo "| pool | load | plain | store | store ÷ plain | p | bound | writes/txn | server CPU, plain → store | client CPU, plain → store |"
echo "|---|---|---:|---:|---:|---|---:|---:|---:|---:|"
awk -F, '
	FILENAME ~ /txn/ { txn[$1] = sprintf("%.1f", $3); next }
	FILENAME ~ /server/ { srv[$1] = sprintf("%.1f → %.1f", $2, $3); next }
	FILENAME ~ /client/ { cli[$1] = sprintf("%.1f → %.1f", $2, $3); next }
	{
		split($1, part, "/")
		pool = part[2]; sub("pool=", "", pool)
		l = part[3]; sub("load=", "", l)
		bound = ""
		if (pool == "default") {
			if (l == "lone" || l == "1x5" || l ~ /^startup/) bound = "≥ 0.9"
			if (l == "16x5") bound = "≥ 3"
			if (l == "64x5") bound = "≥ 4"
			if (l == "1x64") bound = "≥ 5"
		} else {
			if (l == "16x5") bound = "≥ 2.5"
			if (l == "64x5") bound = "≥ 4"
		}
		ratio = $2 > 0 ? sprintf("%.2f", $3 / $2) : "?"
		printf "| %s | %s | %.0f | %.0f | %s | %s | %s | %s | %s | %s |\n", pool, l, $2, $3, ratio, $4, bound, ($1 in txn) ? txn[$1] : "", srv[$1], cli[$1]
	}' "$dir/txn.csv" "$dir/server.csv" "$dir/client.csv" "$dir/tput.csv"
echo
echo "## The store beside plain upserts, in full (BenchmarkEgoLoad; benchstat -col /impl)"
echo
stat -col /impl -filter '.unit:(writes/s OR reads/s OR writes/txn OR client-µs/write OR server-µs/write OR client-µs/read OR server-µs/read OR p99-ms)' "$dir/load.txt"
echo
echo "## Two of sixteen projections stuck (BenchmarkStuckProjections; -col /stuck)"
echo
grep '^BenchmarkStuckProjections' "$out" >"$dir/stuck.txt" || true
stat -col /stuck -filter '.unit:(writes/s OR writes/txn OR server-µs/write OR p99-ms OR max-ms OR over-1s)' "$dir/stuck.txt"
if [ -n "$MECHANISMS" ]; then
	echo
	echo "## A yield once a shared batch is answered, or none (BenchmarkAnswerYield; -col /yield)"
	echo
	grep '^BenchmarkAnswerYield' "$out" >"$dir/yield.txt" || true
	stat -col /yield -filter '.unit:(writes/s OR writes/txn OR server-µs/write OR p99-ms)' "$dir/yield.txt"
	echo
	echo "## Shared batches in flight: one, two, or the pool's (BenchmarkSharedBatches; -col /batches)"
	echo
	grep '^BenchmarkSharedBatches' "$out" >"$dir/batches.txt" || true
	stat -col /batches -filter '.unit:(writes/s OR writes/txn OR server-µs/write OR p99-ms)' "$dir/batches.txt"
fi
