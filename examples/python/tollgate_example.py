#!/usr/bin/env python3
"""A Python program licensed through libtollgate, with ctypes alone.

    python3 tollgate_example.py CARD STATE_DIR KEY

Activates KEY (its product is the key's first five characters), checks
offline, shows what a mistyped key gets, and deactivates. The library is
found through TOLLGATE_LIBRARY (a path), else as libtollgate.so or
tollgate.dll on the loader's path. Exit status: 0 licensed, 1 not
licensed, 2 an error.
"""

import ctypes
import os
import sys

TG_ABI_VERSION = 1
TG_OK = 0
TG_CHECK_POLICY, TG_CHECK_NOW, TG_CHECK_OFFLINE = 0, 1, 2


class Options(ctypes.Structure):
    """tg_options."""

    _fields_ = [
        ("size", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("card_path", ctypes.c_char_p),
        ("card_text", ctypes.c_char_p),
        ("card_len", ctypes.c_size_t),
        ("product", ctypes.c_char_p),
        ("state_dir", ctypes.c_char_p),
        ("explicit_id", ctypes.c_char_p),
        ("app_version", ctypes.c_char_p),
        ("address", ctypes.c_char_p),
        ("timeout_ms", ctypes.c_uint32),
    ]


class Decision(ctypes.Structure):
    """tg_decision. The strings stay the library's until tg_decision_free."""

    _fields_ = [
        ("size", ctypes.c_uint32),
        ("allowed", ctypes.c_int),
        ("decided", ctypes.c_int),
        ("reason", ctypes.c_int),
        ("contact", ctypes.c_int),
        ("server_status", ctypes.c_int),
        ("level", ctypes.c_int),
        ("lease_expiry", ctypes.c_int64),
        ("license_expiry", ctypes.c_int64),
        ("online_by", ctypes.c_int64),
        ("message", ctypes.c_char_p),
        ("action", ctypes.c_char_p),
        ("warning", ctypes.c_char_p),
        ("entitlements", ctypes.POINTER(ctypes.c_char_p)),
        ("entitlement_count", ctypes.c_size_t),
    ]


class TollgateError(Exception):
    """A call that returned other than TG_OK: its status name and sentence."""


class Library:
    """The functions of tollgate.h, declared for ctypes."""

    def __init__(self, path):
        lib = ctypes.CDLL(path)
        P = ctypes.c_void_p
        decls = {
            "tg_version": (ctypes.c_char_p, []),
            "tg_abi_version": (ctypes.c_int, []),
            "tg_status_name": (ctypes.c_char_p, [ctypes.c_int]),
            "tg_reason_name": (ctypes.c_char_p, [ctypes.c_int]),
            "tg_last_error": (ctypes.c_size_t, [ctypes.c_char_p, ctypes.c_size_t]),
            "tg_open": (ctypes.c_int, [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(P)]),
            "tg_open_w": (ctypes.c_int, [P, P, P, ctypes.POINTER(P)]),
            "tg_open_ex": (ctypes.c_int, [ctypes.POINTER(Options), ctypes.POINTER(P)]),
            "tg_activate": (ctypes.c_int, [P, ctypes.c_char_p, ctypes.POINTER(Decision)]),
            "tg_check": (ctypes.c_int, [P, ctypes.c_int, ctypes.POINTER(Decision)]),
            "tg_decision_free": (None, [ctypes.POINTER(Decision)]),
            "tg_deactivate": (ctypes.c_int, [P]),
            "tg_fingerprint": (ctypes.c_int, [P, ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)]),
            "tg_close": (ctypes.c_int, [P]),
        }
        for name, (res, args) in decls.items():
            f = getattr(lib, name)
            f.restype, f.argtypes = res, args
        self.lib = lib
        if lib.tg_abi_version() != TG_ABI_VERSION:
            raise TollgateError("libtollgate has ABI %d, this program needs %d" % (lib.tg_abi_version(), TG_ABI_VERSION))

    def error(self, status):
        """The TollgateError of status, with the thread's last error."""
        n = self.lib.tg_last_error(None, 0)
        buf = ctypes.create_string_buffer(n)
        self.lib.tg_last_error(buf, n)
        return TollgateError("%s: %s" % (self.lib.tg_status_name(status).decode(), buf.value.decode("utf-8")))


