#!/bin/sh
# with-postgres.sh runs a command with a PostgreSQL server for the tests.
#
# Usage: scripts/with-postgres.sh CMD [ARGS...]
#
# When OFFSETSTORE_POSTGRES_URL is set, CMD runs as it is, against that
# server. Otherwise the script starts a throwaway cluster: initdb in a new
# temporary directory, a server on a free port of 127.0.0.1 only, with
# fsync left on so that commits cost what they cost in production. It then
# runs CMD with OFFSETSTORE_POSTGRES_URL pointing at it and
# OFFSETSTORE_POSTGRES_REQUIRED=1, so that a PostgreSQL test that would
# skip fails instead, and on any exit stops the server and removes the
# directory. CMD's exit status is the script's.
#
# In front of that server it starts a throwaway PgBouncer, when there is
# one (scripts/pgbouncer-path.sh), with PgBouncer's defaults but for
# transaction pooling, and exports its URL as OFFSETSTORE_PGBOUNCER_URL.
# It also exports OFFSETSTORE_POSTGRES_BINDIR, the server binaries it
# used, and OFFSETSTORE_POSTGRES_CLUSTERS, a directory in which tests may
# start clusters of their own (the failover test does), as the user that
# runs the server; clusters left running there are stopped on exit.
#
# PostgreSQL refuses to run as root: run as root, the script runs the
# server as the postgres system user if there is one, else as nobody, and
# puts the cluster in /tmp if that user cannot reach $TMPDIR.
set -eu

usage() {
	echo "usage: $0 CMD [ARGS...]" >&2
	exit 2
}
[ "$#" -gt 0 ] || usage

if [ -n "${OFFSETSTORE_POSTGRES_URL:-}" ]; then
	exec "$@"
fi

bin=$("$(dirname "$0")/postgres-bindir.sh")
if [ -z "$bin" ]; then
	cat >&2 <<'EOF'
with-postgres.sh: no PostgreSQL server binaries found (initdb, pg_ctl), and
OFFSETSTORE_POSTGRES_URL is not set. Either install the server:
  Debian, Ubuntu:  apt-get install postgresql
  Fedora:          dnf install postgresql-server
  Alpine:          apk add postgresql
  macOS:           brew install postgresql@17
or point the tests at a server you run, for example:
  OFFSETSTORE_POSTGRES_URL='postgres://user:password@localhost:5432/db?sslmode=disable'
EOF
	exit 1
fi

# as runs a command as the user that owns the cluster.
user=
if [ "$(id -u)" = 0 ]; then
	if id postgres >/dev/null 2>&1; then
		user=postgres
	else
		user=nobody
	fi
fi
as() {
	if [ -z "$user" ]; then
		"$@"
	elif command -v runuser >/dev/null 2>&1; then
		runuser -u "$user" -- "$@"
	elif command -v setpriv >/dev/null 2>&1; then
		setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups -- "$@"
	else
		echo "with-postgres.sh: running as root, and neither runuser nor setpriv is there to run PostgreSQL as $user" >&2
		exit 1
	fi
}

