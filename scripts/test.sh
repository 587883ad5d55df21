#!/usr/bin/env bash
# The project's test command, the one the README gives and CI runs: every
# check a change must pass, on a fresh machine, installing what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."

staticcheck=honnef.co/go/tools/cmd/staticcheck@v0.8.2

step() { printf '== %s\n' "$*"; }

# protoc is needed to check that the generated code is up to date.
if ! command -v protoc >/dev/null 2>&1; then
	step "installing protoc (Debian: protobuf-compiler)"
	sudo=""
	[ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq protobuf-compiler >/dev/null
fi

step gofmt
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	printf 'gofmt would change:\n%s\n' "$unformatted" >&2
	exit 1
fi

step go vet
go vet ./...

step "staticcheck ($staticcheck)"
go run "$staticcheck" ./...

step go mod tidy
go mod tidy -diff

step "generated code"
before=$(cat egopb/*.pb.go | sha256sum)
go generate ./...
if [ "$(cat egopb/*.pb.go | sha256sum)" != "$before" ]; then
	echo "generated code was stale: go generate ./... has rewritten egopb; commit the result" >&2
	exit 1
fi

step "go test -race"
go test -race -count=1 ./...
