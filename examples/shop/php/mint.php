<?php
// A shop's order handler in PHP (standard library only): mints keys through
// the Tollgate bridge (`tollgate-shop serve`).
//
//   php mint.php ORDER_ID PRODUCT COUNT   prints the bridge's answer (JSON)
//
// Environment: TOLLGATE_BRIDGE (default http://127.0.0.1:8088),
// TOLLGATE_BRIDGE_TOKEN (the bridge's bearer token, if it has one).

// tollgate_mint asks the bridge for $count keys of $product for the shop's
// order. Retrying with the same order id returns the same keys: call it
// again after a timeout, never with a new id.
function tollgate_mint(string $orderId, string $product, int $count): array
{
    $bridge = getenv('TOLLGATE_BRIDGE') ?: 'http://127.0.0.1:8088';
    $headers = "Content-Type: application/json\r\n";
    if ($token = getenv('TOLLGATE_BRIDGE_TOKEN')) {
        $headers .= "Authorization: Bearer $token\r\n";
    }
    $ctx = stream_context_create(['http' => [
        'method' => 'POST',
        'header' => $headers,
        'content' => json_encode(['order_id' => $orderId, 'product' => $product, 'count' => $count]),
        'ignore_errors' => true,
        'timeout' => 30,
    ]]);
    $body = file_get_contents("$bridge/v1/orders", false, $ctx);
    if ($body === false) {
        throw new RuntimeException("the bridge at $bridge does not answer");
    }
    preg_match('#^HTTP/\S+ (\d+)#', $http_response_header[0], $m);
    $status = (int) $m[1];
    $answer = json_decode($body, true);
    if ($status !== 200 && $status !== 201) {
        // A problem document: title and detail say what is wrong.
        throw new RuntimeException("bridge answered $status: {$answer['title']}: {$answer['detail']}");
    }
    return ['status' => $status, 'keys' => $answer['keys']];
}

if (PHP_SAPI === 'cli' && realpath($argv[0]) === __FILE__) {
    if ($argc !== 4) {
        fwrite(STDERR, "usage: php mint.php ORDER_ID PRODUCT COUNT\n");
        exit(2);
    }
    try {
        echo json_encode(tollgate_mint($argv[1], $argv[2], (int) $argv[3])), "\n";
    } catch (RuntimeException $e) {
        fwrite(STDERR, $e->getMessage() . "\n");
        exit(1);
    }
}
