#!/bin/sh
# The longer runs that the README's test command leaves out to stay under
# five minutes, each behind the environment variable its tests read. CI
# runs them after the test command (.ci/run); run them before a release
# and after changing what they cover. About 15 minutes on 2 cores.
set -eu
cd "$(dirname "$0")/.."

step() { printf '== %s\n' "$*"; }

step "NATS: the linearizability check while the stream's leader steps down, is cut off and is killed; reads while no leader; 1,000 resets against readers; a snapshot of 101,000 keys"
OFFSETSTORE_NATS_FAULTS=1 go test -race -count=1 -run 'Linearizable_Faults|RetriedWhileNoLeader|Conformance|MoreThan100000Keys' ./nats

step "PostgreSQL: every code point through every server encoding"
OFFSETSTORE_SCAN_CONVERSIONS=1 OFFSETSTORE_POSTGRES_REQUIRED=1 scripts/with-postgres.sh go test -count=1 -run TestChangedOnTheWay_Complete ./postgres
