package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"callgate/gateway/ship"
)

// AddShipping registers the shipper's series (docs/central.md): read
// returns its status, ok false when no central is configured (then no
// series is written).
func (m *Collector) AddShipping(read func() (ship.ShipStatus, bool)) {
	m.reg.MustRegister(&shipping{read: read, now: time.Now,
		cursor:  prometheus.NewDesc("callgate_ship_cursor", "The last journal event the central acknowledged (this epoch).", nil, nil),
		lag:     prometheus.NewDesc("callgate_ship_lag_events", "Journal events not yet acknowledged by the central.", nil, nil),
		lagAge:  prometheus.NewDesc("callgate_ship_lag_seconds", "Age of the oldest event not yet acknowledged by the central (0 when none waits).", nil, nil),
		success: prometheus.NewDesc("callgate_ship_last_success_timestamp_seconds", "When the central last answered (Unix time; 0 never).", nil, nil),
		failure: prometheus.NewDesc("callgate_ship_last_error_timestamp_seconds", "When shipping last failed (Unix time; 0 never).", nil, nil),
		failing: prometheus.NewDesc("callgate_ship_failing", "1 while the last try to ship failed.", nil, nil),
		stopped: prometheus.NewDesc("callgate_ship_stopped", "1 when the central refused the epoch's hash chain: a person must look.", nil, nil),
		batches: prometheus.NewDesc("callgate_ship_batches_total", "Batches the central acknowledged since start.", nil, nil),
		events:  prometheus.NewDesc("callgate_ship_events_total", "Events the central newly stored since start.", nil, nil),
	})
}

type shipping struct {
	read                                                                     func() (ship.ShipStatus, bool)
	now                                                                      func() time.Time
	cursor, lag, lagAge, success, failure, failing, stopped, batches, events *prometheus.Desc
}

func (s *shipping) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{s.cursor, s.lag, s.lagAge, s.success, s.failure, s.failing, s.stopped, s.batches, s.events} {
		ch <- d
	}
}

func (s *shipping) Collect(ch chan<- prometheus.Metric) {
	st, ok := s.read()
	if !ok {
		return
	}
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	unix := func(t time.Time) float64 {
		if t.IsZero() {
			return 0
		}
		return float64(t.UnixNano()) / 1e9
	}
	gauge(s.cursor, float64(st.Cursor))
	gauge(s.lag, float64(st.LagEvents()))
	gauge(s.lagAge, st.Lag(s.now()).Seconds())
	gauge(s.success, unix(st.LastSuccess))
	gauge(s.failure, unix(st.LastErrorAt))
	gauge(s.failing, boolFloat(st.LastError != ""))
	gauge(s.stopped, boolFloat(st.Stopped))
	ch <- prometheus.MustNewConstMetric(s.batches, prometheus.CounterValue, float64(st.Batches))
	ch <- prometheus.MustNewConstMetric(s.events, prometheus.CounterValue, float64(st.Events))
}
