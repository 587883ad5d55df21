#!/bin/sh
# Tests scripts/with-postgres.sh: CMD's exit status is the script's, the
# server and its PgBouncer answer at the URLs exported, the server starts whatever the temporary directory's path (spaces, a path
# too long for a Unix socket, one the server's user cannot reach when run
# as root), and it is stopped and its directory removed when CMD ends and
# when the script is killed, and so is PgBouncer. Each case starts a server.
# scripts/test.sh runs this; it needs PostgreSQL's server binaries and
# ignores OFFSETSTORE_POSTGRES_URL.
set -eu
cd "$(dirname "$0")/.."
unset OFFSETSTORE_POSTGRES_URL
script=$PWD/scripts/with-postgres.sh
failed=0
fail() {
	echo "with-postgres-test.sh: $*" >&2
	failed=1
}

# serverOf prints the data directory the script reported in log $1.
serverOf() {
	sed -n 's/.*data in \(.*\)$/\1/p' "$1"
}

# gone checks that no server runs on data directory $1, nor PgBouncer
# beside it, and that $1's parent is removed.
gone() {
	[ "$1" != /data ] || return 0
	if pgrep -f -- "-D $1" >/dev/null 2>&1; then
		fail "a server still runs on $1 after the script ended"
	fi
	if pgrep -f -- "$(dirname "$1")/pgbouncer.ini" >/dev/null 2>&1; then
		fail "PgBouncer still runs for $1 after the script ended"
	fi
	if [ -e "$(dirname "$1")" ]; then
		fail "$(dirname "$1") is still there after the script ended"
	fi
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Run as root, the script runs the server as another user, who must reach
# the directories below.
chmod 755 "$work"

# The exit status of CMD, and URLs that answer (asked with psql where
# there is one): the server's, and PgBouncer's where there is PgBouncer.
status=0
"$script" sh -c '[ -n "$OFFSETSTORE_POSTGRES_URL" ] || exit 9
if [ -n "$(scripts/pgbouncer-path.sh)" ]; then
	[ -n "${OFFSETSTORE_PGBOUNCER_URL:-}" ] || exit 8
fi
if command -v psql >/dev/null 2>&1; then
	psql "$OFFSETSTORE_POSTGRES_URL" -Atc "SELECT 1" >/dev/null 2>&1 || exit 9
	if [ -n "${OFFSETSTORE_PGBOUNCER_URL:-}" ]; then
		psql "$OFFSETSTORE_PGBOUNCER_URL" -Atc "SELECT 1" >/dev/null 2>&1 || exit 8
	fi
fi
exit 3' 2>"$work/log" || status=$?
if [ "$status" != 3 ]; then
	fail "with-postgres.sh sh -c '...; exit 3' exited $status; want 3 (9: the server did not answer at the URL; 8: PgBouncer did not)"
	cat "$work/log" >&2
fi
gone "$(serverOf "$work/log")/data"

# TMPDIR with a space, and one so long that a Unix socket in it could not
# be named (the limit is 107 bytes).
long=$(printf 'd%.0s' $(seq 100))
for tmp in "$work/with space" "$work/$long"; do
	mkdir -p "$tmp"
	status=0
	TMPDIR=$tmp "$script" true 2>"$work/log" || status=$?
	if [ "$status" != 0 ]; then
		fail "TMPDIR='$tmp' with-postgres.sh true exited $status; want 0"
		cat "$work/log" >&2
	fi
	gone "$(serverOf "$work/log")/data"
done

# Run as root, the script runs the server as another user, who may not
# reach TMPDIR (a directory under /root, say): the cluster goes in /tmp
# instead, and the script says so.
if [ "$(id -u)" = 0 ]; then
	private=$work/private
	mkdir -m 700 "$private"
	status=0
	TMPDIR=$private "$script" true 2>"$work/log" || status=$?
	data=$(serverOf "$work/log")
	if [ "$status" != 0 ]; then
		fail "TMPDIR='$private' (root's, mode 700) with-postgres.sh true exited $status; want 0, with the cluster in /tmp"
		cat "$work/log" >&2
	else
		case $data in
		/tmp/offsetstore-postgres.*) ;;
		*) fail "TMPDIR='$private' (root's, mode 700): the cluster was in '$data'; want it in /tmp" ;;
		esac
		if ! grep -q "cannot reach TMPDIR" "$work/log"; then
			fail "TMPDIR='$private' (root's, mode 700): the script did not say it used /tmp instead:"
			cat "$work/log" >&2
		fi
	fi
	gone "$data/data"
fi

# Killed while CMD runs: CMD is stopped, then the server, and the
# directory removed.
"$script" sleep 600 2>"$work/log" &
pid=$!
tries=0
until [ -n "$(serverOf "$work/log")" ] || [ "$tries" -ge 600 ]; do
	sleep 0.1
	tries=$((tries + 1))
done
data=$(serverOf "$work/log")/data
status=0
kill -s TERM "$pid"
wait "$pid" || status=$?
if [ "$status" != 143 ]; then
	fail "with-postgres.sh sleep 600, sent SIGTERM, exited $status; want 143"
fi
gone "$data"

exit "$failed"
