#!/usr/bin/env bash
# make dist: release artefacts in DIST (default dist/), which it replaces.
#   tollgate_VERSION_linux_{amd64,arm64}                 the gateway
#   tollgate-client_VERSION_{linux_amd64,linux_arm64,windows_amd64.exe}
#   tollgate-shop_VERSION_...                            the same three
#   tollgate_DEBVERSION_{amd64,arm64}.deb                the gateway, its systemd unit and user
#   SHA256SUMS                                           sha256sum -c SHA256SUMS
# All static (CGO_ENABLED=0), -trimpath, -ldflags "-s -w". The .deb is built
# with nfpm from the Go module proxy; when it cannot be fetched, dist says
# so in one line and goes on without it.
#
# Environment: GO (go), DIST (dist), VERSION (git describe --tags --always
# --dirty), NFPM_VERSION (v2.45.2).
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
DIST=${DIST:-dist}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
NFPM_VERSION=${NFPM_VERSION:-v2.45.2}

rm -rf "$DIST"
mkdir -p "$DIST"

build() { # build GOOS GOARCH PKG NAME
	local out="$DIST/$4_${VERSION}_$1_$2"
	[ "$1" = windows ] && out=$out.exe
	echo "build $out"
	CGO_ENABLED=0 GOOS=$1 GOARCH=$2 "$GO" build -trimpath -ldflags "-s -w" -o "$out" "./$3"
}

for c in clients/cmd/*/; do
	c=${c%/}
	for p in linux/amd64 linux/arm64 windows/amd64; do
		build "${p%/*}" "${p#*/}" "$c" "$(basename "$c")"
	done
done
for c in gateway/cmd/*/; do
	c=${c%/}
	for p in linux/amd64 linux/arm64; do
		build "${p%/*}" "${p#*/}" "$c" "$(basename "$c")"
	done
done

# A Debian version starts with a digit: a bare commit becomes 0.0.0~gitHASH,
# v1.2.3-4-gHASH becomes 1.2.3-4-gHASH.
debversion=${VERSION#v}
case $debversion in [0-9]*) ;; *) debversion=0.0.0~git$debversion ;; esac
nfpm=$(mktemp -d)
trap 'rm -rf "$nfpm"' EXIT
if GOBIN=$nfpm GOFLAGS="" "$GO" install "github.com/goreleaser/nfpm/v2/cmd/nfpm@$NFPM_VERSION" >"$nfpm/log" 2>&1; then
	for arch in amd64 arm64; do
		out="$DIST/tollgate_${debversion}_$arch.deb"
		echo "package $out"
		# nfpm expands the environment in version and arch, not in a
		# content's src: the binary's path is written into a copy.
		sed "s#\${BINARY}#$DIST/tollgate_${VERSION}_linux_$arch#" deploy/nfpm.yaml >"$nfpm/nfpm.yaml"
		VERSION=$debversion ARCH=$arch "$nfpm/nfpm" package --config "$nfpm/nfpm.yaml" --packager deb --target "$out" >/dev/null
	done
else
	echo "dist: nfpm $NFPM_VERSION cannot be fetched from the Go module proxy ($(tail -1 "$nfpm/log")); no .deb built"
fi

(cd "$DIST" && sha256sum -- * >SHA256SUMS)
echo "dist: $(($(wc -l <"$DIST/SHA256SUMS"))) files in $DIST, checksums in $DIST/SHA256SUMS"
