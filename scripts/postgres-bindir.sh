#!/bin/sh
# Prints the directory of the newest PostgreSQL server binaries (initdb and
# pg_ctl) found on this machine, or nothing. scripts/with-postgres.sh starts
# its server from there, and .ci/run installs the server when there is
# nothing to print, so that both look in the same places.
set -eu

if command -v pg_config >/dev/null 2>&1; then
	dir=$(pg_config --bindir 2>/dev/null || true)
	if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
		echo "$dir"
		exit 0
	fi
fi
# Debian and Ubuntu keep each major version apart and put no server
# binary on PATH; take the highest version.
best= bestv=0
for dir in /usr/lib/postgresql/*/bin; do
	[ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] || continue
	v=$(basename "$(dirname "$dir")")
	case $v in *[!0-9]*) v=0 ;; esac
	if [ -z "$best" ] || [ "$v" -gt "$bestv" ]; then
		best=$dir bestv=$v
	fi
done
if [ -n "$best" ]; then
	echo "$best"
	exit 0
fi
if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
	dirname "$(command -v initdb)"
fi
