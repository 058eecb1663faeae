#!/usr/bin/env bash
# Time to first run: from a fresh clone, with an empty Go build cache and an
# empty module cache, to the first successful `tollgate-client validate` of a
# demo key. The steps are those of the README's quick start (`make run`, then
# the client's activate and validate from another terminal), with the two
# `go run`s split into `go build` and a start of the binary so that each step
# has its own time and the gateway has a pid to stop.
#
#   deploy/first-run.sh [REPO]     REPO: what to clone (default: this checkout)
#
# Environment: CGO_ENABLED as for go (unset: Go's default, cgo when a C
# compiler is found); COMPARE_CGO=1 also times a cold build of the gateway
# with cgo and without it (Pebble's DataDog/zstd is C; without cgo Pebble
# uses klauspost/compress's pure-Go zstd). Uses loopback only; stops what it
# starts and removes its temporary directories.
set -euo pipefail

src=${1:-$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)}
work=$(mktemp -d)
gw_pid=
cleanup() {
	if [ -n "$gw_pid" ] && kill -0 "$gw_pid" 2>/dev/null; then
		kill -TERM "$gw_pid"
		wait "$gw_pid" 2>/dev/null || true
	fi
	# The module cache is read-only by design; go clean removes it.
	if [ -d "$work/modcache" ]; then
		GOMODCACHE="$work/modcache" go clean -modcache 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

export GOCACHE="$work/gocache" GOMODCACHE="$work/modcache" GOFLAGS=-mod=mod
mkdir -p "$GOCACHE" "$GOMODCACHE"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
total_start=$(now)
step_start=$total_start
step() { # step NAME: print the time since the previous step
	local t
	t=$(now)
	printf '%-42s %7.1f s\n' "$1" "$(elapsed "$step_start" "$t")"
	step_start=$t
}

echo "time to first run: $(go version), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), CGO_ENABLED=$(go env CGO_ENABLED)"

git clone --quiet "$src" "$work/clone"
cd "$work/clone"
step "clone"

# What `go run` of the two commands downloads, without compiling.
go list -deps ./gateway/cmd/tollgate ./clients/cmd/tollgate-client >/dev/null
step "download modules (empty module cache)"

mkdir -p "$work/bin"
go build -o "$work/bin/tollgate" ./gateway/cmd/tollgate
step "compile tollgate (empty build cache)"

# A free UDP port on loopback: the card written on first run names it.
port=
for _ in $(seq 1 50); do
	p=$((20000 + RANDOM % 30000))
	if ! ss -Huln "sport = :$p" 2>/dev/null | grep -q .; then
		port=$p
		break
	fi
done
[ -n "$port" ] || { echo "first-run: no free UDP port found" >&2; exit 1; }

data="$work/data"
"$work/bin/tollgate" run --data "$data" --listen "127.0.0.1:$port" >"$work/gateway.log" 2>&1 &
gw_pid=$!
for _ in $(seq 1 600); do
	grep -q "gateway listening" "$work/gateway.log" && break
	kill -0 "$gw_pid" 2>/dev/null || { cat "$work/gateway.log" >&2; exit 1; }
	sleep 0.1
done
grep -q "gateway listening" "$work/gateway.log" || { echo "first-run: the gateway did not start in 60 s" >&2; cat "$work/gateway.log" >&2; exit 1; }
step "tollgate run: init with demo keys, listen"

go build -o "$work/bin/tollgate-client" ./clients/cmd/tollgate-client
step "compile tollgate-client"

key=$(head -1 "$data/demo-keys.txt")
"$work/bin/tollgate-client" --card "$data/server.card" --state "$work/client" activate "$key" >/dev/null
step "tollgate-client activate"

"$work/bin/tollgate-client" --card "$data/server.card" --state "$work/client" validate
step "tollgate-client validate"

total=$(elapsed "$total_start" "$(now)")
printf '%-42s %7.1f s\n' "total" "$total"

kill -TERM "$gw_pid"
wait "$gw_pid" || { echo "first-run: the gateway did not stop cleanly" >&2; cat "$work/gateway.log" >&2; exit 1; }
gw_pid=

if [ "${COMPARE_CGO:-0}" = 1 ]; then
	echo "cold builds of the gateway (the module cache kept, each with an empty build cache):"
	for cgo in 1 0; do
		t0=$(now)
		GOCACHE="$work/gocache-cgo$cgo" CGO_ENABLED=$cgo go build -o "$work/bin/tollgate-cgo$cgo" ./gateway/cmd/tollgate
		printf '  CGO_ENABLED=%s %27s %7.1f s\n' "$cgo" "" "$(elapsed "$t0" "$(now)")"
	done
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
