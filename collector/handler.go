package collector

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// HandlerOpts configures NewHandler.
type HandlerOpts struct {
	// Timeout bounds every scrape; zero leaves it to the Exporter.
	Timeout time.Duration
	// TimeoutOffset is subtracted from the scrape timeout Prometheus sends
	// (X-Prometheus-Scrape-Timeout-Seconds), so the page is written before
	// Prometheus gives up on it.
	TimeoutOffset time.Duration
	Logger        log.Logger
}

// NewHandler returns the metrics page. Every request gets a fresh registry
// holding a collector bound to the request's context, with the deadline
// ScrapeTimeout computes, so a scrape Prometheus abandons cancels its API
// calls and no scrape outlives its deadline; global is gathered alongside
// (process, Go runtime, build info, API metrics). One bad metric is logged
// and skipped rather than failing the page.
func NewHandler(e *Exporter, global prometheus.Gatherer, opts HandlerOpts) http.Handler {
	logger := opts.Logger
	if logger == nil {
		logger = log.NewNopLogger()
	}
	promOpts := promhttp.HandlerOpts{
		ErrorLog:      promhttpLogger{logger},
		ErrorHandling: promhttp.ContinueOnError,
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), ScrapeTimeout(r.Header, opts.Timeout, opts.TimeoutOffset))
		defer cancel()
		reg := prometheus.NewRegistry()
		if err := reg.Register(e.WithContext(ctx)); err != nil {
			http.Error(w, "register collector: "+err.Error(), http.StatusInternalServerError)
			return
		}
		// The scrape's own registry goes first: its API calls then show in
		// the request counters of this very page.
		promhttp.HandlerFor(prometheus.Gatherers{reg, global}, promOpts).ServeHTTP(w, r)
	})
}

// ScrapeTimeout is how long a scrape may take: the timeout Prometheus
// announces in X-Prometheus-Scrape-Timeout-Seconds minus offset, capped by
// max. When offset would leave nothing, the announced timeout is used as
// is; without the header, max applies (or, if max is 0, a minute).
func ScrapeTimeout(h http.Header, max, offset time.Duration) time.Duration {
	if max <= 0 {
		max = time.Minute
	}
	v := h.Get("X-Prometheus-Scrape-Timeout-Seconds")
	if v == "" {
		return max
	}
	seconds, err := strconv.ParseFloat(v, 64)
	if err != nil || !(seconds > 0) || seconds > max.Seconds() { // NaN too
		return max
	}
	announced := time.Duration(seconds * float64(time.Second))
	if announced-offset > 0 {
		return announced - offset
	}
	return announced
}

// promhttpLogger adapts go-kit/log to promhttp.Logger.
type promhttpLogger struct{ logger log.Logger }

func (l promhttpLogger) Println(v ...any) {
	level.Error(l.logger).Log("msg", "serving metrics", "err", fmt.Sprint(v...))
}
