package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Result is what one run of a scenario measured. Its JSON form is what
// tollgate-bench --json prints: a field that could not be measured in this
// run is null (the gateway's CPU time without its pid, the ceiling without
// Config.Ceiling); fields of other scenarios are left out.
type Result struct {
	Scenario string `json:"scenario"`
	// Mode is "embedded" (a child process this run started) or "addr" (a
	// gateway started separately).
	Mode string `json:"mode"`
	// Store is the embedded gateway's store, "pebble" or "postgresql"
	// (empty with a gateway started separately), and Nodes the gateways
	// sharing it.
	Store    string `json:"store,omitempty"`
	Nodes    int    `json:"nodes,omitempty"`
	Conns    int    `json:"conns"`
	Streams  int    `json:"streams"`
	Inflight int    `json:"inflight"` // per connection
	// Loop is "closed" (each answer lets the next request go) or "open"
	// (requests go at OfferedRate whatever happens to the answers).
	Loop        string   `json:"loop"`
	OfferedRate *float64 `json:"offered_rate"`
	// SendLagP99us is, for an open loop, the 99th percentile of how late
	// the load generator sent requests after they were due (counted in
	// their latency): what the generator itself adds.
	SendLagP99us *float64 `json:"send_lag_p99_us,omitempty"`
	// MaxRequestsPerSec is the closed loop's throughput measured first
	// when the open loop's rate is a fraction of it.
	MaxRequestsPerSec *float64 `json:"max_requests_per_sec,omitempty"`

	DurationS float64 `json:"duration_s"` // the measured window
	// Requests counts every answer in the window, refusals included;
	// Errors names what went wrong, by status.
	Requests       int64            `json:"requests"`
	RequestsPerSec float64          `json:"requests_per_sec"`
	P50us          float64          `json:"p50_us"`
	P90us          float64          `json:"p90_us"`
	P99us          float64          `json:"p99_us"`
	P999us         float64          `json:"p999_us"`
	MaxUs          float64          `json:"max_us"`
	MeanUs         float64          `json:"mean_us"`
	Errors         map[string]int64 `json:"errors"`
	// RequestBytes and ResponseBytes are the mean sizes of a request and
	// an answer on the stream, as the channel sends them (frame, message
	// lengths, tags): what the ceiling sends too.
	RequestBytes  int `json:"request_bytes"`
	ResponseBytes int `json:"response_bytes"`

	// The gateway process, over the window: CPU time per answer, cores
	// used, resident memory at the end.
	GatewayCPUUsPerReq *float64 `json:"gateway_cpu_us_per_req"`
	GatewayCPUCores    *float64 `json:"gateway_cpu_cores"`
	GatewayRSSBytes    *int64   `json:"gateway_rss_bytes"`
	// LoadCPUUsPerReq is the load generator's own CPU time per answer
	// (this process; the gateway's is apart when embedded).
	LoadCPUUsPerReq *float64 `json:"load_cpu_us_per_req"`

	// The ceiling with the same shape, run right after.
	CeilingRequestsPerSec  *float64 `json:"ceiling_requests_per_sec"`
	CeilingP50us           *float64 `json:"ceiling_p50_us"`
	CeilingP99us           *float64 `json:"ceiling_p99_us"`
	CeilingCPUUsPerReq     *float64 `json:"ceiling_cpu_us_per_req"`
	CeilingLoadCPUUsPerReq *float64 `json:"ceiling_load_cpu_us_per_req"`
	// With an open loop, the ceiling offered the same rate too: what it
	// answered and its latency.
	CeilingOpenRequestsPerSec *float64 `json:"ceiling_open_requests_per_sec,omitempty"`
	CeilingOpenP50us          *float64 `json:"ceiling_open_p50_us,omitempty"`
	CeilingOpenP99us          *float64 `json:"ceiling_open_p99_us,omitempty"`
	// Ratio is RequestsPerSec over CeilingRequestsPerSec; for idle-memory,
	// the gateway's bytes per session over the bare server's per
	// connection.
	Ratio *float64 `json:"ratio"`
	// validate with --ceiling: CPURatio is the gateway's CPU per answer
	// over the echo server's (GatewayCPUUsPerReq / CeilingCPUUsPerReq), and
	// with an open loop P99Ratio the scenario's p99 over the bare quic-go
	// open loop's at the same offered rate (P99us / CeilingOpenP99us).
	CPURatio *float64 `json:"cpu_ratio,omitempty"`
	P99Ratio *float64 `json:"p99_ratio,omitempty"`

	// activate: lease signing alone on every core, and the ratio to it.
	SignPerSec *float64 `json:"sign_per_sec,omitempty"`
	SignRatio  *float64 `json:"sign_ratio,omitempty"`
	// activate: LeaseBatch is the gateway's lease_batch in the run the
	// main figures are of (64 unless set); the Unbatched figures are of
	// the run before it, with one signature per lease (lease_batch 1), and
	// BatchRatio is RequestsPerSec over UnbatchedPerSec.
	LeaseBatch           int      `json:"lease_batch,omitempty"`
	UnbatchedPerSec      *float64 `json:"unbatched_requests_per_sec,omitempty"`
	UnbatchedP99us       *float64 `json:"unbatched_p99_us,omitempty"`
	UnbatchedCPUUsPerReq *float64 `json:"unbatched_gateway_cpu_us_per_req,omitempty"`
	BatchRatio           *float64 `json:"batch_ratio,omitempty"`
	// activate: the mean number of leases per signature and the share of
	// leases signed alone, from the leases answered (warm-up included).
	LeasesPerSignature *float64 `json:"leases_per_signature,omitempty"`
	LeasesAlone        *float64 `json:"leases_alone_share,omitempty"`
	// mint: keys per request, keys per second.
	Batch      int      `json:"batch,omitempty"`
	KeysPerSec *float64 `json:"keys_per_sec,omitempty"`
	// idle-memory: sessions held, and memory per session.
	Sessions                 int      `json:"sessions,omitempty"`
	GatewayRSSPerSession     *float64 `json:"gateway_rss_per_session_bytes,omitempty"`
	CeilingRSSPerConn        *float64 `json:"ceiling_rss_per_conn_bytes,omitempty"`
	GatewayRSSBaseBytes      *int64   `json:"gateway_rss_base_bytes,omitempty"`
	CeilingRSSBaseBytes      *int64   `json:"ceiling_rss_base_bytes,omitempty"`
	CeilingRSSBytes          *int64   `json:"ceiling_rss_bytes,omitempty"`
	CeilingOpenPerSec        *float64 `json:"ceiling_open_per_sec,omitempty"`
	GatewaySessionsOpenedSec *float64 `json:"sessions_opened_per_sec,omitempty"`
	// flood: the Initials a second asked and sent, the share that do not
	// decrypt, from how many addresses, whether the gateway defended
	// itself; validations a second without the flood (RequestsPerSec is
	// with it, Ratio the one over the other); the gateway's RSS at the
	// flood's peak and after it (its handshakes timed out, garbage
	// collected), GatewayRSSBaseBytes at its peak in the same load without
	// the flood.
	FloodOfferedPerSec      *float64 `json:"flood_offered_per_sec,omitempty"`
	FloodSentPerSec         *float64 `json:"flood_sent_per_sec,omitempty"`
	FloodUndecryptable      *float64 `json:"flood_undecryptable_share,omitempty"`
	FloodSources            int      `json:"flood_sources,omitempty"`
	FloodDefence            string   `json:"flood_defence,omitempty"`
	UnfloodedRequestsPerSec *float64 `json:"unflooded_requests_per_sec,omitempty"`
	GatewayRSSPeakBytes     *int64   `json:"gateway_rss_peak_bytes,omitempty"`
	GatewayRSSAfterBytes    *int64   `json:"gateway_rss_after_bytes,omitempty"`
	// revoke-delay: the latency fields are the delays, Requests the
	// revocations; these are the validations node B still answered OK
	// after a revocation's answer, in all and at most for one license.
	StaleValidations    *int64 `json:"stale_validations,omitempty"`
	StaleValidationsMax *int64 `json:"stale_validations_max,omitempty"`
	// mint-http: orders through the bridge and through the shop client,
	// batch by batch, and webhook delivery.
	MintHTTP *MintHTTPFigures `json:"mint_http,omitempty"`
	// mixed: each operation apart.
	Ops map[string]OpStats `json:"ops,omitempty"`

	// Targets are the targets this run can judge.
	Targets []Target `json:"targets"`
	// Throughput is answers per second, second by second, in the window.
	Throughput        []float64 `json:"throughput"`
	CeilingThroughput []float64 `json:"ceiling_throughput,omitempty"`
	Notes             []string  `json:"notes,omitempty"`
	Interrupted       bool      `json:"interrupted,omitempty"`
	Machine           Machine   `json:"machine"`

	hist, ceilingHist *hdrhistogram.Histogram // for the report
}

