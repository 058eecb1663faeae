package bench

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"math"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// WriteReport writes results as one self-contained HTML page: for each, a
// summary, a latency-by-percentile chart and a throughput-over-time chart,
// inline SVG with the ceiling beside the scenario when it ran. The page
// loads nothing from anywhere.
func WriteReport(w io.Writer, rs []*Result) error {
	var b bytes.Buffer
	b.WriteString(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Tollgate load benchmark</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:1em 0}td,th{padding:.2em .8em;border-bottom:1px solid #eee;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.met{color:#070}.missed{color:#b00}.na{color:#777}
svg{background:#fff;border:1px solid #ddd;margin:.5em 1em .5em 0}
svg text{font-size:11px;fill:#333}
</style></head><body>
<h1>Tollgate load benchmark</h1>
`)
	if len(rs) > 0 {
		m := rs[0].Machine
		fmt.Fprintf(&b, "<p>%s &middot; %d CPUs (GOMAXPROCS %d) &middot; %s &middot; %s &middot; %s</p>\n",
			esc(m.CPUModel), m.CPUs, m.GOMAXPROCS, esc(m.Go), esc(m.OS), time.Now().UTC().Format(time.RFC3339))
	}
	for _, r := range rs {
		reportOne(&b, r)
	}
	b.WriteString("</body></html>\n")
	_, err := w.Write(b.Bytes())
	return err
}

func esc(s string) string { return html.EscapeString(s) }

func reportOne(b *bytes.Buffer, r *Result) {
	fmt.Fprintf(b, "<h2>%s</h2>\n", esc(r.Scenario))
	var text strings.Builder
	r.WriteText(&text)
	b.WriteString("<table>\n")
	for _, line := range strings.Split(strings.TrimRight(text.String(), "\n"), "\n") {
		k, v, _ := strings.Cut(line, "  ")
		class := ""
		switch {
		case strings.HasSuffix(strings.TrimSpace(v), "met") || strings.Contains(v, ", met "):
			class = ` class="met"`
		case strings.Contains(v, "MISSED"):
			class = ` class="missed"`
		case strings.Contains(v, "not measured"):
			class = ` class="na"`
		}
		fmt.Fprintf(b, "<tr><th>%s</th><td%s>%s</td></tr>\n", esc(strings.TrimSpace(k)), class, esc(strings.TrimSpace(v)))
	}
	b.WriteString("</table>\n")
	var lines []series
	if r.hist != nil && r.hist.TotalCount() > 0 {
		lines = append(lines, series{name: r.Scenario, color: "#1f77b4", pts: percentileCurve(r.hist)})
	}
	if r.ceilingHist != nil && r.ceilingHist.TotalCount() > 0 && r.Scenario != string(Ceiling) {
		lines = append(lines, series{name: "ceiling (bare quic-go)", color: "#ff7f0e", pts: percentileCurve(r.ceilingHist)})
	}
	if len(lines) > 0 {
		latencyChart(b, lines)
	}
	var tput []series
	if len(r.Throughput) > 0 {
		tput = append(tput, series{name: r.Scenario, color: "#1f77b4", pts: perSecond(r.Throughput)})
	}
	if len(r.CeilingThroughput) > 0 && r.Scenario != string(Ceiling) {
		tput = append(tput, series{name: "ceiling (bare quic-go)", color: "#ff7f0e", pts: perSecond(r.CeilingThroughput)})
	}
	if len(tput) > 0 {
		throughputChart(b, tput)
	}
}

type point struct{ x, y float64 }

type series struct {
	name, color string
	pts         []point
}

// percentileCurve samples h from the 0th percentile to the 99.999th, x
// being the number of nines (log10 of 1/(1-p)), y µs.
func percentileCurve(h *hdrhistogram.Histogram) []point {
	var pts []point
	for k := 0; k <= 50; k++ {
		x := float64(k) / 10
		p := 100 * (1 - math.Pow(10, -x))
		pts = append(pts, point{x, float64(h.ValueAtPercentile(p))})
	}
	return pts
}

func perSecond(v []float64) []point {
	pts := make([]point, len(v))
	for i, y := range v {
		pts[i] = point{float64(i + 1), y}
	}
	return pts
}

// Chart geometry.
const (
	chartW, chartH         = 520, 300
	padL, padR, padT, padB = 70, 35, 45, 45
)

type chart struct {
	b            *bytes.Buffer
	xmax, ymax   float64
	title, xname string
}

func (c *chart) px(x float64) float64 { return padL + x/c.xmax*(chartW-padL-padR) }
func (c *chart) py(y float64) float64 { return chartH - padB - y/c.ymax*(chartH-padT-padB) }

func (c *chart) open() {
	fmt.Fprintf(c.b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`+"\n",
		chartW, chartH, chartW, chartH, esc(c.title))
	fmt.Fprintf(c.b, `<text x="%d" y="18" font-weight="bold">%s</text>`+"\n", padL, esc(c.title))
	fmt.Fprintf(c.b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#999"/>`+"\n", padL, chartH-padB, chartW-padR, chartH-padB)
	fmt.Fprintf(c.b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#999"/>`+"\n", padL, padT, padL, chartH-padB)
	fmt.Fprintf(c.b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`+"\n", (padL+chartW-padR)/2, chartH-8, esc(c.xname))
	for i := 0; i <= 4; i++ {
		y := c.ymax * float64(i) / 4
		fmt.Fprintf(c.b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eee"/>`+"\n", padL, c.py(y), chartW-padR, c.py(y))
		fmt.Fprintf(c.b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", padL-5, c.py(y)+4, c.ylabel(y))
	}
}

func (c *chart) ylabel(y float64) string {
	switch {
	case c.xname == "percentile":
		return fmtUs(y)
	case y >= 10000:
		return fmt.Sprintf("%.0fk", y/1000)
	}
	return fmt.Sprintf("%.0f", y)
}

func (c *chart) lines(ss []series) {
	for i, s := range ss {
		var pts strings.Builder
		for _, p := range s.pts {
			fmt.Fprintf(&pts, "%.1f,%.1f ", c.px(p.x), c.py(math.Min(p.y, c.ymax)))
		}
		fmt.Fprintf(c.b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", s.color, strings.TrimSpace(pts.String()))
		lx := padL + 10 + 200*i
		fmt.Fprintf(c.b, `<line x1="%d" y1="32" x2="%d" y2="32" stroke="%s" stroke-width="2"/><text x="%d" y="36">%s</text>`+"\n",
			lx, lx+20, s.color, lx+25, esc(s.name))
	}
	c.b.WriteString("</svg>\n")
}

func maxY(ss []series) float64 {
	m := 0.0
	for _, s := range ss {
		for _, p := range s.pts {
			m = math.Max(m, p.y)
		}
	}
	if m <= 0 {
		return 1
	}
	return m * 1.1
}

// latencyChart draws latency against percentile, the percentile axis in
// nines so the tail is as wide as the body.
func latencyChart(b *bytes.Buffer, ss []series) {
	c := &chart{b: b, xmax: 5, ymax: maxY(ss), title: "Latency by percentile", xname: "percentile"}
	c.open()
	for k, label := range []string{"0%", "90%", "99%", "99.9%", "99.99%", "99.999%"} {
		x := c.px(float64(k))
		fmt.Fprintf(b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#eee"/><text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n",
			x, padT, x, chartH-padB, x, chartH-padB+15, label)
	}
	c.lines(ss)
}

// throughputChart draws answers per second, second by second.
func throughputChart(b *bytes.Buffer, ss []series) {
	xmax := 1.0
	for _, s := range ss {
		xmax = math.Max(xmax, float64(len(s.pts)))
	}
	c := &chart{b: b, xmax: xmax, ymax: maxY(ss), title: "Throughput (answers per second)", xname: "seconds into the measured window"}
	c.open()
	step := math.Max(1, math.Ceil(xmax/10))
	for x := 0.0; x <= xmax; x += step {
		fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle">%.0f</text>`+"\n", c.px(x), chartH-padB+15, x)
	}
	c.lines(ss)
}
