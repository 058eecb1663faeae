package bridge

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the bridge's figures, served at GET /metrics:
//
//	tollgate_bridge_requests_total{route,code}          requests answered, by route pattern and HTTP status
//	tollgate_bridge_request_duration_seconds{route}     time to answer, a histogram
//	tollgate_bridge_gateway_up                          1 while the gateway answers, else 0
//	tollgate_bridge_webhook_deliveries_total{result}    webhook posts, "ok" (2xx) or "failed"
//	tollgate_bridge_webhook_delay_seconds               from an event's time to its last webhook's 2xx
//	tollgate_bridge_webhook_given_up_total              events given up after --webhook-retry-for
//	tollgate_bridge_webhook_cursor                      the last event delivered everywhere
//
// Routes are patterns (/v1/licenses/{key}), never paths: a path may hold
// a key.
type Metrics struct {
	reg       *prometheus.Registry
	handler   http.Handler
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	gatewayUp prometheus.Gauge
	delivered *prometheus.CounterVec
	delay     prometheus.Histogram
	givenUp   prometheus.Counter
	cursor    prometheus.Gauge
}

// NewMetrics returns a fresh set of figures, with the Go runtime's and
// the process's.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tollgate_bridge_requests_total",
		Help: "HTTP requests answered, by route pattern and status code."}, []string{"route", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tollgate_bridge_request_duration_seconds",
		Help: "Time to answer an HTTP request, by route pattern.", Buckets: prometheus.DefBuckets}, []string{"route"})
	m.gatewayUp = prometheus.NewGauge(prometheus.GaugeOpts{Name: "tollgate_bridge_gateway_up",
		Help: "1 while the gateway answers the shop channel, 0 while it does not."})
	m.delivered = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tollgate_bridge_webhook_deliveries_total",
		Help: "Webhook posts: ok (a 2xx) or failed (anything else, a timeout, a redirect)."}, []string{"result"})
	m.delay = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "tollgate_bridge_webhook_delay_seconds",
		Help:    "Seconds from an event's time at the gateway to the last of its webhooks answering 2xx.",
		Buckets: prometheus.ExponentialBuckets(0.5, 4, 10)})
	m.givenUp = prometheus.NewCounter(prometheus.CounterOpts{Name: "tollgate_bridge_webhook_given_up_total",
		Help: "Events not delivered to every webhook within the retry time, listed by 'tollgate-shop events --failed'."})
	m.cursor = prometheus.NewGauge(prometheus.GaugeOpts{Name: "tollgate_bridge_webhook_cursor",
		Help: "The sequence number of the last event delivered to every webhook (or given up)."})
	m.reg.MustRegister(m.requests, m.latency, m.gatewayUp, m.delivered, m.delay, m.givenUp, m.cursor,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.delivered.WithLabelValues("ok")
	m.delivered.WithLabelValues("failed")
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return m
}

// statusWriter remembers the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// instrument counts and times h's answers under route, and logs the
// refused and failed ones (route and status only).
func (s *Server) instrument(route string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h(sw, r)
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		s.metrics.requests.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
		s.metrics.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
		if sw.code >= 400 {
			s.log.Info("request refused", "method", r.Method, "route", route, "status", sw.code)
		}
	}
}
