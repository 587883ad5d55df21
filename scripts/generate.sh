#!/bin/sh
# generate.sh writes the Go code of every .proto file under proto/ with the
# generator pinned in tools/go.mod (protocompile and protoc-gen-go): it needs
# Go and nothing else, and gives the same bytes on every machine.
#
# Usage: scripts/generate.sh [-check]
#
# -check writes nothing in the tree: it generates into a temporary directory
# and fails, printing the diff, if the committed code differs from what the
# .proto files give.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
module=github.com/ego-contrib/offsetstore

out=$root
if [ "${1-}" = -check ]; then
	out=$(mktemp -d)
	trap 'rm -rf "$out"' EXIT
elif [ $# -ne 0 ]; then
	echo "usage: scripts/generate.sh [-check]" >&2
	exit 2
fi

plugin=$(go -C "$root/tools" tool -n protoc-gen-go)
go -C "$root/tools" tool protogen -plugin "$plugin" -proto "$root/proto" -module "$module" -out "$out"
[ "$out" = "$root" ] && exit 0

# Compare both ways: a stale file, and a committed .pb.go whose .proto is gone.
generated=$(cd "$out" && find . -name '*.pb.go' | sort)
committed=$(cd "$root" && find . -path ./tools -prune -o -name '*.pb.go' -print | sort)
stale=0
for f in $generated; do
	diff -u "$root/$f" "$out/$f" || stale=1
done
for f in $committed; do
	[ -f "$out/$f" ] || { echo "$f: no .proto under proto/ generates it" >&2; stale=1; }
done
if [ $stale -ne 0 ]; then
	echo "generated code is stale: run scripts/generate.sh and commit the result" >&2
	exit 1
fi