dir=$(mktemp -d "${TMPDIR:-/tmp}/offsetstore-postgres.XXXXXX")
started=
bouncer=
cleanup() {
	status=$?
	trap - EXIT INT TERM HUP
	if [ -n "$bouncer" ]; then
		# A signal may come while PgBouncer starts, before it has written
		# its pid: wait for the pid, or for PgBouncer to have given up.
		tries=0
		while [ ! -s "$dir/pgbouncer.pid" ] && [ "$tries" -lt 50 ] &&
			! grep -q FATAL "$dir/pgbouncer.log" 2>/dev/null; do
			sleep 0.1
			tries=$((tries + 1))
		done
	fi
	if [ -s "$dir/pgbouncer.pid" ]; then
		pid=$(cat "$dir/pgbouncer.pid")
		kill "$pid" 2>/dev/null || true
		# SIGTERM stops PgBouncer at once, but not before kill returns:
		# wait, so that nothing of it outlives the script.
		tries=0
		while kill -0 "$pid" 2>/dev/null && [ "$tries" -lt 50 ]; do
			sleep 0.1
			tries=$((tries + 1))
		done
	fi
	# Clusters a test left running, killed before its cleanup ran.
	for data in "$dir"/clusters/*/data; do
		if [ -f "$data/postmaster.pid" ]; then
			as "$bin/pg_ctl" stop -D "$data" -m immediate -s >/dev/null 2>&1 || true
		fi
	done
	if [ -n "$started" ]; then
		as "$bin/pg_ctl" stop -D "$dir/data" -m fast -s >/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
	exit "$status"
}
trap cleanup EXIT
# Until CMD runs, a signal just ends the script (and cleanup runs).
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -n "$user" ]; then
	chown "$user" "$dir"
	# $user must reach the directory through every parent, which a TMPDIR
	# under /root, say, forbids: then use /tmp, which every user reaches.
	if ! as test -w "$dir"; then
		base=${TMPDIR:-/tmp}
		rmdir "$dir"
		dir=$(mktemp -d /tmp/offsetstore-postgres.XXXXXX)
		chown "$user" "$dir"
		if ! as test -w "$dir"; then
			echo "with-postgres.sh: running as root, the server runs as $user, who cannot reach TMPDIR ($base), nor $dir in /tmp: give $user access to one, or set TMPDIR to a directory $user can write to" >&2
			exit 1
		fi
		echo "with-postgres.sh: $user, who runs the server, cannot reach TMPDIR ($base): the cluster goes in /tmp instead" >&2
	fi
fi

# --no-sync only skips initdb's own flush of the new cluster to disk, which
# a throwaway cluster does not need; the server keeps fsync on.
if ! as "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1; then
	# Not every system has the C.UTF-8 locale.
	if ! as "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1; then
		echo "with-postgres.sh: initdb failed:" >&2
		cat "$dir/initdb.log" >&2
		exit 1
	fi
fi

# POSIX sh cannot ask the kernel for a free port, so try random ones
# until the server binds one. The tests connect over TCP: the server
# listens on no Unix socket, whose path pg_ctl would split at a space in
# $TMPDIR and the kernel refuses beyond 107 bytes.
port=
for try in 1 2 3 4 5 6 7 8 9 10; do
	candidate=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000 ))
	if as "$bin/pg_ctl" start -D "$dir/data" -w -t 60 -s -l "$dir/server.log" \
		-o "-c listen_addresses=127.0.0.1 -p $candidate -c unix_socket_directories=" >/dev/null 2>&1; then
		port=$candidate
		started=1
		break
	fi
	if ! grep -q 'could not bind\|already in use' "$dir/server.log" 2>/dev/null; then
		break
	fi
	: >"$dir/server.log"
done
if [ -z "$port" ]; then
	echo "with-postgres.sh: the PostgreSQL server did not start:" >&2
	cat "$dir/server.log" >&2 2>/dev/null || true
	exit 1
fi

OFFSETSTORE_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
OFFSETSTORE_POSTGRES_REQUIRED=1
OFFSETSTORE_POSTGRES_BINDIR=$bin
OFFSETSTORE_POSTGRES_CLUSTERS=$dir/clusters
mkdir "$OFFSETSTORE_POSTGRES_CLUSTERS"
[ -z "$user" ] || chown "$user" "$OFFSETSTORE_POSTGRES_CLUSTERS"
export OFFSETSTORE_POSTGRES_URL OFFSETSTORE_POSTGRES_REQUIRED OFFSETSTORE_POSTGRES_BINDIR OFFSETSTORE_POSTGRES_CLUSTERS

# PgBouncer, in transaction pooling mode and otherwise as it comes: the
# pooler tests check that the store needs no setting of it. It too
# refuses to run as root. auth_type trust still wants every user named in
# auth_file.
pgbouncer=$("$(dirname "$0")/pgbouncer-path.sh")
if [ -z "$pgbouncer" ]; then
	echo "with-postgres.sh: no PgBouncer found (Debian, Ubuntu: apt-get install pgbouncer): OFFSETSTORE_PGBOUNCER_URL is not set, and the pooler tests fail" >&2
else
	echo '"postgres" ""' >"$dir/userlist.txt"
	bport=
	for try in 1 2 3 4 5 6 7 8 9 10; do
		candidate=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000 ))
		[ "$candidate" != "$port" ] || continue
		cat >"$dir/pgbouncer.ini" <<EOF
[databases]
* = host=127.0.0.1 port=$port
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $candidate
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
EOF
		: >"$dir/pgbouncer.log"
		[ -z "$user" ] || chown "$user" "$dir/pgbouncer.log"
		# With -d PgBouncer returns before it binds its port: its log says
		# how that went.
		bouncer=1
		as "$pgbouncer" -d -q "$dir/pgbouncer.ini" >/dev/null 2>&1 || true
		tries=0
		until grep -q 'process up\|FATAL' "$dir/pgbouncer.log" || [ "$tries" -ge 100 ]; do
			sleep 0.1
			tries=$((tries + 1))
		done
		if grep -q 'process up' "$dir/pgbouncer.log"; then
			bport=$candidate
			break
		fi
		grep -q 'Address already in use' "$dir/pgbouncer.log" || break
	done
	if [ -z "$bport" ]; then
		echo "with-postgres.sh: PgBouncer did not start:" >&2
		cat "$dir/pgbouncer.log" >&2
		exit 1
	fi
	OFFSETSTORE_PGBOUNCER_URL="postgres://postgres@127.0.0.1:$bport/postgres?sslmode=disable"
	export OFFSETSTORE_PGBOUNCER_URL
fi
echo "with-postgres.sh: $("$bin/postgres" --version) on 127.0.0.1:$port, data in $dir" >&2
if [ -n "${bport:-}" ]; then
	echo "with-postgres.sh: $("$pgbouncer" --version | head -n 1) on 127.0.0.1:$bport, transaction pooling" >&2
fi

# CMD runs in the background so that a signal to the script is handled at
# once (sh runs traps only between commands) and passed on. A background
# command ignores SIGINT, so CMD gets SIGTERM whatever the signal was. Its
# standard input would be /dev/null: give it the script's, through fd 3.
set +e
exec 3<&0
"$@" <&3 3<&- &
child=$!
stop() {
	kill -s TERM "$child" 2>/dev/null
	wait "$child"
	exit "$1"
}
trap 'stop 129' HUP
trap 'stop 130' INT
trap 'stop 143' TERM
wait "$child"
exit $?
