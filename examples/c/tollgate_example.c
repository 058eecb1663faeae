/*
 * tollgate_example: a program licensed through libtollgate.
 *
 *   tollgate_example [--explicit ID] [--offline] [--keep] [--product CODE]
 *                    CARD STATE_DIR [KEY]
 *
 * Opens the license of the product (CODE, else the key's first five
 * characters) with the server card CARD, state in STATE_DIR; with KEY,
 * activates it; then checks (the policy check, or with --offline the saved
 * lease alone) and prints the decision; when KEY was activated and without
 * --keep, deactivates again, freeing the seat. --explicit ID uses ID as
 * the machine's whole fingerprint (containers, VMs).
 *
 * Exit status: 0 licensed, 1 not licensed, 2 an error (its message on
 * stderr).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tollgate.h"

/* fail prints what the last call says and returns exit status 2. */
static int fail(const char *what, tg_status st) {
	char msg[1024];
	if (tg_last_error(msg, sizeof msg) > sizeof msg) {
		strcpy(msg, "(message too long)");
	}
	fprintf(stderr, "%s: %s: %s\n", what, tg_status_name(st), msg);
	return 2;
}

static void print_time(const char *label, int64_t t) {
	char buf[32];
	time_t tt = (time_t)t;
	struct tm *tm;
	if (t == 0) {
		return;
	}
	tm = gmtime(&tt);
	if (tm != NULL && strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", tm) > 0) {
		printf("  %s: %s\n", label, buf);
	}
}

static void print_decision(const char *what, const tg_decision *d) {
	size_t i;
	printf("%s: allowed=%d decided=%d reason=%s contact=%s level=%d", what, d->allowed, d->decided,
	       tg_reason_name(d->reason), d->contact == TG_REASON_NONE ? "none" : tg_reason_name(d->contact), d->level);
	if (d->server_status != TG_OK) {
		printf(" server_status=%s", tg_status_name(d->server_status));
	}
	printf("\n  message: %s\n", d->message);
	if (d->action[0] != '\0') {
		printf("  action: %s\n", d->action);
	}
	if (d->warning[0] != '\0') {
		printf("  warning: %s\n", d->warning);
	}
	printf("  entitlements:");
	for (i = 0; i < d->entitlement_count; i++) {
		printf(" %s", d->entitlements[i]);
	}
	printf("\n");
	print_time("lease expires", d->lease_expiry);
	print_time("license expires", d->license_expiry);
	print_time("online by", d->online_by);
}

/* product_of copies the product code, the key's first 5 characters
 * (dashes and spaces skipped), into p. */
static void product_of(const char *key, char p[6]) {
	size_t n = 0;
	for (; *key != '\0' && n < 5; key++) {
		if (*key != '-' && *key != ' ') {
			p[n++] = *key;
		}
	}
	p[n] = '\0';
}

int main(int argc, char **argv) {
	const char *explicit_id = NULL, *card, *state, *key = NULL;
	int offline = 0, keep = 0, activated = 0, code;
	char product[6] = "";
	tg_options opts;
	tg_licensee *lic = NULL;
	tg_decision d = TG_DECISION_INIT;
	tg_status st;
	char fp[1024];
	size_t need;
	int i = 1;

	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--explicit") == 0 && i + 1 < argc) {
			explicit_id = argv[++i];
		} else if (strcmp(argv[i], "--offline") == 0) {
			offline = 1;
		} else if (strcmp(argv[i], "--keep") == 0) {
			keep = 1;
		} else if (strcmp(argv[i], "--product") == 0 && i + 1 < argc) {
			snprintf(product, sizeof product, "%s", argv[++i]);
		} else {
			break;
		}
	}
	if (argc - i < 2 || argc - i > 3) {
		fprintf(stderr, "usage: %s [--explicit ID] [--offline] [--keep] [--product CODE] CARD STATE_DIR [KEY]\n", argv[0]);
		return 2;
	}
	card = argv[i];
	state = argv[i + 1];
	if (argc - i == 3) {
		key = argv[i + 2];
		if (product[0] == '\0') {
			product_of(key, product);
		}
	}
	if (tg_abi_version() != TG_ABI_VERSION) {
		fprintf(stderr, "libtollgate has ABI %d; this program was built for %d\n", tg_abi_version(), TG_ABI_VERSION);
		return 2;
	}
	printf("libtollgate %s\n", tg_version());

	memset(&opts, 0, sizeof opts);
	opts.size = sizeof opts;
	opts.card_path = card;
	opts.product = product[0] != '\0' ? product : NULL;
	opts.state_dir = state;
	opts.explicit_id = explicit_id;
	opts.app_version = "tollgate_example";
	if ((st = tg_open_ex(&opts, &lic)) != TG_OK) {
		return fail("open", st);
	}
	st = tg_fingerprint(lic, fp, sizeof fp, &need);
	if (st != TG_OK) {
		tg_close(lic);
		return fail("fingerprint", st);
	}
	printf("fingerprint:\n  ");
	for (i = 0; fp[i] != '\0'; i++) {
		if (fp[i] == '\n') {
			fputs("\n  ", stdout);
		} else {
			putchar(fp[i]);
		}
	}
	printf("\n");

	if (key != NULL) {
		if ((st = tg_activate(lic, key, &d)) != TG_OK) {
			tg_close(lic);
			return fail("activate", st);
		}
		print_decision("activate", &d);
		activated = d.allowed;
		tg_decision_free(&d);
	}
	if ((st = tg_check(lic, offline ? TG_CHECK_OFFLINE : TG_CHECK_POLICY, &d)) != TG_OK) {
		tg_close(lic);
		return fail("check", st);
	}
	print_decision("check", &d);
	code = d.allowed ? 0 : 1;
	tg_decision_free(&d);

	if (activated && !keep) {
		if ((st = tg_deactivate(lic)) != TG_OK) {
			code = fail("deactivate", st);
		} else {
			printf("deactivate: done\n");
		}
	}
	if ((st = tg_close(lic)) != TG_OK) {
		return fail("close", st);
	}
	return code;
}
