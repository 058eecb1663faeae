// The C side of libtollgate: the per-thread last error, and the
// conversions between handles and pointers (kept in C so that no Go code
// turns an integer into a pointer). These symbols are internal: the
// version script (Linux) and the export list (Windows) leave them out of
// the library's exports.

#include <stdlib.h>
#include <string.h>

#include "helpers.h"

// The last error of the calling thread, like errno: written by the Go
// side while it runs on the caller's thread (a cgo callback keeps the
// goroutine on the thread that called in).
static _Thread_local char tgi_err[TGI_ERR_MAX];

void tgi_set_error(const char *msg, size_t n) {
	if (n >= sizeof tgi_err) {
		n = sizeof tgi_err - 1;
	}
	memcpy(tgi_err, msg, n);
	tgi_err[n] = '\0';
}

size_t tgi_get_error(char *buf, size_t size) {
	size_t need = strlen(tgi_err) + 1;
	if (buf != NULL && size >= need) {
		memcpy(buf, tgi_err, need);
	}
	return need;
}

tg_licensee *tgi_handle_ptr(uintptr_t h) { return (tg_licensee *)h; }

uintptr_t tgi_ptr_handle(tg_licensee *p) { return (uintptr_t)p; }

// tgi_strnlen is strnlen, which mingw's headers declare only for some
// targets.
size_t tgi_strnlen(const char *s, size_t max) {
	size_t n = 0;
	while (n < max && s[n] != '\0') {
		n++;
	}
	return n;
}

size_t tgi_wcsnlen(const tg_wchar *s, size_t max) {
	size_t n = 0;
	while (n < max && s[n] != 0) {
		n++;
	}
	return n;
}

char **tgi_alloc_strv(size_t n) { return calloc(n + 1, sizeof(char *)); }

void tgi_strv_set(char **v, size_t i, char *s) { v[i] = s; }

char *tgi_strv_get(char **v, size_t i) { return v[i]; }


// The strings the library makes once and keeps for the life of the
// process (tg_version, tg_status_name, tg_reason_name) are held here too,
// where a leak checker scanning C memory sees them. Not static: a static
// array only ever written may be optimized away.
char *tgi_kept[TGI_KEPT_MAX];
size_t tgi_nkept;

char *tgi_keep(char *s) {
	if (tgi_nkept < TGI_KEPT_MAX) {
		tgi_kept[tgi_nkept++] = s;
	}
	return s;
}
