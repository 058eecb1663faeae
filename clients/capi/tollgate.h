/*
 * tollgate.h: libtollgate, the Tollgate license client as a C library.
 *
 * The same client as the Go package clients (Licensee): the machine's
 * fingerprint, the state directory, the offline check of the saved lease,
 * the validation levels, the clock ratchet, and activation over QUIC and
 * Noise. Linux: libtollgate.so; Windows: tollgate.dll.
 *
 * Conventions, for every function:
 *
 *  - Strings in and out are UTF-8 and NUL-terminated. An argument that is
 *    not valid UTF-8 is refused with TG_ERR_INVALID_UTF8. The *_w functions
 *    take UTF-16 (wchar_t on Windows) for Win32 and .NET callers.
 *  - A function that can fail returns a tg_status: TG_OK (0) when it did
 *    what it was asked, else why not. Its sentence for a person is then
 *    available from tg_last_error on the same thread.
 *  - A string the library hands back is either copied into a buffer the
 *    caller provides (when the buffer is too small, nothing is written,
 *    TG_ERR_BUFFER_TOO_SMALL is returned and *needed says how many bytes,
 *    the NUL included, are needed), or allocated by the library and
 *    released with the matching free function (tg_decision_free).
 *  - A tg_licensee is an opaque handle. Every function is safe to call
 *    from any number of threads at once, on one handle or several; calls
 *    on one handle take turns. After tg_close a handle is dead for good:
 *    passing it again gets TG_ERR_INVALID_HANDLE (handle values are not
 *    reused within a process), never a crash.
 *  - No call keeps a pointer the caller passed after it returns.
 *  - Nothing the library returns or logs contains a license key.
 *
 * Structures the caller passes start with a size field the caller sets to
 * sizeof the structure it was compiled with; later versions of the library
 * only ever append fields, and check the size before writing.
 */
#ifndef TOLLGATE_H
#define TOLLGATE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI version this header describes; tg_abi_version() returns the
 * library's. A library with the same ABI version accepts every call this
 * header compiles. */
#define TG_ABI_VERSION 1

#ifdef _WIN32
typedef wchar_t tg_wchar; /* UTF-16 code unit */
#else
typedef uint16_t tg_wchar; /* UTF-16 code unit */
#endif

/* One program's license on this machine: what tg_open returns. */
typedef struct tg_licensee tg_licensee;

/* The outcome of a call. Below 100 are the gateway's wire statuses, with the
 * same numbers (a refusal by the server); 100 and up are the library's own. */