class Licensee:
    """One product's license on this machine (a tg_licensee handle)."""

    def __init__(self, lib, card, product, state_dir=None):
        self.lib = lib
        self.handle = ctypes.c_void_p()
        st = lib.lib.tg_open(card.encode(), product.encode(), state_dir.encode() if state_dir else None, ctypes.byref(self.handle))
        if st != TG_OK:
            raise lib.error(st)

    def _decision(self, call, *args):
        d = Decision(size=ctypes.sizeof(Decision))
        st = call(self.handle, *args, ctypes.byref(d))
        if st != TG_OK:
            raise self.lib.error(st)
        try:
            name = self.lib.lib.tg_reason_name
            return {
                "allowed": bool(d.allowed),
                "decided": bool(d.decided),
                "reason": name(d.reason).decode(),
                "contact": name(d.contact).decode(),
                "level": d.level,
                "lease_expiry": d.lease_expiry,
                "message": d.message.decode("utf-8"),
                "action": d.action.decode("utf-8"),
                "warning": d.warning.decode("utf-8"),
                "entitlements": [d.entitlements[i].decode("utf-8") for i in range(d.entitlement_count)],
            }
        finally:
            self.lib.lib.tg_decision_free(ctypes.byref(d))

    def activate(self, key):
        return self._decision(self.lib.lib.tg_activate, key.encode())

    def check(self, mode=TG_CHECK_POLICY):
        return self._decision(self.lib.lib.tg_check, mode)

    def fingerprint(self):
        need = ctypes.c_size_t()
        self.lib.lib.tg_fingerprint(self.handle, None, 0, ctypes.byref(need))
        buf = ctypes.create_string_buffer(need.value)
        st = self.lib.lib.tg_fingerprint(self.handle, buf, need.value, None)
        if st != TG_OK:
            raise self.lib.error(st)
        return buf.value.decode()

    def deactivate(self):
        st = self.lib.lib.tg_deactivate(self.handle)
        if st != TG_OK:
            raise self.lib.error(st)

    def close(self):
        if self.handle:
            st = self.lib.lib.tg_close(self.handle)
            self.handle = ctypes.c_void_p()
            if st != TG_OK:
                raise self.lib.error(st)


def show(what, d):
    print("%s: allowed=%s reason=%s contact=%s level=%d" % (what, d["allowed"], d["reason"], d["contact"] or "none", d["level"]))
    print("  message: " + d["message"])
    if d["warning"]:
        print("  warning: " + d["warning"])
    print("  entitlements: " + ", ".join(sorted(d["entitlements"])))


def main(argv):
    if len(argv) != 4:
        print("usage: tollgate_example.py CARD STATE_DIR KEY", file=sys.stderr)
        return 2
    card, state, key = argv[1:]
    default = "tollgate.dll" if os.name == "nt" else "libtollgate.so"
    lib = Library(os.environ.get("TOLLGATE_LIBRARY", default))
    print("libtollgate " + lib.lib.tg_version().decode())
    product = key.replace("-", "").replace(" ", "")[:5]
    lic = Licensee(lib, card, product, state)
    try:
        print("fingerprint: " + lic.fingerprint().replace("\n", "; "))
        try:
            lic.activate("THIS-IS-NOT-A-KEY")
        except TollgateError as e:
            print("bad key: %s" % e)
        show("activate", lic.activate(key))
        d = lic.check(TG_CHECK_OFFLINE)
        show("check", d)
        lic.deactivate()
        print("deactivate: done")
        return 0 if d["allowed"] else 1
    except TollgateError as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    finally:
        lic.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
