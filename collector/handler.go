package collector

import (
	"fmt"
	"net/http"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewHandler returns the metrics page. Every request gets a fresh registry
// holding a collector bound to the request's context, so a scrape that
// Prometheus abandons cancels its API calls; global is gathered alongside
// (process, Go runtime, build info, request counters). One bad metric is
// logged and skipped rather than failing the page.
func NewHandler(e *Exporter, global prometheus.Gatherer, logger log.Logger) http.Handler {
	if logger == nil {
		logger = log.NewNopLogger()
	}
	opts := promhttp.HandlerOpts{
		ErrorLog:      promhttpLogger{logger},
		ErrorHandling: promhttp.ContinueOnError,
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reg := prometheus.NewRegistry()
		if err := reg.Register(e.WithContext(r.Context())); err != nil {
			http.Error(w, "register collector: "+err.Error(), http.StatusInternalServerError)
			return
		}
		// The scrape's own registry goes first: its API calls then show in
		// the request counters of this very page.
		promhttp.HandlerFor(prometheus.Gatherers{reg, global}, opts).ServeHTTP(w, r)
	})
}

// promhttpLogger adapts go-kit/log to promhttp.Logger.
type promhttpLogger struct{ logger log.Logger }

func (l promhttpLogger) Println(v ...any) {
	level.Error(l.logger).Log("msg", "serving metrics", "err", fmt.Sprint(v...))
}
