#!/usr/bin/env bash
# CI's check of the deployment files (.ci/run calls it before make test):
#  1. shellcheck of deploy/'s scripts (when shellcheck is installed);
#  2. the files agree: the unit's binary is what the .deb installs, the
#     Dockerfile's Go is go.mod's, every file the Dockerfile copies exists;
#  3. make dist: every expected file, sha256sum -c, each binary's GOOS,
#     GOARCH and CGO_ENABLED=0, and the .deb's info and contents if built;
#  4. every tollgate command line in the unit, the Dockerfile and the
#     entrypoint names a real subcommand and only flags its --help lists;
#  5. systemd-analyze verify of the unit (any warning fails) and its
#     security exposure (systemd-analyze security --offline);
#  6. the image's entrypoint with the real binary: refuses a first start
#     without TOLLGATE_ADDR, initialises, serves, answers the HEALTHCHECK,
#     stops cleanly on SIGTERM, starts again without initialising again;
#  7. the Dockerfile's build stage without Docker (deploy/build-stage.sh).
# Whatever cannot run here says so in one line starting "skipped:".
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}

tmp=$(mktemp -d)
gw_pid=
cleanup() {
	if [ -n "$gw_pid" ] && kill -0 "$gw_pid" 2>/dev/null; then
		kill -TERM "$gw_pid"
		wait "$gw_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "deploy/check.sh: FAIL: $*" >&2
	exit 1
}
section() { echo "== $*"; }

unit=deploy/tollgate.service

