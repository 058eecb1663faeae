package bridge

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tollgate/tollgate/clients"
)

// EventJSON is an event as the webhooks receive it (the POST's body) and
// as 'tollgate-shop events' prints it. ID is the event's sequence number,
// also sent as the Tollgate-Event-Id header: a receiver that sees an id
// again (delivery is at least once) ignores it. License is the license's
// id in hex, never its key.
type EventJSON struct {
	ID      uint64    `json:"id"`
	Type    string    `json:"type"`
	Time    time.Time `json:"time"`
	License string    `json:"license"`
	Order   string    `json:"order"`
	Product string    `json:"product"`
	Seat    uint32    `json:"seat,omitempty"`
	Seats   uint32    `json:"seats,omitempty"`
	Machine string    `json:"machine,omitempty"`
	Days    uint16    `json:"days,omitempty"`
}

// EventOf returns ev as JSON.
func EventOf(ev clients.Event) EventJSON {
	return EventJSON{ID: ev.Seq, Type: string(ev.Kind), Time: ev.Time.UTC(), License: hex.EncodeToString(ev.License[:]),
		Order: ev.Order, Product: ev.Product, Seat: ev.Seat, Seats: ev.Seats, Machine: ev.Machine, Days: ev.Days}
}

// Sign returns the Tollgate-Signature header of body sent at t:
// "t=UNIX,v1=HEX", HEX the HMAC-SHA-256 of "UNIX.BODY" under secret.
func Sign(secret, body []byte, t time.Time) string {
	unix := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(unix + "."))
	m.Write(body)
	return "t=" + unix + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// DelivererConfig configures a Deliverer.
type DelivererConfig struct {
	Events   EventSource // required
	Webhooks []string    // absolute http or https URLs; at least one
	Secret   []byte      // the HMAC key of the signatures; required
	State    *State      // required
	// RetryFor is how long an event is retried before it is given up
	// (zero: 24 h); retries back off from RetryMin (1 s) doubling to
	// RetryMax (10 min).
	RetryFor, RetryMin, RetryMax time.Duration
	// Timeout bounds one post (zero: 10 s); no answer in time is a
	// failure.
	Timeout time.Duration
	// PollMin and PollMax bound the wait between two reads of the event
	// stream (zero: 200 ms and 5 s): none while a read returns a full batch,
	// PollMin after a partial one, doubling from PollMin to PollMax while
	// there are none.
	PollMin, PollMax time.Duration
	Metrics          *Metrics     // nil: a new set
	Logger           *slog.Logger // nil: discarded
}

// Deliverer follows the shop's events and posts each, in order, to every
// webhook, at least once: the cursor moves past an event only once every
// webhook answered it 2xx, or once RetryFor has passed (the event is then
// recorded in the state's failed.json). A redirect is not followed and
// counts as a failure, as does no answer within Timeout.
type Deliverer struct {
	cfg    DelivererConfig
	client *http.Client
}

// batch is the most events read at once.
const batch = 100

// NewDeliverer checks cfg and returns its deliverer.
func NewDeliverer(cfg DelivererConfig) (*Deliverer, error) {
	switch {
	case cfg.Events == nil || cfg.State == nil:
		return nil, errors.New("bridge: a deliverer needs an event source and a state directory")
	case len(cfg.Webhooks) == 0:
		return nil, errors.New("bridge: no webhook URL")
	case len(cfg.Secret) == 0:
		return nil, errors.New("bridge: webhooks need a secret")
	}
	for _, u := range cfg.Webhooks {
		if err := CheckWebhookURL(u); err != nil {
			return nil, err
		}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.RetryFor, 24*time.Hour)
	def(&cfg.RetryMin, time.Second)
	def(&cfg.RetryMax, 10*time.Minute)
	def(&cfg.Timeout, 10*time.Second)
	def(&cfg.PollMin, 200*time.Millisecond)
	def(&cfg.PollMax, 5*time.Second)
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	client := &http.Client{Timeout: cfg.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &Deliverer{cfg: cfg, client: client}, nil
}

// CheckWebhookURL reports whether u is an absolute http or https URL.
func CheckWebhookURL(u string) error {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return fmt.Errorf("bridge: webhook %q is not an absolute http:// or https:// URL", redactURL(u))
	}
	return nil
}

// redactURL drops credentials, query and fragment, which may hold a
// receiver's secret.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparseable URL)"
	}
	return (&url.URL{Scheme: p.Scheme, Host: p.Host, Path: p.Path}).String()
}

