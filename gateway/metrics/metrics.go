// Package metrics exposes the engine's counters to Prometheus and answers the
// health check: an adapter that imports gateway only.
package metrics

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"callgate/gateway"
)

// Engine is what the collector reads: the engine's status.
type Engine interface {
	Status() gateway.Status
}

// Collector exposes the engine's counters to Prometheus. Counters are read
// from the engine's status at scrape time; only the latency histogram is fed
// as postings complete.
type Collector struct {
	engine  Engine
	queries gateway.Queries
	reg     *prometheus.Registry
	latency prometheus.Histogram

	records, replays, parseErrors, notCalls *prometheus.Desc
	postings, queued, oldest, inDoubt       *prometheus.Desc
	exceptions, link, pbxSilent, alarms     *prometheus.Desc
	oversize, resolving                     *prometheus.Desc
}

// New returns the collector of e's status and q's queue, registered with
// the Go and process collectors in a registry of its own.
func New(e Engine, q gateway.Queries) *Collector {
	m := &Collector{engine: e, queries: q, reg: prometheus.NewRegistry()}
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("callgate_"+name, help, labels, nil)
	}
	m.records = d("records_read_total", "Raw records read from the PBX and journaled.")
	m.replays = d("replays_dropped_total", "Records the PBX sent again (buffer replays), dropped.")
	m.parseErrors = d("parse_errors_total", "Records that could not be read as calls.")
	m.notCalls = d("non_call_lines_total", "Header, summary and information lines.")
	m.postings = d("postings_total", "Postings sent to the PMS, by outcome.", "outcome")
	m.queued = d("queue_depth", "Postings waiting to be sent.")
	m.oldest = d("queue_oldest_seconds", "Age of the oldest posting waiting to be sent.")
	m.inDoubt = d("in_doubt", "Postings in doubt, waiting for the night auditor.")
	m.resolving = d("resolving", "Postings whose answer was lost, being proven with the PMS (looked up, or sent again with the same key).")
	m.exceptions = d("exceptions", "Entries in the exception queue.")
	m.link = d("pms_link_state", "The PMS link's state (1 for the current one).", "state")
	m.oversize = d("pms_oversize_frames_total", "Records from the PMS longer than its protocol allows, dropped unread.")
	m.pbxSilent = d("pbx_silent", "1 while the PBX has sent nothing for the configured time.")
	m.alarms = d("alarms", "Alarms standing, by kind (fraud, room-credit and notify-failed count one per extension and rule, room or target).", "kind")
	m.latency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "callgate_posting_latency_seconds",
		Help:    "From a record's arrival to the PMS's OK for its posting.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5, 30, 300, 3600},
	})
	m.reg.MustRegister(m, m.latency, prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

// AddCounters registers callgate_<name>: counters read from read at scrape
// time, one series per key of its map with the key as label, or with label
// "" one series, the sum (for an adapter's own counters, such as the PBX
// port's refused connections).
func (m *Collector) AddCounters(name, help, label string, read func() map[string]int64) {
	var labels []string
	if label != "" {
		labels = []string{label}
	}
	m.reg.MustRegister(&funcCounters{desc: prometheus.NewDesc("callgate_"+name, help, labels, nil), labelled: label != "", read: read})
}

// funcCounters is the collector AddCounters registers.
type funcCounters struct {
	desc     *prometheus.Desc
	labelled bool
	read     func() map[string]int64
}

func (f *funcCounters) Describe(ch chan<- *prometheus.Desc) { ch <- f.desc }

func (f *funcCounters) Collect(ch chan<- prometheus.Metric) {
	sum := int64(0)
	for k, v := range f.read() {
		if f.labelled {
			ch <- prometheus.MustNewConstMetric(f.desc, prometheus.CounterValue, float64(v), k)
		}
		sum += v
	}
	if !f.labelled {
		ch <- prometheus.MustNewConstMetric(f.desc, prometheus.CounterValue, float64(sum))
	}
}

// ObserveLatency records one posting's time from arrival to the PMS's OK.
func (m *Collector) ObserveLatency(d time.Duration) { m.latency.Observe(d.Seconds()) }

// Handler serves the registry in Prometheus's text format.
func (m *Collector) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Describe implements prometheus.Collector.
func (m *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.records, m.replays, m.parseErrors, m.notCalls, m.postings, m.queued,
		m.oldest, m.inDoubt, m.resolving, m.exceptions, m.link, m.pbxSilent, m.alarms, m.oversize} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *Collector) Collect(ch chan<- prometheus.Metric) {
	st := m.engine.Status()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter(m.records, st.RecordsRead)
	counter(m.replays, st.Replays)
	counter(m.parseErrors, st.ParseErrors)
	counter(m.notCalls, st.NotCalls)
	counter(m.oversize, uint64(max(st.PMS.OversizeFrames, 0)))
	for _, o := range []gateway.PostOutcome{gateway.PostPosted, gateway.PostRefused, gateway.PostTransient, gateway.PostInDoubt, gateway.PostInvalid} {
		counter(m.postings, st.Postings[o], string(o))
	}
	for _, s := range []gateway.LinkState{gateway.LinkDown, gateway.LinkConnecting, gateway.LinkStarting, gateway.LinkAlive, gateway.LinkClosed} {
		v := 0.0
		if st.PMS.State == s {
			v = 1
		}
		gauge(m.link, v, string(s))
	}
	alarms := map[gateway.AlarmKind]int{}
	for _, a := range st.Alarms {
		alarms[a.Kind]++
	}
	for _, k := range gateway.AlarmKinds { // per subject alarms (fraud, room-credit, notify-failed) count
		gauge(m.alarms, float64(alarms[k]), string(k))
	}
	gauge(m.pbxSilent, boolFloat(alarms[gateway.AlarmPBXSilent] > 0))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if counts, err := m.queries.Counts(ctx); err == nil {
		gauge(m.queued, float64(counts.States[gateway.StateQueued]))
		gauge(m.inDoubt, float64(counts.States[gateway.StateInDoubt]))
		gauge(m.resolving, float64(counts.States[gateway.StateResolving]))
		gauge(m.exceptions, float64(counts.States[gateway.StateException]))
	}
	age := 0.0
	if es, err := m.queries.Entries(ctx, gateway.Filter{States: []gateway.State{gateway.StateQueued}, Limit: 1}); err == nil && len(es) > 0 {
		age = time.Since(es[0].Updated).Seconds()
	}
	gauge(m.oldest, age)
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Healthz answers 200 with the engine's alarms while the journal can be
// read and written, 503 when it cannot be read, or while the engine's
// journal-write alarm is up (its last write failed: a raw record or a PMS's
// answer waits in memory to be journaled).
func Healthz(e Engine, q gateway.Queries) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		st := e.Status()
		body := struct {
			Status string          `json:"status"`
			PMS    string          `json:"pms"`
			Alarms []gateway.Alarm `json:"alarms"`
			Error  string          `json:"error,omitempty"`
		}{Status: "ok", PMS: string(st.PMS.State), Alarms: append([]gateway.Alarm{}, st.Alarms...)}
		code := http.StatusOK
		if len(st.Alarms) > 0 {
			body.Status = "alarm"
		}
		for _, a := range st.Alarms {
			if a.Kind == gateway.AlarmJournalWrite {
				code, body.Status, body.Error = http.StatusServiceUnavailable, "down", "the journal cannot be written"
			}
		}
		if _, err := q.Counts(r.Context()); err != nil {
			code, body.Status, body.Error = http.StatusServiceUnavailable, "down", "the journal cannot be read"
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(body)
	}
}
