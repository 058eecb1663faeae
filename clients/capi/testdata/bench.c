/*
 * bench.c: the cost of calls through libtollgate's C ABI.
 *
 *   bench CARD STATE_DIR N [EXPLICIT_ID]
 *
 * STATE_DIR holds a license activated on this machine (for the machine
 * EXPLICIT_ID, when given). Times N offline
 * checks (tg_check with TG_CHECK_OFFLINE, then tg_decision_free), and N
 * calls of tg_abi_version (the bare crossing from C into Go and back),
 * after a warm-up, and prints "check_offline_ns N" and "abi_version_ns N"
 * (nanoseconds per call).
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tollgate.h"

static double now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
	tg_licensee *lic;
	tg_options o;
	tg_decision d = TG_DECISION_INIT;
	long n, i;
	int sum = 0;
	double t0;

	if (argc < 4 || argc > 5 || (n = atol(argv[3])) < 1) {
		fprintf(stderr, "usage: bench CARD STATE_DIR N [EXPLICIT_ID]\n");
		return 2;
	}
	memset(&o, 0, sizeof o);
	o.size = sizeof o;
	o.card_path = argv[1];
	o.product = "1AJS2";
	o.state_dir = argv[2];
	o.explicit_id = argc == 5 ? argv[4] : NULL;
	if (tg_open_ex(&o, &lic) != TG_OK) {
		fprintf(stderr, "open failed\n");
		return 1;
	}
	for (i = 0; i < 1000; i++) { /* warm-up; the lease's signature is verified once */
		if (tg_check(lic, TG_CHECK_OFFLINE, &d) != TG_OK || !d.allowed) {
			fprintf(stderr, "check: not allowed: %s\n", d.message);
			return 1;
		}
		tg_decision_free(&d);
	}
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		tg_check(lic, TG_CHECK_OFFLINE, &d);
		sum += d.allowed;
		tg_decision_free(&d);
	}
	printf("check_offline_ns %.0f\n", (now_ns() - t0) / (double)n);
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		sum += tg_abi_version();
	}
	printf("abi_version_ns %.1f\n", (now_ns() - t0) / (double)n);
	tg_close(lic);
	return sum == 0; /* keeps the loops */
}