// Run delivers events until ctx ends, from the state's cursor on; it
// returns ctx's error, or an error of the state directory.
func (d *Deliverer) Run(ctx context.Context) error {
	cursor, err := d.cfg.State.Cursor()
	if err != nil {
		return err
	}
	d.cfg.Metrics.cursor.Set(float64(cursor))
	idle := d.cfg.PollMin
	for {
		evs, err := d.cfg.Events.Events(ctx, cursor, batch)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			d.cfg.Logger.Warn("cannot read the shop's events", "error", err)
		}
		for _, ev := range evs {
			if ev.Seq <= cursor {
				continue // already delivered
			}
			if err := d.deliver(ctx, ev); err != nil {
				return err
			}
			if err := d.cfg.State.SetCursor(ev.Seq); err != nil {
				return err
			}
			cursor = ev.Seq
			d.cfg.Metrics.cursor.Set(float64(cursor))
		}
		var wait time.Duration
		switch {
		case len(evs) >= batch:
			idle = d.cfg.PollMin
		case len(evs) > 0:
			wait, idle = d.cfg.PollMin, d.cfg.PollMin
		default:
			wait, idle = idle, min(2*idle, d.cfg.PollMax)
		}
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// deliver posts ev to every webhook until each answered 2xx or RetryFor
// has passed; it returns an error only when ctx ends or the state cannot
// be written.
func (d *Deliverer) deliver(ctx context.Context, ev clients.Event) error {
	js := EventOf(ev)
	body, err := json.Marshal(js)
	if err != nil {
		return fmt.Errorf("bridge: %w", err)
	}
	type pending struct {
		url      string
		attempts int
		last     string
	}
	var left []*pending
	for _, u := range d.cfg.Webhooks {
		left = append(left, &pending{url: u})
	}
	first, backoff := time.Now(), d.cfg.RetryMin
	for {
		kept := left[:0]
		for _, p := range left {
			p.attempts++
			if p.last = d.post(ctx, p.url, ev.Seq, body); p.last != "" {
				kept = append(kept, p)
			}
		}
		left = kept
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if len(left) == 0 {
			d.cfg.Metrics.delay.Observe(time.Since(ev.Time).Seconds())
			return nil
		}
		if time.Since(first) >= d.cfg.RetryFor {
			f := FailedEvent{Event: js, GaveUp: time.Now().UTC()}
			for _, p := range left {
				f.Webhooks = append(f.Webhooks, FailedWebhook{URL: redactURL(p.url), Attempts: p.attempts, Last: p.last})
			}
			d.cfg.Metrics.givenUp.Inc()
			d.cfg.Logger.Warn("webhook event given up", "event", ev.Seq, "webhooks", len(left))
			return d.cfg.State.addFailed(f)
		}
		if err := sleep(ctx, backoff); err != nil {
			return err
		}
		backoff = min(2*backoff, d.cfg.RetryMax)
	}
}

// post sends one event to one webhook; it returns "" for a 2xx, else what
// happened, in words (never the URL's query or the secret).
func (d *Deliverer) post(ctx context.Context, u string, seq uint64, body []byte) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return "the request could not be made"
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "tollgate-shop-bridge")
	req.Header.Set("Tollgate-Event-Id", strconv.FormatUint(seq, 10))
	req.Header.Set("Tollgate-Signature", Sign(d.cfg.Secret, body, time.Now()))
	resp, err := d.client.Do(req)
	outcome := ""
	switch {
	case err != nil && ctx.Err() != nil:
		outcome = "stopped"
	case err != nil:
		var ue *url.Error
		if errors.As(err, &ue) && ue.Timeout() {
			outcome = fmt.Sprintf("no answer within %v", d.cfg.Timeout)
		} else {
			outcome = "connection failed"
		}
	default:
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		switch {
		case resp.StatusCode >= 300 && resp.StatusCode < 400:
			outcome = fmt.Sprintf("answered %d, a redirect (not followed)", resp.StatusCode)
		case resp.StatusCode < 200 || resp.StatusCode >= 300:
			outcome = fmt.Sprintf("answered %d", resp.StatusCode)
		}
	}
	switch outcome {
	case "stopped":
	case "":
		d.cfg.Metrics.delivered.WithLabelValues("ok").Inc()
	default:
		d.cfg.Metrics.delivered.WithLabelValues("failed").Inc()
		d.cfg.Logger.Info("webhook failed", "event", seq, "webhook", redactURL(u), "outcome", outcome)
	}
	return outcome
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
