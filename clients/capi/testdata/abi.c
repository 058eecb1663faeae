/*
 * abi.c: the ABI contract of libtollgate, compiled with -Wall -Wextra
 * -Werror against tollgate.h. It calls every function the header declares,
 * with good and with bad input (NULL handles and strings, buffers too
 * small, invalid UTF-8 and UTF-16, a card that does not parse, a state
 * directory that cannot be written, calls after close), and checks each
 * status and that the thread's last error says something readable.
 *
 *   abi CARD_FILE TMP_DIR
 *
 * Needs no gateway: nothing here reaches the network. Prints "ok: N
 * checks" and exits 0, or names the first failed check and exits 1.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tollgate.h"

static int checks;

#define CHECK(cond)                                                              \
	do {                                                                         \
		checks++;                                                                \
		if (!(cond)) {                                                           \
			char m_[1024] = "";                                                  \
			tg_last_error(m_, sizeof m_);                                        \
			fprintf(stderr, "abi.c:%d: check failed: %s\n  last error: %s\n",    \
			        __LINE__, #cond, m_);                                        \
			exit(1);                                                             \
		}                                                                        \
	} while (0)

/* last returns the thread's last error in a static buffer. */
static const char *last(void) {
	static char buf[1024];
	size_t n = tg_last_error(buf, sizeof buf);
	CHECK(n >= 1 && n <= sizeof buf);
	return buf;
}

/* expect checks that a call returned want and, unless want is TG_OK (no
 * error then), left a readable error that contains word. */
static void expect(tg_status got, tg_status want, const char *word, int line) {
	const char *msg = last();
	checks++;
	if (got != want || (want == TG_OK) != (strlen(msg) == 0) || (word != NULL && strstr(msg, word) == NULL)) {
		fprintf(stderr, "abi.c:%d: got %s (%d), want %s; last error %s\n", line, tg_status_name(got), (int)got,
		        tg_status_name(want), msg);
		exit(1);
	}
}
#define EXPECT(call, want, word) expect((call), (want), (word), __LINE__)

/* utf16 widens an ASCII string into w. */
static const tg_wchar *utf16(const char *s, tg_wchar *w, size_t n) {
	size_t i = 0;
	for (; s[i] != '\0' && i + 1 < n; i++) {
		w[i] = (tg_wchar)(unsigned char)s[i];
	}
	w[i] = 0;
	return w;
}

/* other_thread_error runs a failing call on another thread: the main
 * thread's last error must not change. */
static void *other_thread_error(void *arg) {
	tg_decision d = TG_DECISION_INIT;
	(void)arg;
	EXPECT(tg_check(NULL, TG_CHECK_OFFLINE, &d), TG_ERR_INVALID_HANDLE, "handle");
	return NULL;
}