typedef enum tg_status {
	TG_OK = 0,                    /* done */
	TG_NOT_FOUND = 1,             /* no such license key or license */
	TG_MALFORMED_KEY = 2,         /* not a well-formed license key (typo, bad check character) */
	TG_SUSPENDED = 3,             /* the license is suspended */
	TG_REVOKED = 4,               /* the license was revoked */
	TG_EXPIRED = 5,               /* the license term is over */
	TG_NO_SEATS = 6,              /* every seat is taken by other machines */
	TG_FINGERPRINT_MISMATCH = 7,  /* this activation belongs to another machine */
	TG_FINGERPRINT_REJECTED = 8,  /* the machine could not be identified well enough */
	TG_NOT_ACTIVATED = 9,         /* no license is activated on this installation */
	TG_PRODUCT_MISMATCH = 10,     /* the key is for another product */
	TG_RATE_LIMITED = 11,         /* too many requests; retry later */
	TG_SHOP_NOT_ALLOWED = 12,     /* (shops only) */
	TG_ORDER_CONFLICT = 13,       /* (shops only) */
	TG_SERVER_ERROR = 14,         /* the gateway failed; retry later */
	TG_UNSUPPORTED_VERSION = 15,  /* the gateway does not speak this protocol version */
	TG_BAD_REQUEST = 16,          /* the gateway found the request malformed */
	TG_QUOTA_EXCEEDED = 17,       /* (shops only) */
	TG_INSTALL_CLONED = 18,       /* this installation's state was copied to another machine */
	TG_TRIAL_USED = 19,           /* this machine already had its trial of the product */
	TG_NO_TRIAL = 20,             /* the product offers no trial */
	TG_BASE_MISSING = 21,         /* a plug-in's base product is not licensed on this machine */
	TG_RESET_LIMIT = 22,          /* (shops only) the license's self-service resets are used up for now */
	TG_REQUEST_MISMATCH = 23,     /* an offline answer or release does not belong to this request or machine */

	TG_ERR_INVALID_ARGUMENT = 100, /* a NULL pointer, a bad product code, a wrong size field, a string too long */
	TG_ERR_INVALID_UTF8 = 101,     /* a string argument is not valid UTF-8 (or UTF-16) */
	TG_ERR_BUFFER_TOO_SMALL = 102, /* the caller's buffer is too small; *needed says how big */
	TG_ERR_BAD_CARD = 103,         /* the server card cannot be read or does not parse */
	TG_ERR_STATE = 104,            /* the state directory cannot be created, read or written */
	TG_ERR_INSTALL_KEY_DAMAGED = 105, /* install.key is damaged while a license is activated */
	TG_ERR_INVALID_HANDLE = 106,   /* NULL, closed, or not a handle tg_open returned */
	TG_ERR_UNREACHABLE = 107,      /* the license server cannot be reached */
	TG_ERR_TIMEOUT = 108,          /* the license server did not answer in time */
	TG_ERR_CONNECTION = 109,       /* the connection failed or the answer was malformed */
	TG_ERR_WRONG_SERVER = 110,     /* the server is not the one the card names */
	TG_ERR_WRONG_CARD = 111,       /* the server's lease is not signed by a key of the card */
	TG_ERR_INTERNAL = 199          /* a fault inside the library (a bug); the handle stays usable */
} tg_status;

/* Why a decision came out as it did: the values of Decision.Reason in the
 * Go library, one to one (tg_reason_name gives the Go string). */
typedef enum tg_reason {
	TG_REASON_NONE = 0,               /* no reason: only in tg_decision.contact, when no server check was tried */
	TG_REASON_OK = 1,                 /* "ok": the server confirmed the license just now */
	TG_REASON_OFFLINE = 2,            /* "offline": the saved lease alone, within what the level allows */
	TG_REASON_NOT_ACTIVATED = 3,      /* "not-activated" */
	TG_REASON_LEASE_INVALID = 4,      /* "lease-invalid": tampered or forged */
	TG_REASON_LEASE_FOREIGN = 5,      /* "lease-foreign": another installation's or license's */
	TG_REASON_OTHER_MACHINE = 6,      /* "other-machine" */
	TG_REASON_WRONG_PRODUCT = 7,      /* "wrong-product" */
	TG_REASON_LEASE_EXPIRED = 8,      /* "lease-expired": must be renewed online */
	TG_REASON_LICENSE_EXPIRED = 9,    /* "license-expired" */
	TG_REASON_ONLINE_OVERDUE = 10,    /* "online-overdue": level 3 check overdue */
	TG_REASON_CLOCK_SET_BACK = 11,    /* "clock-set-back" */
	TG_REASON_REFUSED = 12,           /* "refused": see tg_decision.server_status */
	TG_REASON_OTHER_LICENSE_HELD = 13, /* "other-license-held" */
	TG_REASON_UNREACHABLE = 14,       /* "unreachable" (not decided) */
	TG_REASON_TIMEOUT = 15,           /* "timeout" (not decided) */
	TG_REASON_SERVER_ERROR = 16,      /* "server-error" (not decided) */
	TG_REASON_CONNECTION = 17,        /* "connection" (not decided) */
	TG_REASON_WRONG_SERVER = 18,      /* "wrong-server" (not decided) */
	TG_REASON_WRONG_CARD = 19         /* "wrong-card" (not decided) */
} tg_reason;