section "1. shellcheck"
scripts=(deploy/*.sh deploy/deb/*.sh)
if command -v shellcheck >/dev/null; then
	shellcheck "${scripts[@]}" || fail "shellcheck"
	echo "ok: shellcheck ${scripts[*]}"
else
	echo "skipped: shellcheck is not installed (apt-get install shellcheck)"
fi
for s in "${scripts[@]}"; do
	[ -x "$s" ] || fail "$s is not executable"
done

section "2. the files agree"
unit_bin=$(sed -n 's/^ExecStart=\([^ ]*\) .*/\1/p' "$unit")
[ "$unit_bin" = /usr/bin/tollgate ] || fail "$unit: ExecStart runs $unit_bin, not /usr/bin/tollgate"
grep -q "^    dst: $unit_bin\$" deploy/nfpm.yaml || fail "deploy/nfpm.yaml does not install the binary at $unit_bin, where the unit runs it"
grep -q '^    dst: /usr/lib/systemd/system/tollgate.service$' deploy/nfpm.yaml || fail "deploy/nfpm.yaml does not install the unit"
grep -q '^User=tollgate$' "$unit" || fail "$unit: not User=tollgate"
grep -q '^u tollgate ' deploy/tollgate.sysusers || fail "deploy/tollgate.sysusers does not make the user tollgate"
grep -q '^StateDirectoryMode=0700$' "$unit" || fail "$unit: the data directory must be 0700"
while read -r src; do
	[ -e "$src" ] || fail "deploy/nfpm.yaml packages $src, which does not exist"
done < <(sed -n 's/^  - src: \(deploy\/.*\)/\1/p; s/^  [a-z]*: \(deploy\/.*\)/\1/p' deploy/nfpm.yaml)
gomod=$(sed -n 's/^go \([0-9.]*\)$/\1/p' go.mod)
from=$(sed -n 's/^FROM golang:\([^ ]*\) AS build$/\1/p' deploy/Dockerfile)
[ "$from" = "$gomod" ] || fail "deploy/Dockerfile builds with golang:$from, go.mod says go $gomod"
while read -r src; do
	[ -e "$src" ] || fail "deploy/Dockerfile copies $src, which does not exist"
done < <(awk '$1 == "COPY" && $2 !~ /^--/ { for (i = 2; i < NF; i++) if ($i != ".") print $i }' deploy/Dockerfile)
echo "ok: unit, nfpm.yaml, sysusers, Dockerfile (golang:$from = go.mod's go $gomod)"

section "3. make dist"
version=checkci
make --no-print-directory dist GO="$GO" DIST="$tmp/dist" VERSION="$version"
dist=$tmp/dist
expect=()
for c in tollgate-client tollgate-shop; do
	expect+=("${c}_${version}_linux_amd64" "${c}_${version}_linux_arm64" "${c}_${version}_windows_amd64.exe")
done
expect+=("tollgate_${version}_linux_amd64" "tollgate_${version}_linux_arm64")
for f in "${expect[@]}" SHA256SUMS; do
	[ -s "$dist/$f" ] || fail "make dist did not make $f"
done
for f in "${expect[@]}"; do
	grep -q "  $f\$" "$dist/SHA256SUMS" || fail "SHA256SUMS does not list $f"
	info=$("$GO" version -m "$dist/$f")
	want_os=$(echo "$f" | sed -E 's/.*_(linux|windows)_(amd64|arm64)(\.exe)?$/\1/')
	want_arch=$(echo "$f" | sed -E 's/.*_(linux|windows)_(amd64|arm64)(\.exe)?$/\2/')
	grep -q "GOOS=$want_os\$" <<<"$info" || fail "$f is not built for $want_os"
	grep -q "GOARCH=$want_arch\$" <<<"$info" || fail "$f is not built for $want_arch"
	grep -q "CGO_ENABLED=0\$" <<<"$info" || fail "$f is not static (CGO_ENABLED=0)"
	grep -q -- '-trimpath=true$' <<<"$info" || fail "$f is not built with -trimpath"
done
(cd "$dist" && sha256sum --quiet -c SHA256SUMS) || fail "SHA256SUMS does not verify"
echo "ok: ${#expect[@]} binaries, SHA256SUMS verifies"
debs=("$dist"/*.deb)
if [ -e "${debs[0]}" ]; then
	[ "${#debs[@]}" = 2 ] || fail "expected 2 .deb files, found ${#debs[@]}"
	for deb in "${debs[@]}"; do
		grep -q "  $(basename "$deb")\$" "$dist/SHA256SUMS" || fail "SHA256SUMS does not list $(basename "$deb")"
		dpkg-deb --info "$deb" >"$tmp/info" || fail "dpkg-deb --info $deb"
		dpkg-deb --contents "$deb" >"$tmp/contents" || fail "dpkg-deb --contents $deb"
		grep -q '^ Package: tollgate$' "$tmp/info" || fail "$deb: not package tollgate"
		grep -q '^ Version: 0\.0\.0~gitcheckci$' "$tmp/info" || fail "$deb: version is not 0.0.0~gitcheckci"
		for s in postinst prerm postrm conffiles; do
			grep -qw "$s" "$tmp/info" || fail "$deb has no $s"
		done
		for f in ./usr/bin/tollgate ./usr/lib/systemd/system/tollgate.service ./usr/lib/sysusers.d/tollgate.conf ./etc/default/tollgate; do
			grep -q " $f\$" "$tmp/contents" || fail "$deb does not install $f"
		done
		grep -q '^-rwxr-xr-x .* \./usr/bin/tollgate$' "$tmp/contents" || fail "$deb: /usr/bin/tollgate is not 0755"
		echo "ok: $(basename "$deb"): $(sed -n 's/^ Architecture: //p' "$tmp/info"), installs the binary, the unit, the user, /etc/default/tollgate"
	done
else
	echo "skipped: no .deb (make dist said why above)"
fi

# The binary of this machine, for the checks that run it.
tollgate=$dist/tollgate_${version}_linux_$("$GO" env GOARCH)
[ -x "$tollgate" ] || fail "no gateway binary for this machine's GOARCH in $dist"

section "4. command lines against --help"
# check_line WHERE LINE: LINE's `tollgate SUB --flag ...` against SUB --help.
check_line() {
	local where=$1 line=$2 sub rest flag help
	line=$(tr -d '",[]' <<<"$line")
	local re='(^|[[:space:]/])tollgate +([a-z]+)(.*)'
	[[ $line =~ $re ]] || fail "$where: no tollgate command in: $line"
	sub=${BASH_REMATCH[2]}
	rest=${BASH_REMATCH[3]}
	rest=${rest%%[;\']*}
	case $sub in init | card | serve | run | stats | audit | product | shop | license | keys) ;;
	*) fail "$where: tollgate $sub is not a tollgate command" ;;
	esac
	help=$("$tollgate" "$sub" --help 2>&1) || fail "$where: tollgate $sub --help failed"
	while read -r flag; do
		grep -qE -- "^  -${flag#--}( |\$)" <<<"$help" || fail "$where: tollgate $sub has no flag $flag (tollgate $sub --help)"
	done < <(grep -oE -- '--[a-z][a-z-]*' <<<"$rest" | sort -u)
	echo "ok: $where: tollgate $sub $(grep -oE -- '--[a-z][a-z-]*' <<<"$rest" | sort -u | tr '\n' ' ')"
}
n=0
while IFS= read -r line; do
	check_line "$unit" "$line"
	n=$((n + 1))
done < <(grep -E '^Exec[A-Za-z]*=' "$unit" | grep -oE '/usr/bin/tollgate [^;]*')
[ "$n" = 2 ] || fail "$unit: expected 2 tollgate command lines (init, serve), found $n"
while IFS= read -r line; do
	check_line deploy/docker-entrypoint.sh "$line"
done < <(grep -E '^[[:space:]]*(exec )?tollgate (init|serve|stats)' deploy/docker-entrypoint.sh)
grep -A1 '^HEALTHCHECK' deploy/Dockerfile | grep -q 'CMD \["/usr/local/bin/docker-entrypoint.sh", "health"\]' ||
	fail "deploy/Dockerfile: the HEALTHCHECK is not the entrypoint's health (which check.sh tests)"

section "5. systemd-analyze"
if command -v systemd-analyze >/dev/null; then
	# verify checks that ExecStart's binary exists: the copy runs the one
	# just built, and /bin/sh (ExecStartPre).
	[ -x /bin/sh ] || fail "no /bin/sh for ExecStartPre"
	sed "s#/usr/bin/tollgate#$tollgate#g" "$unit" >"$tmp/tollgate.service"
	if ! out=$(systemd-analyze verify --man=no "$tmp/tollgate.service" 2>&1); then
		fail "systemd-analyze verify $unit: $out"
	fi
	# Warnings about other units on this machine are not ours.
	if grep -q 'tollgate\.service' <<<"$out"; then
		fail "systemd-analyze verify $unit warns: $out"
	fi
	[ -z "$out" ] || echo "note: systemd-analyze verify, about other units: $out"
	echo "ok: systemd-analyze verify $unit"
	if out=$(systemd-analyze security --offline=yes --threshold=25 "$tmp/tollgate.service" 2>&1); then
		echo "ok: systemd-analyze security: $(grep -o 'Overall exposure level.*' <<<"$out")"
	else
		fail "systemd-analyze security $unit: $(grep -o 'Overall exposure level.*' <<<"$out") (threshold 2.5): $out"
	fi
else
	echo "skipped: systemd-analyze is not installed (Debian package systemd), $unit not verified"
fi

section "6. the image's entrypoint with the real binary"
mkdir -p "$tmp/bin" "$tmp/data"
chmod 700 "$tmp/data"
ln -s "$tollgate" "$tmp/bin/tollgate"
port=
for _ in $(seq 1 50); do
	p=$((20000 + RANDOM % 30000))
	if ! ss -Huln "sport = :$p" 2>/dev/null | grep -q .; then
		port=$p
		break
	fi
done
[ -n "$port" ] || fail "no free UDP port"
# entry [NAME=VALUE]... [-- ARG...]: the entrypoint as the image runs it.
# entry_cmd sets cmd to the same command line, to start in the background
# as a simple command: its pid is then the gateway's (env and the
# entrypoint exec).
entry_cmd() {
	local vars=()
	while [ "$#" -gt 0 ] && [ "$1" != -- ]; do
		vars+=("$1")
		shift
	done
	[ "$#" -gt 0 ] && shift
	cmd=(env PATH="$tmp/bin:$PATH" TOLLGATE_DATA="$tmp/data" TOLLGATE_LISTEN="127.0.0.1:$port" "${vars[@]}" ./deploy/docker-entrypoint.sh "$@")
}
entry() {
	entry_cmd "$@"
	"${cmd[@]}"
}
if entry TOLLGATE_ADDR= >"$tmp/log" 2>&1; then
	fail "the entrypoint started without TOLLGATE_ADDR"
fi
grep -q 'set TOLLGATE_ADDR' "$tmp/log" || fail "the entrypoint did not say to set TOLLGATE_ADDR: $(cat "$tmp/log")"
[ ! -e "$tmp/data/server.card" ] || fail "the entrypoint wrote a card without TOLLGATE_ADDR"
for start in first second; do
	entry_cmd TOLLGATE_ADDR="127.0.0.1:$port"
	"${cmd[@]}" >"$tmp/log" 2>&1 &
	gw_pid=$!
	healthy=
	for _ in $(seq 1 300); do
		kill -0 "$gw_pid" 2>/dev/null || fail "the gateway exited on its $start start: $(cat "$tmp/log")"
		if entry -- health >/dev/null 2>&1; then
			healthy=yes
			break
		fi
		sleep 0.2
	done
	[ -n "$healthy" ] || fail "the HEALTHCHECK (entrypoint health) did not pass within 60 s of the $start start: $(cat "$tmp/log")"
	grep -q "127.0.0.1:$port" "$tmp/data/server.card" || fail "the card does not hold TOLLGATE_ADDR"
	if [ "$start" = second ] && grep -q '^initialised' "$tmp/log"; then
		fail "the entrypoint initialised again on the second start"
	fi
	kill -TERM "$gw_pid"
	wait "$gw_pid" || fail "the gateway did not exit 0 on SIGTERM: $(cat "$tmp/log")"
	gw_pid=
	grep -q 'stopped cleanly' "$tmp/log" || fail "no 'stopped cleanly' after SIGTERM: $(cat "$tmp/log")"
	echo "ok: $start start: serves, HEALTHCHECK passes, SIGTERM stops it cleanly"
done
if entry -- health >/dev/null 2>&1; then
	fail "the HEALTHCHECK passes with no gateway running"
fi
echo "ok: the HEALTHCHECK fails when the gateway is not running"

section "7. the Dockerfile's build stage, without Docker"
bash deploy/build-stage.sh --keep "$tmp/stage"
info=$("$GO" version -m "$tmp/stage/src/out/tollgate")
grep -q 'CGO_ENABLED=0$' <<<"$info" || fail "the build stage's tollgate is not static"
echo "ok: the build stage makes a static tollgate"

echo "deploy/check.sh: all deployment checks passed"
