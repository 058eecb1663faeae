<?php
// Receives the Tollgate bridge's webhooks and verifies their signature:
//
//   TOLLGATE_WEBHOOK_SECRET=... php -S 127.0.0.1:PORT webhook.php
//
// Each verified event is written to standard output as "verified TYPE ID".

// tollgate_verify checks a Tollgate-Signature header (t=UNIX,v1=HEX, an
// HMAC-SHA-256 of "t.body" with the secret) and that it is at most
// $tolerance seconds old.
function tollgate_verify(string $secret, string $header, string $body, int $tolerance = 300): bool
{
    $parts = [];
    foreach (explode(',', $header) as $p) {
        $kv = explode('=', $p, 2);
        if (count($kv) === 2) {
            $parts[$kv[0]] = $kv[1];
        }
    }
    if (!isset($parts['t'], $parts['v1']) || !ctype_digit($parts['t'])) {
        return false;
    }
    if (abs(time() - (int) $parts['t']) > $tolerance) {
        return false;
    }
    $want = hash_hmac('sha256', $parts['t'] . '.' . $body, $secret);
    return hash_equals($want, strtolower($parts['v1']));
}

$out = fopen('php://stdout', 'w');
$body = file_get_contents('php://input');
$secret = getenv('TOLLGATE_WEBHOOK_SECRET') ?: '';
if ($_SERVER['REQUEST_METHOD'] !== 'POST' || parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH) !== '/webhook'
    || $secret === '' || !tollgate_verify($secret, $_SERVER['HTTP_TOLLGATE_SIGNATURE'] ?? '', $body)) {
    fwrite($out, "rejected\n");
    http_response_code(400);
    return;
}
$ev = json_decode($body, true);
fwrite($out, "verified {$ev['type']} {$ev['id']}\n");
http_response_code(204);