/* How tg_check decides. */
typedef enum tg_check_mode {
	TG_CHECK_POLICY = 0,  /* ask the server when the lease's level and age call for it (call at every start) */
	TG_CHECK_NOW = 1,     /* ask the server now (a "check now" button); falls back to the lease when unreachable */
	TG_CHECK_OFFLINE = 2  /* never ask the server: the saved lease and the clock ratchet alone */
} tg_check_mode;

/* Flags of tg_options. */
#define TG_OPEN_SYSTEM 0x1u /* default state directory is the system-wide one (Linux: /var/lib/tollgate/<product>) */

/* How to open a license: for tg_open_ex. Zero every field, set size to
 * sizeof(tg_options), then the fields wanted. */
typedef struct tg_options {
	uint32_t size;            /* sizeof(tg_options) */
	uint32_t flags;           /* TG_OPEN_* */
	const char *card_path;    /* the server card file; or NULL and card_text */
	const char *card_text;    /* the server card's text, card_len bytes (no NUL needed) */
	size_t card_len;
	const char *product;      /* the 5-character product code; required */
	const char *state_dir;    /* NULL or "": the default per-user directory */
	const char *explicit_id;  /* NULL or "": the hardware fingerprint; else this identifier is the whole fingerprint (containers, VMs) */
	const char *app_version;  /* sent at activation; NULL or "" for none */
	const char *address;      /* NULL or "": the card's addresses; else the only host:port dialed */
	uint32_t timeout_ms;      /* bound of one server request; 0: 10 s */
} tg_options;

/* A decision: whether the program may run, why, and what the user can do.
 * Set size to sizeof(tg_decision) (or use TG_DECISION_INIT) before passing
 * it; release what the library put in it with tg_decision_free before
 * passing it again (a call overwrites the pointers without freeing them).
 * A call that fails leaves every pointer NULL. */
typedef struct tg_decision {
	uint32_t size;            /* in: sizeof(tg_decision) */
	int allowed;              /* 1: the program may run; 0: it may not */
	int decided;              /* 1: a definite answer; 0: nothing could be decided (server unreachable and no usable lease) */
	tg_reason reason;         /* why */
	tg_reason contact;        /* the server check this decision tried: TG_REASON_NONE (none), TG_REASON_OK, or why it failed */
	tg_status server_status;  /* the server's refusal for TG_REASON_REFUSED, else TG_OK */
	int level;                /* the lease's validation level, 1 to 3; 0 when unknown */
	int64_t lease_expiry;     /* Unix seconds (UTC) the saved lease runs out; 0 without a lease */
	int64_t license_expiry;   /* Unix seconds the license term ends; 0 when perpetual or unknown */
	int64_t online_by;        /* level 3: Unix seconds a server check is due by; else 0 */
	char *message;            /* a sentence for the user; never NULL after TG_OK */
	char *action;             /* what the user can do; "" when nothing is needed */
	char *warning;            /* "" or a sentence to show while allowed (level 3: a check is due soon) */
	char **entitlements;      /* the features granted, NULL-terminated; empty when not allowed */
	size_t entitlement_count; /* how many entitlements */
} tg_decision;

#define TG_DECISION_INIT { sizeof(tg_decision), 0, 0, TG_REASON_NONE, TG_REASON_NONE, TG_OK, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0 }

/* TOLLGATE_TYPES_ONLY is defined by the library's own build alone: cgo
 * declares the functions itself, without const. */
#ifndef TOLLGATE_TYPES_ONLY

/* The library's version, such as "v1.4.0" (static; never freed). */
const char *tg_version(void);

/* The library's ABI version: compare with TG_ABI_VERSION. */
int tg_abi_version(void);

/* The name of a status, such as "NO_SEATS" or "ERR_INVALID_UTF8" (static;
 * "UNKNOWN" for a number the library does not know). */
const char *tg_status_name(tg_status status);

