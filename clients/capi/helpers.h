// Internal declarations of libtollgate's C helpers (helpers.c).
#ifndef TOLLGATE_HELPERS_H
#define TOLLGATE_HELPERS_H

#include <stddef.h>
#include <stdint.h>

#define TOLLGATE_TYPES_ONLY
#include "tollgate.h"

// The longest last-error message kept, its NUL included; longer ones are
// cut at a character boundary by the Go side.
#define TGI_ERR_MAX 1024

// How many strings tgi_keep holds: more than the library makes.
#define TGI_KEPT_MAX 128

char *tgi_keep(char *s);
void tgi_set_error(const char *msg, size_t n);
size_t tgi_get_error(char *buf, size_t size);
tg_licensee *tgi_handle_ptr(uintptr_t h);
uintptr_t tgi_ptr_handle(tg_licensee *p);
size_t tgi_strnlen(const char *s, size_t max);
size_t tgi_wcsnlen(const tg_wchar *s, size_t max);
char **tgi_alloc_strv(size_t n);
void tgi_strv_set(char **v, size_t i, char *s);
char *tgi_strv_get(char **v, size_t i);

#endif
