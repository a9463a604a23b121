package collector

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
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
	promOpts := promhttp.HandlerOpts{
		ErrorLog:      promhttpLogger{orNop(opts.Logger)},
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

// NewProbeHandler serves /probe?account=<id> in the style of
// blackbox_exporter: just that account's metrics, from a fresh registry, so
// that Prometheus (or several exporters behind one Service) can spread many
// accounts with ordinary relabelling. An ID that is not 32 hex characters is
// answered 400 and never reaches the API; with accounts given by flag, any
// other account is answered 403.
func NewProbeHandler(e *Exporter, opts HandlerOpts) http.Handler {
	promOpts := promhttp.HandlerOpts{
		ErrorLog:      promhttpLogger{orNop(opts.Logger)},
		ErrorHandling: promhttp.ContinueOnError,
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		account := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("account")))
		switch {
		case account == "":
			http.Error(w, "missing parameter: /probe?account=<Cloudflare account ID, 32 hex characters>", http.StatusBadRequest)
			return
		case !api.ValidAccountID(account):
			http.Error(w, "account must be a Cloudflare account ID: 32 hex characters", http.StatusBadRequest)
			return
		case !e.accounts.Allowed(account):
			http.Error(w, "account is not one of the exporter's --cloudflare.account-id", http.StatusForbidden)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), ScrapeTimeout(r.Header, opts.Timeout, opts.TimeoutOffset))
		defer cancel()
		reg := prometheus.NewRegistry()
		if err := reg.Register(e.ForAccount(ctx, account)); err != nil {
			http.Error(w, "register collector: "+err.Error(), http.StatusInternalServerError)
			return
		}
		promhttp.HandlerFor(reg, promOpts).ServeHTTP(w, r)
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

func orNop(l log.Logger) log.Logger {
	if l == nil {
		return log.NewNopLogger()
	}
	return l
}

// promhttpLogger adapts go-kit/log to promhttp.Logger.
type promhttpLogger struct{ logger log.Logger }

func (l promhttpLogger) Println(v ...any) {
	level.Error(l.logger).Log("msg", "serving metrics", "err", fmt.Sprint(v...))
}