/* The stable name of a reason, the Go library's Decision.Reason, such as
 * "offline" or "clock-set-back" (static; "" for TG_REASON_NONE, "unknown"
 * for a number the library does not know). */
const char *tg_reason_name(tg_reason reason);

/* Copies into buf the sentence describing the outcome of the calling
 * thread's most recent call of a tg_ function that returns a tg_status
 * ("" when it returned TG_OK). The message is kept per thread, like errno:
 * calls on other threads do not change it. Returns the bytes the message
 * needs, its NUL included; when size is less, nothing is written (buf may
 * be NULL with size 0 to ask). Never contains a license key. */
size_t tg_last_error(char *buf, size_t size);

/* Opens the license of product (its 5-character code) with the server card
 * in the file card_path, keeping its state in state_dir (NULL or "": the
 * default per-user directory, created when missing). Connects to nothing.
 * On TG_OK, *out is the handle, to be closed with tg_close; on failure
 * *out is NULL. Errors: TG_ERR_BAD_CARD, TG_ERR_STATE,
 * TG_ERR_INSTALL_KEY_DAMAGED, TG_ERR_INVALID_ARGUMENT, TG_ERR_INVALID_UTF8. */
tg_status tg_open(const char *card_path, const char *product, const char *state_dir, tg_licensee **out);

/* tg_open with UTF-16 strings (wchar_t on Windows), for Win32 and .NET
 * callers. An unpaired surrogate is TG_ERR_INVALID_UTF8. */
tg_status tg_open_w(const tg_wchar *card_path, const tg_wchar *product, const tg_wchar *state_dir, tg_licensee **out);

/* tg_open with every option: the card as text in memory, an explicit
 * machine identifier, the address to dial, the request timeout. */
tg_status tg_open_ex(const tg_options *options, tg_licensee **out);

/* Binds the license key (as the user typed it: any case, dashes and
 * spaces allowed) to this installation on this machine, asking the
 * server, and saves the lease. Returns TG_OK when the server was asked or
 * the library decided: *out says whether the program may run (a refusal is
 * allowed = 0 with its reason). TG_MALFORMED_KEY when the key is not a
 * well-formed key (asked of nobody). */
tg_status tg_activate(tg_licensee *lic, const char *key, tg_decision *out);

/* Decides whether the program may run now, as mode says (TG_CHECK_POLICY
 * at every start; TG_CHECK_OFFLINE never touches the network). Returns
 * TG_OK with the decision in *out, licensed or not. */
tg_status tg_check(tg_licensee *lic, tg_check_mode mode, tg_decision *out);

/* Releases the strings tg_activate or tg_check put in d and zeroes them;
 * d may then be passed again. Safe on a zeroed decision and on NULL. */
void tg_decision_free(tg_decision *d);

/* Frees this machine's seat on the server and forgets the license here.
 * Needs the server. TG_OK when done; TG_NOT_ACTIVATED when no license is
 * activated here; a server refusal's status; TG_ERR_UNREACHABLE and the
 * like when the server could not be asked (the seat is still held). */
tg_status tg_deactivate(tg_licensee *lic);

/* Copies this machine's fingerprint for the product into buf: one line
 * per component, "kind hash" (hash in hex), lines separated by '\n'. Only
 * these hashes leave the machine. Returns TG_OK, or
 * TG_ERR_BUFFER_TOO_SMALL with *needed set and nothing written; needed
 * may be NULL. */
tg_status tg_fingerprint(tg_licensee *lic, char *buf, size_t size, size_t *needed);

/* Closes the connection to the server and frees the handle, after any call
 * in progress on it on other threads has returned. NULL is TG_OK; a closed
 * handle is TG_ERR_INVALID_HANDLE. */
tg_status tg_close(tg_licensee *lic);

#endif /* TOLLGATE_TYPES_ONLY */

#ifdef __cplusplus
}
#endif

#endif /* TOLLGATE_H */
