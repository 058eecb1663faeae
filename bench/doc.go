// Package bench is Tollgate's load benchmark: a library of workloads that
// bench/cmd/tollgate-bench binds to flags, as pebble's bench/ is for
// cmd/pebble.
//
// Each scenario (validate, activate, handshake, mint, mixed, idle-memory)
// is a Config and Run returning a Result: requests per second, errors by
// status, latency percentiles from an HDR histogram, the CPU time the
// gateway process spent per request, and, with Config.Ceiling, the same
// shape of load (connections, streams, requests in flight, encrypted frame
// sizes) run right after against a bare quic-go echo server: the ceiling
// the transport allows on this machine, and the ratio to it.
//
// By default the gateway is embedded: the benchmark prepares a gateway in
// a temporary directory (identity, demo catalogue, the licenses and shops
// the scenario needs) and serves it from a child process, so that its CPU
// time and memory are measured apart from the load generator's. The
// ceiling's echo server is a child process too. Both are copies of the
// running executable started with TOLLGATE_BENCH_CHILD set: every program
// that calls Run must call RunChildIfRequested first thing in main (and in
// TestMain). Against a gateway started separately (Config.Addr and Card)
// the licenses come from the caller, and the gateway's CPU and memory are
// measured only when its pid is given.
//
// Latency is measured from when a request was due: at once in a closed
// loop, at its slot of the schedule in an open loop (Config.Rate), so a
// stalled gateway cannot hide its queue by slowing the load down
// (coordinated omission).
//
// bench loads loopback addresses it is given and nothing else; every loop
// is bounded in time, and every process it starts it stops.
package bench
