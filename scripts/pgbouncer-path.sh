#!/bin/sh
# Prints the path of the PgBouncer binary found on this machine, or
# nothing. scripts/with-postgres.sh starts its pooler from there, and
# .ci/run installs PgBouncer when there is nothing to print, so that both
# look in the same places.
set -eu

if command -v pgbouncer >/dev/null 2>&1; then
	command -v pgbouncer
	exit 0
fi
# Debian and Ubuntu install it in /usr/sbin, which a user's PATH may lack.
for path in /usr/sbin/pgbouncer /usr/local/sbin/pgbouncer /usr/local/bin/pgbouncer; do
	if [ -x "$path" ]; then
		echo "$path"
		exit 0
	fi
done
