#!/bin/sh
# symcheck.sh LIBRARY HEADER: the functions LIBRARY exports (libtollgate.so
# read with nm -D, tollgate.dll with objdump -p) must be exactly the
# functions HEADER declares. Prints both lists' differences and exits 1 when
# they differ, 2 when a tool is missing or the files cannot be read.
set -eu
lib=$1 header=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Declarations: a line that starts a prototype "type name(" at column 0.
sed -n 's/^[a-z_][a-z_0-9 ]*[ *]\(tg_[a-z_0-9]*\)(.*/\1/p' "$header" | sort -u >"$tmp/header"
[ -s "$tmp/header" ] || { echo "symcheck: no declarations found in $header" >&2; exit 2; }

case $lib in
*.dll)
	objdump=${OBJDUMP:-x86_64-w64-mingw32-objdump}
	command -v "$objdump" >/dev/null || { echo "symcheck: $objdump not found" >&2; exit 2; }
	# The export table's name lines: "[ordinal] name" after "[Ordinal/Name Pointer] Table".
	"$objdump" -p "$lib" | awk '/\[Ordinal\/Name Pointer\] Table/ {t = 1; next} t && /^\t\[ *[0-9]+\]/ {print $NF; next} t && NF == 0 {t = 0}' | sort -u >"$tmp/lib"
	;;
*)
	# Every defined dynamic symbol but the version node.
	nm -D --defined-only "$lib" | awk '$2 != "A" {sub(/@.*/, "", $3); print $3}' | sort -u >"$tmp/lib"
	;;
esac
[ -s "$tmp/lib" ] || { echo "symcheck: no exported symbols found in $lib" >&2; exit 2; }

if ! diff -u "$tmp/header" "$tmp/lib" >"$tmp/diff"; then
	echo "symcheck: $lib exports differ from $header's declarations (- header only, + library only):" >&2
	sed '1,2d' "$tmp/diff" | grep '^[-+]' >&2
	exit 1
fi
echo "symcheck: $lib exports the $(wc -l <"$tmp/header") functions $header declares, and nothing else"
