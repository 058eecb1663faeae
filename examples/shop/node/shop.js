// A shop's order handler in Node.js (standard library only): mints keys
// through the Tollgate bridge (`tollgate-shop serve`) and verifies the
// bridge's webhooks.
//
//   node shop.js mint ORDER_ID PRODUCT COUNT   prints the bridge's answer (JSON)
//   node shop.js webhook PORT                 receives webhooks on 127.0.0.1:PORT/webhook
//
// Environment: TOLLGATE_BRIDGE (default http://127.0.0.1:8088),
// TOLLGATE_BRIDGE_TOKEN (the bridge's bearer token, if it has one),
// TOLLGATE_WEBHOOK_SECRET (the secret the bridge signs webhooks with).
'use strict';
const crypto = require('node:crypto');
const http = require('node:http');

const bridge = process.env.TOLLGATE_BRIDGE || 'http://127.0.0.1:8088';

// mint asks the bridge for count keys of product for the shop's order.
// Retrying with the same order id returns the same keys: call it again
// after a timeout, never with a new id.
async function mint(orderId, product, count) {
  const headers = { 'Content-Type': 'application/json' };
  if (process.env.TOLLGATE_BRIDGE_TOKEN) headers.Authorization = 'Bearer ' + process.env.TOLLGATE_BRIDGE_TOKEN;
  const res = await fetch(bridge + '/v1/orders', {
    method: 'POST',
    headers,
    body: JSON.stringify({ order_id: orderId, product, count }),
  });
  const body = await res.json();
  if (res.status !== 200 && res.status !== 201) {
    // A problem document: title and detail say what is wrong.
    throw new Error(`bridge answered ${res.status}: ${body.title}: ${body.detail}`);
  }
  return { status: res.status, keys: body.keys };
}

// verify checks a webhook's Tollgate-Signature header (t=UNIX,v1=HEX, an
// HMAC-SHA-256 of "t.body" with the secret) and that it is at most
// toleranceSeconds old.
function verify(secret, header, body, toleranceSeconds = 300) {
  const parts = Object.fromEntries(String(header || '').split(',').map((p) => p.split('=', 2)));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || !parts.v1) return false;
  if (Math.abs(Date.now() / 1000 - t) > toleranceSeconds) return false;
  const want = crypto.createHmac('sha256', secret).update(`${t}.`).update(body).digest();
  const got = Buffer.from(parts.v1, 'hex');
  return got.length === want.length && crypto.timingSafeEqual(got, want);
}

function webhook(port) {
  const secret = process.env.TOLLGATE_WEBHOOK_SECRET;
  if (!secret) throw new Error('set TOLLGATE_WEBHOOK_SECRET');
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.method !== 'POST' || req.url !== '/webhook' || !verify(secret, req.headers['tollgate-signature'], body)) {
        console.log('rejected');
        res.writeHead(400).end();
        return;
      }
      const ev = JSON.parse(body);
      console.log(`verified ${ev.type} ${ev.id}`);
      res.writeHead(204).end();
    });
  });
  server.listen(port, '127.0.0.1', () => console.log(`listening on 127.0.0.1:${port}`));
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === 'mint' && args.length === 3) {
  mint(args[0], args[1], Number(args[2])).then(
    (r) => console.log(JSON.stringify(r)),
    (e) => { console.error(e.message); process.exit(1); },
  );
} else if (cmd === 'webhook' && args.length === 1) {
  webhook(Number(args[0]));
} else {
  console.error('usage: node shop.js mint ORDER_ID PRODUCT COUNT | webhook PORT');
  process.exit(2);
}
