#!/bin/sh
# The image's entrypoint.
#   serve (the default command): initialise /data on the first start with
#     TOLLGATE_ADDR as the card's address, then serve on TOLLGATE_LISTEN;
#     exec: tollgate becomes PID 1 and gets docker stop's SIGTERM.
#   health: the HEALTHCHECK. `tollgate stats` asks the running gateway over
#     its admin socket; it is run only once the socket exists, as on a
#     stopped gateway it opens the store itself, and the store's lock would
#     then make a gateway that is starting fail.
#   anything else: a tollgate command (`docker run ... IMAGE card --data /data`).
# TOLLGATE_DATA (default /data) is for tests.
set -eu
data=${TOLLGATE_DATA:-/data}
case "${1:-serve}" in
serve)
	[ "$#" -gt 0 ] && shift
	if [ ! -e "$data/server.card" ]; then
		if [ -z "${TOLLGATE_ADDR:-}" ]; then
			echo "tollgate: set TOLLGATE_ADDR=HOST:PORT (the public address apps dial; docker run -e TOLLGATE_ADDR=...) for the first start" >&2
			exit 1
		fi
		tollgate init --data "$data" --addr "$TOLLGATE_ADDR"
	fi
	exec tollgate serve --data "$data" --listen "${TOLLGATE_LISTEN:-0.0.0.0:7443}" "$@"
	;;
health)
	[ -S "$data/run/admin.sock" ] || { echo "no admin socket: the gateway is not serving" >&2; exit 1; }
	exec tollgate stats --data "$data" >/dev/null
	;;
esac
exec tollgate "$@"
