#!/bin/sh
# The project's test command, the one the README gives and CI runs: every
# check a change must pass. It installs nothing: the tools it runs are
# pinned in tools/go.mod and built by Go, apart from the library's own
# dependencies. The PostgreSQL tests need a server: OFFSETSTORE_POSTGRES_URL,
# or PostgreSQL's binaries, from which scripts/with-postgres.sh starts a
# throwaway one (and says what to install when there are none). Here a
# skipped PostgreSQL test is a failure.
set -eu
cd "$(dirname "$0")/.."

step() { printf '== %s\n' "$*"; }
# tool runs a tool pinned in tools/go.mod, here, on this module.
tool() { go tool -modfile=tools/go.mod "$@"; }

step "no build outputs tracked"
# A test binary (go test -c) once slipped into a commit: 17 MB in every
# clone from then on. Only a checkout has git's index to ask.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	tracked=$(git ls-files -- '*.test' '*.out' 'bench*.txt')
	if [ -n "$tracked" ]; then
		printf 'build outputs are tracked by git (git rm --cached them):\n%s\n' "$tracked" >&2
		exit 1
	fi
fi

step gofmt
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	printf 'gofmt would change:\n%s\n' "$unformatted" >&2
	exit 1
fi

step go vet
go vet ./...
go -C tools vet ./...

step staticcheck
tool staticcheck ./...
go -C tools tool staticcheck ./...

step go mod tidy
go mod tidy -diff
go -C tools mod tidy -diff

step "generated code"
scripts/generate.sh -check

# With a server of the caller's, with-postgres.sh starts none, and this
# machine may lack the binaries to test it with.
if [ -z "${OFFSETSTORE_POSTGRES_URL:-}" ]; then
	step "scripts/with-postgres.sh"
	scripts/with-postgres-test.sh
fi

step "go test -race, with a PostgreSQL server"
OFFSETSTORE_POSTGRES_REQUIRED=1 scripts/with-postgres.sh go test -race -count=1 ./...