int main(int argc, char **argv) {
	const char *card;
	char state[4096], bad_state[4096], buf[4096];
	tg_licensee *lic = NULL, *lic2 = NULL;
	tg_decision d = TG_DECISION_INIT;
	tg_options o;
	tg_wchar w1[4096], w2[64], w3[4096];
	size_t need = 0, n;
	pthread_t th;
	FILE *f;
	char *text;
	long len;

	if (argc != 3) {
		fprintf(stderr, "usage: abi CARD_FILE TMP_DIR\n");
		return 2;
	}
	card = argv[1];
	snprintf(state, sizeof state, "%s/state", argv[2]);
	snprintf(bad_state, sizeof bad_state, "%s/state", card); /* under a file: cannot be created */

	/* Versions and names. */
	CHECK(tg_abi_version() == TG_ABI_VERSION);
	CHECK(tg_version() != NULL && strlen(tg_version()) > 0);
	CHECK(strcmp(tg_status_name(TG_OK), "OK") == 0);
	CHECK(strcmp(tg_status_name(TG_NO_SEATS), "NO_SEATS") == 0);
	CHECK(strcmp(tg_status_name(TG_INSTALL_CLONED), "INSTALL_CLONED") == 0);
	CHECK(strcmp(tg_status_name(TG_ERR_INVALID_UTF8), "ERR_INVALID_UTF8") == 0);
	CHECK(strcmp(tg_status_name((tg_status)12345), "UNKNOWN") == 0);
	CHECK(strcmp(tg_reason_name(TG_REASON_NONE), "") == 0);
	CHECK(strcmp(tg_reason_name(TG_REASON_OFFLINE), "offline") == 0);
	CHECK(strcmp(tg_reason_name(TG_REASON_CLOCK_SET_BACK), "clock-set-back") == 0);
	CHECK(strcmp(tg_reason_name(TG_REASON_OTHER_LICENSE_HELD), "other-license-held") == 0);
	CHECK(strcmp(tg_reason_name(TG_REASON_WRONG_CARD), "wrong-card") == 0);
	CHECK(strcmp(tg_reason_name((tg_reason)999), "unknown") == 0);

	/* Opening, with bad input. */
	EXPECT(tg_open(NULL, "1AJS2", state, &lic), TG_ERR_INVALID_ARGUMENT, "card_path");
	CHECK(lic == NULL);
	EXPECT(tg_open(card, NULL, state, &lic), TG_ERR_INVALID_ARGUMENT, "product");
	EXPECT(tg_open(card, "1AJS2", state, NULL), TG_ERR_INVALID_ARGUMENT, "out");
	EXPECT(tg_open(card, "1AJS2", "\xff\xfe/state", &lic), TG_ERR_INVALID_UTF8, "state_dir");
	EXPECT(tg_open(card, "1A\xc3", state, &lic), TG_ERR_INVALID_UTF8, "product");
	EXPECT(tg_open(card, "!!", state, &lic), TG_ERR_INVALID_ARGUMENT, "product code");
	EXPECT(tg_open("/nonexistent/server.card", "1AJS2", state, &lic), TG_ERR_BAD_CARD, "card");
	EXPECT(tg_open(argv[0], "1AJS2", state, &lic), TG_ERR_BAD_CARD, "card"); /* a binary is no card */
	EXPECT(tg_open(card, "1AJS2", bad_state, &lic), TG_ERR_STATE, "state");
	CHECK(lic == NULL);

	memset(&o, 0, sizeof o);
	EXPECT(tg_open_ex(&o, &lic), TG_ERR_INVALID_ARGUMENT, "size");
	EXPECT(tg_open_ex(NULL, &lic), TG_ERR_INVALID_ARGUMENT, "options");
	o.size = sizeof o;
	o.product = "1AJS2";
	o.state_dir = state;
	EXPECT(tg_open_ex(&o, &lic), TG_ERR_INVALID_ARGUMENT, "card");
	o.card_text = "tollgate-card v1\nnot a card\n";
	o.card_len = strlen(o.card_text);
	EXPECT(tg_open_ex(&o, &lic), TG_ERR_BAD_CARD, "parse");
	o.card_text = "\xff\xff\xff";
	o.card_len = 3;
	EXPECT(tg_open_ex(&o, &lic), TG_ERR_INVALID_UTF8, "card_text");
	o.card_len = (size_t)1 << 40;
	EXPECT(tg_open_ex(&o, &lic), TG_ERR_BAD_CARD, "card_len");
	o.card_path = card;
	o.card_len = 3;
	EXPECT(tg_open_ex(&o, &lic), TG_ERR_INVALID_ARGUMENT, "not both");
	o.card_text = NULL;
	o.flags = 0x80;
	EXPECT(tg_open_ex(&o, &lic), TG_ERR_INVALID_ARGUMENT, "flags");
	o.flags = 0;
	o.explicit_id = "\xc0\x80";
	EXPECT(tg_open_ex(&o, &lic), TG_ERR_INVALID_UTF8, "explicit_id");
	o.explicit_id = NULL;

	/* The card as text in memory. */
	f = fopen(card, "rb");
	CHECK(f != NULL);
	CHECK(fseek(f, 0, SEEK_END) == 0);
	len = ftell(f);
	CHECK(len > 0);
	rewind(f);
	text = malloc((size_t)len);
	CHECK(text != NULL && fread(text, 1, (size_t)len, f) == (size_t)len);
	fclose(f);
	o.card_path = NULL;
	o.card_text = text;
	o.card_len = (size_t)len;
	EXPECT(tg_open_ex(&o, &lic2), TG_OK, NULL);
	CHECK(lic2 != NULL);
	free(text); /* the library keeps no pointer the caller passed */
	CHECK(strcmp(last(), "") == 0);

	/* UTF-16. */
	EXPECT(tg_open_w(utf16(card, w1, 4096), utf16("1ajs2", w2, 64), utf16(state, w3, 4096), &lic), TG_OK, NULL);
	CHECK(lic != NULL);
	CHECK(tg_close(lic) == TG_OK);
	lic = NULL;
	w3[0] = 0xd800; /* an unpaired surrogate */
	EXPECT(tg_open_w(w1, w2, w3, &lic), TG_ERR_INVALID_UTF8, "surrogate");
	EXPECT(tg_open_w(w1, NULL, NULL, &lic), TG_ERR_INVALID_ARGUMENT, "product");

	/* A good handle. */
	EXPECT(tg_open(card, "1AJS2", state, &lic), TG_OK, NULL);
	CHECK(lic != NULL);

	/* Check, nothing activated yet. */
	EXPECT(tg_check(lic, TG_CHECK_OFFLINE, &d), TG_OK, NULL);
	CHECK(!d.allowed && d.decided && d.reason == TG_REASON_NOT_ACTIVATED && d.contact == TG_REASON_NONE);
	CHECK(d.message != NULL && strlen(d.message) > 0 && d.action != NULL && d.warning != NULL);
	CHECK(d.entitlements != NULL && d.entitlements[0] == NULL && d.entitlement_count == 0);
	tg_decision_free(&d);
	CHECK(d.message == NULL && d.entitlements == NULL);
	tg_decision_free(&d); /* twice is harmless */
	tg_decision_free(NULL);
	EXPECT(tg_check(lic, TG_CHECK_POLICY, &d), TG_OK, NULL);
	CHECK(!d.allowed && d.reason == TG_REASON_NOT_ACTIVATED);
	tg_decision_free(&d);
	EXPECT(tg_check(lic, (tg_check_mode)7, &d), TG_ERR_INVALID_ARGUMENT, "mode");
	EXPECT(tg_check(lic, TG_CHECK_OFFLINE, NULL), TG_ERR_INVALID_ARGUMENT, "decision");
	d.size = 4;
	EXPECT(tg_check(lic, TG_CHECK_OFFLINE, &d), TG_ERR_INVALID_ARGUMENT, "size");
	d.size = sizeof d;

	/* Activate: malformed keys are refused before anything is asked, and
	 * the error never quotes the key. */
	EXPECT(tg_activate(lic, "SECRET-KEYIS-NOTAK-EY000-00000-0000X", &d), TG_MALFORMED_KEY, "not a valid license key");
	CHECK(strstr(last(), "SECRET") == NULL && strstr(last(), "KEYIS") == NULL);
	EXPECT(tg_activate(lic, "1AJS2-\xff", &d), TG_ERR_INVALID_UTF8, "key");
	EXPECT(tg_activate(lic, NULL, &d), TG_ERR_INVALID_ARGUMENT, "key");
	EXPECT(tg_activate(lic, "1AJS2", NULL), TG_ERR_INVALID_ARGUMENT, "decision");
	memset(buf, 'A', 1000);
	buf[1000] = '\0';
	EXPECT(tg_activate(lic, buf, &d), TG_ERR_INVALID_ARGUMENT, "longer");

	/* Deactivate with nothing activated. */
	EXPECT(tg_deactivate(lic), TG_NOT_ACTIVATED, "no license");

	/* The fingerprint into buffers of every size. */
	EXPECT(tg_fingerprint(lic, NULL, 0, &need), TG_ERR_BUFFER_TOO_SMALL, "needs");
	CHECK(need > 1 && need < sizeof buf);
	memset(buf, '#', sizeof buf);
	EXPECT(tg_fingerprint(lic, buf, need - 1, &n), TG_ERR_BUFFER_TOO_SMALL, "needs");
	CHECK(n == need && buf[0] == '#' && buf[need - 2] == '#'); /* nothing written */
	EXPECT(tg_fingerprint(lic, buf, need, NULL), TG_OK, NULL);
	CHECK(strlen(buf) == need - 1 && buf[need] == '#');
	CHECK(strchr(buf, ' ') != NULL);
	EXPECT(tg_fingerprint(lic, NULL, 10, &n), TG_ERR_INVALID_ARGUMENT, "NULL");

	/* The last error, into a buffer too small: nothing written. */
	EXPECT(tg_fingerprint(lic, NULL, 0, NULL), TG_ERR_BUFFER_TOO_SMALL, "needs");
	n = tg_last_error(NULL, 0);
	CHECK(n > 10);
	memset(buf, '#', sizeof buf);
	CHECK(tg_last_error(buf, n - 1) == n && buf[0] == '#');
	CHECK(tg_last_error(buf, n) == n && strlen(buf) == n - 1);

	/* The last error is per thread. */
	CHECK(pthread_create(&th, NULL, other_thread_error, NULL) == 0);
	CHECK(pthread_join(th, NULL) == 0);
	CHECK(strstr(last(), "needs") != NULL);

	/* Handles: NULL, made up, closed. */
	EXPECT(tg_check(NULL, TG_CHECK_OFFLINE, &d), TG_ERR_INVALID_HANDLE, "NULL");
	EXPECT(tg_check((tg_licensee *)(uintptr_t)0x7fff1234, TG_CHECK_OFFLINE, &d), TG_ERR_INVALID_HANDLE, "not an open handle");
	EXPECT(tg_close((tg_licensee *)(uintptr_t)0x7fff1234), TG_ERR_INVALID_HANDLE, "not an open handle");
	EXPECT(tg_activate(NULL, "x", &d), TG_ERR_INVALID_HANDLE, "NULL");
	EXPECT(tg_deactivate(NULL), TG_ERR_INVALID_HANDLE, "NULL");
	EXPECT(tg_fingerprint(NULL, buf, sizeof buf, NULL), TG_ERR_INVALID_HANDLE, "NULL");
	EXPECT(tg_close(NULL), TG_OK, NULL);
	EXPECT(tg_close(lic), TG_OK, NULL);
	EXPECT(tg_close(lic), TG_ERR_INVALID_HANDLE, "handle");
	EXPECT(tg_check(lic, TG_CHECK_OFFLINE, &d), TG_ERR_INVALID_HANDLE, "handle");
	EXPECT(tg_activate(lic, "1AJS2", &d), TG_ERR_INVALID_HANDLE, "handle");
	EXPECT(tg_deactivate(lic), TG_ERR_INVALID_HANDLE, "handle");
	EXPECT(tg_fingerprint(lic, buf, sizeof buf, NULL), TG_ERR_INVALID_HANDLE, "handle");
	CHECK(d.message == NULL); /* a failed call leaves nothing to free */

	/* The other handle still works. */
	EXPECT(tg_check(lic2, TG_CHECK_OFFLINE, &d), TG_OK, NULL);
	CHECK(d.reason == TG_REASON_NOT_ACTIVATED);
	tg_decision_free(&d);
	EXPECT(tg_close(lic2), TG_OK, NULL);

	printf("ok: %d checks\n", checks);
	return 0;
}
