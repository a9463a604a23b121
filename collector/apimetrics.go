package collector

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
)

// RequestMetrics counts the exporter's requests to the Cloudflare API. It
// lives as long as the process: register it once, and hand Observe to the
// API client.
type RequestMetrics struct {
	requests *prometheus.CounterVec
}

// NewRequestMetrics returns an empty RequestMetrics.
func NewRequestMetrics() *RequestMetrics {
	return &RequestMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "api_requests_total",
			Help:      "Requests made to the Cloudflare API, by endpoint and HTTP status code (error when no response arrived). A rise in 429 means the rate limit is reached; in 403, the token lacks permission.",
		}, []string{"endpoint", "code"}),
	}
}

// Observe counts one request. Its signature fits api.Config.Observe.
func (m *RequestMetrics) Observe(ri api.RequestInfo) {
	code := "error"
	if ri.StatusCode != 0 {
		code = strconv.Itoa(ri.StatusCode)
	}
	m.requests.WithLabelValues(ri.Endpoint, code).Inc()
}

// Describe implements prometheus.Collector.
func (m *RequestMetrics) Describe(ch chan<- *prometheus.Desc) { m.requests.Describe(ch) }

// Collect implements prometheus.Collector.
func (m *RequestMetrics) Collect(ch chan<- prometheus.Metric) { m.requests.Collect(ch) }
