package collector

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
)

// APIMetrics describes the exporter's use of the Cloudflare API over the
// life of the process: requests by endpoint and status, and the rate limit
// the latest responses reported. Register it once, and hand Observe to the
// API client.
type APIMetrics struct {
	requests *prometheus.CounterVec

	remaining, reset, limit *prometheus.Desc
	now                     func() time.Time

	mu     sync.Mutex
	latest api.RateLimit
	seenAt time.Time
}

// NewAPIMetrics returns an APIMetrics that has seen no request yet. now
// defaults to time.Now.
func NewAPIMetrics(now func() time.Time) *APIMetrics {
	if now == nil {
		now = time.Now
	}
	return &APIMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "api_requests_total",
			Help:      "Requests made to the Cloudflare API, by endpoint and HTTP status code (error when no response arrived). A rise in 429 means the rate limit is reached; in 403, the token lacks permission.",
		}, []string{"endpoint", "code"}),
		remaining: prometheus.NewDesc(namespace+"_api_ratelimit_remaining",
			"Requests left in the current rate-limit window, from the Ratelimit header of the latest response. Near 0, every call will soon be answered 429 for five minutes. Absent when unknown.",
			nil, nil),
		reset: prometheus.NewDesc(namespace+"_api_ratelimit_reset_seconds",
			"Seconds until the current rate-limit window resets, from the Ratelimit header of the latest response. Absent when unknown.",
			nil, nil),
		limit: prometheus.NewDesc(namespace+"_api_ratelimit_limit",
			"Requests allowed per rate-limit window (shared by every token, key and dashboard session of the user), from the Ratelimit-Policy header. Absent when the API sent none.",
			nil, nil),
		now: now,
	}
}

// Observe counts one request and keeps its rate-limit headers. Its
// signature fits api.Config.Observe.
func (m *APIMetrics) Observe(ri api.RequestInfo) {
	code := "error"
	if ri.StatusCode != 0 {
		code = strconv.Itoa(ri.StatusCode)
	}
	m.requests.WithLabelValues(ri.Endpoint, code).Inc()

	m.mu.Lock()
	defer m.mu.Unlock()
	if rl := ri.RateLimit; rl.HasRemaining {
		// Concurrent responses arrive in any order: within one window the
		// lowest remaining count is the latest truth; a window ending
		// later is a new one.
		now := m.now()
		oldEnd, newEnd := m.seenAt.Add(m.latest.Reset), now.Add(rl.Reset)
		if !m.latest.HasRemaining || newEnd.Sub(oldEnd) > time.Second || rl.Remaining < m.latest.Remaining {
			m.latest.HasRemaining, m.latest.Remaining, m.latest.Reset = true, rl.Remaining, rl.Reset
			m.seenAt = now
		}
	}
	if ri.RateLimit.HasPolicy {
		m.latest.HasPolicy, m.latest.Limit, m.latest.Window = true, ri.RateLimit.Limit, ri.RateLimit.Window
	}
}

// Describe implements prometheus.Collector.
func (m *APIMetrics) Describe(ch chan<- *prometheus.Desc) {
	m.requests.Describe(ch)
	ch <- m.remaining
	ch <- m.reset
	ch <- m.limit
}

// Collect implements prometheus.Collector. The remaining count and reset
// time are emitted only while the window they describe lasts: after it,
// they would no longer be true.
func (m *APIMetrics) Collect(ch chan<- prometheus.Metric) {
	m.requests.Collect(ch)
	m.mu.Lock()
	latest, seenAt := m.latest, m.seenAt
	m.mu.Unlock()
	if latest.HasRemaining {
		if left := latest.Reset - m.now().Sub(seenAt); left > 0 {
			ch <- prometheus.MustNewConstMetric(m.remaining, prometheus.GaugeValue, latest.Remaining)
			ch <- prometheus.MustNewConstMetric(m.reset, prometheus.GaugeValue, left.Seconds())
		}
	}
	if latest.HasPolicy {
		ch <- prometheus.MustNewConstMetric(m.limit, prometheus.GaugeValue, latest.Limit)
	}
}
