"""A shop's order handler in Python (standard library only): mints keys
through the Tollgate bridge (`tollgate-shop serve`) and verifies the
bridge's webhooks.

    python3 shop.py mint ORDER_ID PRODUCT COUNT   prints the bridge's answer (JSON)
    python3 shop.py webhook PORT                 receives webhooks on 127.0.0.1:PORT/webhook

Environment: TOLLGATE_BRIDGE (default http://127.0.0.1:8088),
TOLLGATE_BRIDGE_TOKEN (the bridge's bearer token, if it has one),
TOLLGATE_WEBHOOK_SECRET (the secret the bridge signs webhooks with).
"""
import hashlib
import hmac
import http.server
import json
import os
import sys
import time
import urllib.error
import urllib.request

BRIDGE = os.environ.get("TOLLGATE_BRIDGE", "http://127.0.0.1:8088")


def mint(order_id, product, count):
    """Asks the bridge for count keys of product for the shop's order.
    Retrying with the same order id returns the same keys: call it again
    after a timeout, never with a new id."""
    req = urllib.request.Request(
        BRIDGE + "/v1/orders",
        data=json.dumps({"order_id": order_id, "product": product, "count": count}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    token = os.environ.get("TOLLGATE_BRIDGE_TOKEN")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            return {"status": res.status, "keys": json.load(res)["keys"]}
    except urllib.error.HTTPError as e:
        problem = json.load(e)  # a problem document: title and detail say what is wrong
        raise SystemExit("bridge answered %d: %s: %s" % (e.code, problem.get("title"), problem.get("detail")))


def verify(secret, header, body, tolerance=300):
    """Checks a webhook's Tollgate-Signature header (t=UNIX,v1=HEX, an
    HMAC-SHA-256 of "t.body" with the secret) and that it is at most
    tolerance seconds old."""
    try:
        parts = dict(p.split("=", 1) for p in (header or "").split(","))
        t = int(parts["t"])
        got = bytes.fromhex(parts["v1"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - t) > tolerance:
        return False
    want = hmac.new(secret.encode(), b"%d." % t + body, hashlib.sha256).digest()
    return hmac.compare_digest(got, want)


class Webhook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        secret = os.environ["TOLLGATE_WEBHOOK_SECRET"]
        if self.path != "/webhook" or not verify(secret, self.headers.get("Tollgate-Signature"), body):
            print("rejected", flush=True)
            self.send_response(400)
            self.end_headers()
            return
        ev = json.loads(body)
        print("verified %s %s" % (ev["type"], ev["id"]), flush=True)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def main(argv):
    if len(argv) == 4 and argv[0] == "mint":
        print(json.dumps(mint(argv[1], argv[2], int(argv[3]))))
    elif len(argv) == 2 and argv[0] == "webhook":
        if "TOLLGATE_WEBHOOK_SECRET" not in os.environ:
            raise SystemExit("set TOLLGATE_WEBHOOK_SECRET")
        server = http.server.HTTPServer(("127.0.0.1", int(argv[1])), Webhook)
        print("listening on 127.0.0.1:%s" % argv[1], flush=True)
        server.serve_forever()
    else:
        print("usage: python3 shop.py mint ORDER_ID PRODUCT COUNT | webhook PORT", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
