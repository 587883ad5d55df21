#!/bin/sh
# The project's test command, the one the README gives and CI runs: every
# check a change must pass. It needs Go and nothing else to be installed by
# hand: the tools it runs are pinned in tools/go.mod and built by Go, apart
# from the library's own dependencies. No root, no package manager.
set -eu
cd "$(dirname "$0")/.."

step() { printf '== %s\n' "$*"; }
# tool runs a tool pinned in tools/go.mod, here, on this module.
tool() { go tool -modfile=tools/go.mod "$@"; }

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

step "go test -race"
go test -race -count=1 ./...
