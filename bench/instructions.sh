#!/usr/bin/env bash
# instructions.sh counts the machine instructions of one hot validation and
# of one activation, a figure that does not move with the machine's load
# (BENCHMARKS.md, "Instruction counts"). It builds the gateway's and the
# service's test binaries and runs two of their benchmarks under valgrind's
# callgrind, which counts every instruction executed: the counters are
# zeroed when the benchmark's measured loop begins (countFrom) and dumped
# when it ends (countTo), so the count is of the loop alone, on every
# thread, and is divided by the loop's length.
#
# The runs are made repeatable: one P (GOMAXPROCS=1), no garbage collection
# (GOGC=off: the activation's collection work is not counted), no
# asynchronous preemption, and no RDTSCP (valgrind 3.19 cannot run it).
# The validation is BenchmarkValidateHot (gateway: parse, validate, answer;
# no QUIC, no Noise); the activation is BenchmarkActivate (service: a new
# seat, a signed and sealed lease, a durable commit with its fsync). An
# activation's count moves by about 1% from run to run: ML-DSA signing
# repeats a random number of times.
#
#   bench/instructions.sh            # both, with the defaults below
#   VALIDATIONS=60000 ACTIVATIONS=500 bench/instructions.sh
set -euo pipefail

VALIDATIONS=${VALIDATIONS:-20000}
ACTIVATIONS=${ACTIVATIONS:-200}
GO=${GO:-go}

if ! command -v valgrind >/dev/null; then
	echo "instructions.sh: valgrind is not installed (Debian: apt-get install -y valgrind)" >&2
	exit 1
fi

cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# count PKG BENCH N: prints the instructions per iteration of BENCH's loop.
count() {
	local pkg=$1 bench=$2 n=$3 bin out totals
	bin=$dir/$(basename "$pkg").test
	"$GO" test -c -o "$bin" "./$pkg"
	out=$dir/$bench.out
	GOMAXPROCS=1 GOGC=off GODEBUG=asyncpreemptoff=1,cpu.rdtscp=off \
		valgrind --tool=callgrind --callgrind-out-file="$out.%p" \
		--zero-before="github.com/tollgate/tollgate/$pkg.countFrom" \
		--dump-before="github.com/tollgate/tollgate/$pkg.countTo" \
		"$bin" -test.run '^$' -test.bench "^$bench\$" -test.benchtime "${n}x" \
		>"$dir/$bench.log" 2>&1 || {
		echo "instructions.sh: $pkg $bench failed under valgrind:" >&2
		tail -20 "$dir/$bench.log" >&2
		exit 1
	}
	# The benchmark runs its loop once with one iteration, then with n:
	# the newest dump is the loop of n.
	totals=$(ls -v "$out".*.* 2>/dev/null | tail -1 | xargs -r grep -h '^totals:' | awk '{print $2}')
	if [ -z "$totals" ]; then
		echo "instructions.sh: no dump of $bench's loop: are countFrom and countTo still around it?" >&2
		exit 1
	fi
	awk -v t="$totals" -v n="$n" -v b="$bench" -v p="$pkg" \
		'BEGIN { printf "%-22s %9.0f instructions per iteration (%s, %d iterations, %d in all)\n", b, t / n, p, n, t }'
}

echo "== $(git rev-parse --short HEAD 2>/dev/null || echo '?') $(valgrind --version) $("$GO" env GOVERSION)"
count gateway BenchmarkValidateHot "$VALIDATIONS"
count service BenchmarkActivate "$ACTIVATIONS"
