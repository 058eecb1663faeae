/*
 * stress.c: many threads calling libtollgate at once.
 *
 *   stress CARD STATE_DIR EXPLICIT_ID TMP_DIR THREADS ROUNDS
 *
 * STATE_DIR holds an activated license for the machine EXPLICIT_ID. One
 * handle on it is shared by every thread, which checks it offline (it must
 * be allowed), reads the fingerprint, and makes failing calls whose last
 * error must be its own (the message is per thread); each thread also
 * opens and closes handles of its own. Half-way through, one thread
 * closes the shared handle: a call on it then gets TG_ERR_INVALID_HANDLE,
 * never a crash. Prints "ok: N calls" and exits 0, or names the failure
 * and exits 1.
 */
#define _POSIX_C_SOURCE 200809L /* pthread barriers */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tollgate.h"

static const char *card, *state, *explicit_id, *tmp;
static int rounds;
static tg_licensee *shared;
static pthread_barrier_t halfway;
static long calls[256];

static void die(int thread, int round, const char *what, tg_status st) {
	char msg[1024] = "";
	tg_last_error(msg, sizeof msg);
	fprintf(stderr, "thread %d round %d: %s: %s: %s\n", thread, round, what, tg_status_name(st), msg);
	exit(1);
}

static tg_status open_shared(tg_licensee **out) {
	tg_options o;
	memset(&o, 0, sizeof o);
	o.size = sizeof o;
	o.card_path = card;
	o.product = "1AJS2";
	o.state_dir = state;
	o.explicit_id = explicit_id;
	return tg_open_ex(&o, out);
}

static void *worker(void *arg) {
	int id = (int)(intptr_t)arg, r;
	char fp[512], own[4096], msg[1024];
	tg_decision d = TG_DECISION_INIT;
	tg_licensee *lic;
	tg_status st;

	snprintf(own, sizeof own, "%s/own-%d", tmp, id);
	for (r = 0; r < rounds; r++) {
		if (r == rounds / 2) {
			pthread_barrier_wait(&halfway);
			if (id == 0 && (st = tg_close(shared)) != TG_OK) {
				die(id, r, "close shared", st);
			}
			pthread_barrier_wait(&halfway);
		}
		st = tg_check(shared, TG_CHECK_OFFLINE, &d);
		calls[id]++;
		if (r < rounds / 2) {
			if (st != TG_OK) {
				die(id, r, "check shared", st);
			}
			if (!d.allowed || d.reason != TG_REASON_OFFLINE || d.entitlement_count != 1 ||
			    strcmp(d.entitlements[0], "pro") != 0) {
				fprintf(stderr, "thread %d: shared check: allowed=%d reason=%s: %s\n", id, d.allowed,
				        tg_reason_name(d.reason), d.message);
				exit(1);
			}
			tg_decision_free(&d);
			if ((st = tg_fingerprint(shared, fp, sizeof fp, NULL)) != TG_OK ||
			    strncmp(fp, "explicit ", 9) != 0) {
				die(id, r, "fingerprint", st);
			}
			calls[id]++;
		} else if (st != TG_ERR_INVALID_HANDLE) {
			die(id, r, "check on the closed shared handle", st);
		}

		/* A failure whose message names this thread's own argument. */
		snprintf(msg, sizeof msg, "%d", id);
		st = tg_open(card, "1AJS2", "\xff", &lic);
		calls[id]++;
		if (st != TG_ERR_INVALID_UTF8 || tg_last_error(msg, sizeof msg) > sizeof msg ||
		    strstr(msg, "state_dir") == NULL) {
			die(id, r, "open with invalid UTF-8", st);
		}

		/* A handle of its own, opened, checked and closed. */
		if ((st = tg_open(card, "1AJS2", own, &lic)) != TG_OK) {
			die(id, r, "open own", st);
		}
		if ((st = tg_check(lic, TG_CHECK_OFFLINE, &d)) != TG_OK || d.reason != TG_REASON_NOT_ACTIVATED) {
			die(id, r, "check own", st);
		}
		tg_decision_free(&d);
		if ((st = tg_close(lic)) != TG_OK) {
			die(id, r, "close own", st);
		}
		calls[id] += 3;
	}
	return NULL;
}

int main(int argc, char **argv) {
	int threads, i;
	long total = 0;
	pthread_t th[256];
	tg_status st;

	if (argc != 7) {
		fprintf(stderr, "usage: stress CARD STATE_DIR EXPLICIT_ID TMP_DIR THREADS ROUNDS\n");
		return 2;
	}
	card = argv[1];
	state = argv[2];
	explicit_id = argv[3];
	tmp = argv[4];
	threads = atoi(argv[5]);
	rounds = atoi(argv[6]);
	if (threads < 1 || threads > 256 || rounds < 2) {
		fprintf(stderr, "stress: 1 to 256 threads, at least 2 rounds\n");
		return 2;
	}
	if ((st = open_shared(&shared)) != TG_OK) {
		die(-1, 0, "open shared", st);
	}
	pthread_barrier_init(&halfway, NULL, (unsigned)threads);
	for (i = 0; i < threads; i++) {
		if (pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i) != 0) {
			fprintf(stderr, "pthread_create failed\n");
			return 1;
		}
	}
	for (i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		total += calls[i];
	}
	pthread_barrier_destroy(&halfway);
	printf("ok: %ld calls on %d threads\n", total, threads);
	return 0;
}