// OpStats is one operation of a mixed load.
type OpStats struct {
	Requests int64   `json:"requests"`
	P50us    float64 `json:"p50_us"`
	P99us    float64 `json:"p99_us"`
}

// Target is one of the targets as this run measured it.
type Target struct {
	Name  string   `json:"name"`
	Goal  string   `json:"goal"`
	Value *float64 `json:"value"` // null: not measured in this run
	Met   *bool    `json:"met"`   // null: not measured in this run
	Note  string   `json:"note,omitempty"`
}

// Machine is where a run ran.
type Machine struct {
	CPUs       int    `json:"nproc"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	CPUModel   string `json:"cpu_model"`
	Go         string `json:"go"`
	OS         string `json:"os"`
	// LoadAvg is /proc/loadavg when the run started: other work on the
	// machine shares its CPUs with the benchmark.
	LoadAvg string `json:"loadavg,omitempty"`
}

func thisMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m.LoadAvg = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

func ptr[T any](v T) *T { return &v }

// usOf returns a histogram's value at percentile p in µs.
func usOf(h *hdrhistogram.Histogram, p float64) float64 {
	if h == nil || h.TotalCount() == 0 {
		return 0
	}
	return float64(h.ValueAtPercentile(p))
}

// fill sets the throughput and latency fields from a phase.
func (r *Result) fill(pr *phaseResult) {
	r.DurationS = pr.elapsed.Seconds()
	r.Requests = pr.requests
	r.RequestsPerSec = pr.rps()
	r.hist = pr.hist
	r.P50us, r.P90us, r.P99us, r.P999us = usOf(pr.hist, 50), usOf(pr.hist, 90), usOf(pr.hist, 99), usOf(pr.hist, 99.9)
	r.MaxUs = float64(pr.hist.Max())
	r.MeanUs = pr.hist.Mean()
	r.Errors = pr.errors
	req, resp := pr.meanSizes()
	r.RequestBytes, r.ResponseBytes = recordSize(req), recordSize(resp)
	r.Throughput = pr.series
	r.Interrupted = r.Interrupted || pr.interrupt
	if pr.lag != nil && pr.lag.TotalCount() > 0 {
		r.SendLagP99us = ptr(usOf(pr.lag, 99))
	}
	if len(pr.ops) > 1 {
		r.Ops = map[string]OpStats{}
		for _, o := range pr.ops {
			r.Ops[o.name] = OpStats{Requests: o.requests, P50us: usOf(o.hist, 50), P99us: usOf(o.hist, 99)}
		}
	}
}

// errorCount returns the number of errors.
func (r *Result) errorCount() int64 {
	var n int64
	for _, v := range r.Errors {
		n += v
	}
	return n
}

func (r *Result) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// target records a target: value against goal, met when ok(value).
func (r *Result) target(name, goal string, value *float64, ok func(float64) bool, note string) {
	t := Target{Name: name, Goal: goal, Value: value, Note: note}
	if value != nil {
		t.Met = ptr(ok(*value))
	}
	r.Targets = append(r.Targets, t)
}

// WriteText writes r for people.
func (r *Result) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s\t%s\n", k, fmt.Sprintf(format, args...)) }
	shape := fmt.Sprintf("%d conns x %d streams, %d in flight per conn", r.Conns, r.Streams, r.Inflight)
	switch r.Scenario {
	case string(Handshake):
		shape = fmt.Sprintf("%d new connections at a time", r.Conns)
	case string(IdleMemory):
		shape = fmt.Sprintf("%d sessions, opened %d at a time", r.Sessions, r.Conns)
	case string(RevokeDelay):
		shape = "one install, one shop, one revocation at a time"
	}
	if r.Store != "" {
		shape += fmt.Sprintf("; %s store", r.Store)
	}
	if r.Nodes > 1 {
		shape += fmt.Sprintf(", %d nodes", r.Nodes)
	}
	loop := r.Loop + " loop"
	if r.OfferedRate != nil {
		loop += fmt.Sprintf(" at %.0f req/s", *r.OfferedRate)
	}
	if r.Scenario == string(RevokeDelay) {
		p("scenario", "%s (%s; %s)", r.Scenario, r.Mode, shape)
	} else {
		p("scenario", "%s (%s; %s; %s)", r.Scenario, r.Mode, loop, shape)
	}
	if r.MaxRequestsPerSec != nil {
		p("closed-loop max", "%.0f req/s (the open loop offers a fraction of it)", *r.MaxRequestsPerSec)
	}
	if r.Scenario == string(RevokeDelay) {
		p("revocations", "%d in %.1f s", r.Requests, r.DurationS)
		p("delay", "from the revocation's answer (node A) to the first REVOKED (node B), one validation's round trip included")
		if r.StaleValidations != nil {
			p("stale answers", "%d validations answered OK by node B after a revocation's answer, at most %d for one license", *r.StaleValidations, *r.StaleValidationsMax)
		}
	} else {
		p("window", "%.1f s, %d answers", r.DurationS, r.Requests)
		p("throughput", "%.0f req/s", r.RequestsPerSec)
	}
	if r.KeysPerSec != nil {
		p("keys", "%.0f keys/s durable (batches of %d)", *r.KeysPerSec, r.Batch)
	}
	p("latency", "p50 %s  p90 %s  p99 %s  p99.9 %s  max %s", fmtUs(r.P50us), fmtUs(r.P90us), fmtUs(r.P99us), fmtUs(r.P999us), fmtUs(r.MaxUs))
	if r.SendLagP99us != nil {
		p("send lag", "p99 %s (how late the load generator sent requests; part of their latency)", fmtUs(*r.SendLagP99us))
	}
	p("errors", "%s", fmtErrors(r.Errors))
	if r.MintHTTP != nil {
		r.MintHTTP.writeText(p)
	}
	if len(r.Ops) > 0 {
		names := make([]string, 0, len(r.Ops))
		for k := range r.Ops {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			o := r.Ops[k]
			p("  "+k, "%d answers, p50 %s, p99 %s", o.Requests, fmtUs(o.P50us), fmtUs(o.P99us))
		}
	}
	if r.RequestBytes > 0 {
		p("frames", "%d B request, %d B answer, on the stream", r.RequestBytes, r.ResponseBytes)
	}
	per := "answer"
	if r.Scenario == string(IdleMemory) {
		per = "session opened"
	}
	if r.GatewayCPUUsPerReq != nil && r.GatewayCPUCores != nil {
		p("gateway cpu", "%.1f µs per %s (%.2f cores)", *r.GatewayCPUUsPerReq, per, *r.GatewayCPUCores)
	} else if r.Scenario != string(Ceiling) && r.Scenario != string(RevokeDelay) {
		p("gateway cpu", "not measured (no pid of the gateway)")
	}
	if r.LoadCPUUsPerReq != nil {
		p("load cpu", "%.1f µs per answer (the load generator)", *r.LoadCPUUsPerReq)
	}
	if r.GatewayRSSBytes != nil {
		p("gateway rss", "%.1f MB", float64(*r.GatewayRSSBytes)/(1<<20))
	}
	if r.FloodOfferedPerSec != nil {
		sent := "not measured"
		if r.FloodSentPerSec != nil {
			sent = fmt.Sprintf("%.0f/s sent", *r.FloodSentPerSec)
		}
		p("flood", "%.0f Initials/s asked, %s, %.0f%% undecryptable, from %d loopback addresses; defence %s",
			*r.FloodOfferedPerSec, sent, 100**r.FloodUndecryptable, r.FloodSources, r.FloodDefence)
	}
	if r.UnfloodedRequestsPerSec != nil {
		p("validations", "%.0f/s without the flood, %.0f/s under it", *r.UnfloodedRequestsPerSec, r.RequestsPerSec)
	}
	if r.GatewayRSSPeakBytes != nil {
		p("gateway rss", "peak %.1f MB without the flood, peak %.1f MB under it, %.1f MB after it (handshakes timed out, garbage collected)",
			float64(*r.GatewayRSSBaseBytes)/(1<<20), float64(*r.GatewayRSSPeakBytes)/(1<<20), float64(*r.GatewayRSSAfterBytes)/(1<<20))
	}
	if r.UnbatchedPerSec != nil {
		cpu := ""
		if r.UnbatchedCPUUsPerReq != nil {
			cpu = fmt.Sprintf(", gateway cpu %.1f µs per answer", *r.UnbatchedCPUUsPerReq)
		}
		p("one sig per lease", "%.0f activations/s, p99 %s%s (lease_batch 1, the run before)", *r.UnbatchedPerSec, fmtUs(*r.UnbatchedP99us), cpu)
		p("batched", "%.0f activations/s, p99 %s (lease_batch %d, the run above)", r.RequestsPerSec, fmtUs(r.P99us), r.LeaseBatch)
	}
	if r.LeasesPerSignature != nil {
		p("lease signatures", "%.2f leases per signature, %.0f%% of leases signed alone (warm-up included)", *r.LeasesPerSignature, 100**r.LeasesAlone)
	}
	if r.SignPerSec != nil {
		p("signing alone", "%.0f leases/s on %d goroutines", *r.SignPerSec, r.Machine.CPUs)
	}
	if r.GatewayRSSPerSession != nil && r.GatewayRSSBaseBytes != nil {
		p("gateway memory", "%.1f KB per idle session (RSS %.1f MB before the sessions, %.1f MB with them)",
			*r.GatewayRSSPerSession/1024, float64(*r.GatewayRSSBaseBytes)/(1<<20), float64(*r.GatewayRSSBytes)/(1<<20))
	}
	if r.CeilingRSSPerConn != nil {
		p("bare memory", "%.1f KB per idle connection (RSS %.1f MB before the connections, %.1f MB with them)",
			*r.CeilingRSSPerConn/1024, float64(*r.CeilingRSSBaseBytes)/(1<<20), float64(*r.CeilingRSSBytes)/(1<<20))
	}
	if r.CeilingRequestsPerSec != nil {
		cpu := ""
		if r.CeilingCPUUsPerReq != nil {
			cpu = fmt.Sprintf(", echo server %.1f µs per answer", *r.CeilingCPUUsPerReq)
		}
		if r.CeilingLoadCPUUsPerReq != nil {
			cpu += fmt.Sprintf(", load %.1f µs per answer", *r.CeilingLoadCPUUsPerReq)
		}
		p("ceiling", "%.0f req/s (p50 %s, p99 %s)%s", *r.CeilingRequestsPerSec, fmtUs(*r.CeilingP50us), fmtUs(*r.CeilingP99us), cpu)
	}
	if r.CeilingOpenRequestsPerSec != nil {
		p("ceiling, open loop", "%.0f req/s answered of %.0f offered (p50 %s, p99 %s)", *r.CeilingOpenRequestsPerSec, *r.OfferedRate,
			fmtUs(*r.CeilingOpenP50us), fmtUs(*r.CeilingOpenP99us))
	}
	if r.Ratio != nil {
		p("ratio", "%.3f", *r.Ratio)
	}
	if r.SignRatio != nil {
		p("ratio to signing", "%.3f", *r.SignRatio)
	}
	if r.BatchRatio != nil {
		p("batched / one sig", "%.3f", *r.BatchRatio)
	}
	if r.CPURatio != nil {
		p("cpu ratio", "%.3f (gateway cpu per validation / echo server cpu per request)", *r.CPURatio)
	}
	if r.P99Ratio != nil {
		p("p99 ratio", "%.3f (p99 / bare quic-go's p99 at the same offered rate)", *r.P99Ratio)
	}
	for _, t := range r.Targets {
		p("target", "%s (%s): %s", t.Name, t.Goal, verdict(t))
	}
	for _, n := range r.Notes {
		p("note", "%s", n)
	}
	if r.Interrupted {
		p("interrupted", "the run was stopped early; figures cover what ran")
	}
	return tw.Flush()
}

func verdict(t Target) string {
	if t.Value == nil || t.Met == nil {
		s := "not measured"
		if t.Note != "" {
			s += ": " + t.Note
		}
		return s
	}
	s := fmt.Sprintf("%.3g", *t.Value)
	if *t.Met {
		s += ", met"
	} else {
		s += ", MISSED"
	}
	if t.Note != "" {
		s += " (" + t.Note + ")"
	}
	return s
}

func fmtUs(us float64) string {
	switch {
	case us >= 1e6:
		return fmt.Sprintf("%.2fs", us/1e6)
	case us >= 1000:
		return fmt.Sprintf("%.2fms", us/1000)
	}
	return fmt.Sprintf("%.0fµs", us)
}

func fmtErrors(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// WriteTable writes several results as one table, one row each.
func WriteTable(w io.Writer, rs []*Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\treq/s\tp50\tp99\tp99.9\terrors\tgateway µs/req\tceiling req/s\tratio\ttargets\t")
	for _, r := range rs {
		cpu, ceil, ratio := "-", "-", "-"
		if r.GatewayCPUUsPerReq != nil {
			cpu = fmt.Sprintf("%.1f", *r.GatewayCPUUsPerReq)
		}
		if r.CeilingRequestsPerSec != nil {
			ceil = fmt.Sprintf("%.0f", *r.CeilingRequestsPerSec)
		}
		if r.Ratio != nil {
			ratio = fmt.Sprintf("%.3f", *r.Ratio)
		}
		var ts []string
		for _, t := range r.Targets {
			switch {
			case t.Met == nil:
				ts = append(ts, "n/a")
			case *t.Met:
				ts = append(ts, "met")
			default:
				ts = append(ts, "MISSED")
			}
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t\n", r.Scenario, r.RequestsPerSec,
			fmtUs(r.P50us), fmtUs(r.P99us), fmtUs(r.P999us), r.errorCount(), cpu, ceil, ratio, strings.Join(ts, ","))
	}
	return tw.Flush()
}
