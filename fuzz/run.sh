#!/usr/bin/env bash
# Runs every fuzz target in the module for FUZZTIME (default 10s) each, one
# after another, and fails on the first finding. Go's fuzzer writes a crasher
# under the package's testdata/fuzz/FuzzXxx/; fix the bug and commit it there.
set -euo pipefail
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10s}
cd "$(dirname "$0")/.."
found=0
for pkg in $($GO list ./...); do
	dir=$($GO list -f '{{.Dir}}' "$pkg")
	targets=$(grep -hoE '^func (Fuzz[A-Za-z0-9_]+)\(' "$dir"/*_test.go 2>/dev/null | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/' | sort -u || true)
	for t in $targets; do
		found=$((found + 1))
		echo "== $pkg $t ($FUZZTIME)"
		$GO test -run '^$' -fuzz "^$t\$" -fuzztime "$FUZZTIME" -fuzzminimizetime 5s "$pkg"
	done
done
echo "fuzz: $found targets ran for $FUZZTIME each, nothing found"
