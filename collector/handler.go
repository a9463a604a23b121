package collector

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/exposition"
)

// HandlerOpts configures NewHandler and NewProbeHandler.
type HandlerOpts struct {
	// Timeout bounds every scrape; zero leaves it to the poller.
	Timeout time.Duration
	// TimeoutOffset is subtracted from the scrape timeout Prometheus sends
	// (X-Prometheus-Scrape-Timeout-Seconds), so the page is written before
	// Prometheus gives up on it.
	TimeoutOffset time.Duration
	Logger        log.Logger
}

// NewHandler returns the metrics page. Each request scrapes with the
// deadline ScrapeTimeout computes and the request's context, so a scrape
// Prometheus abandons cancels its API calls and no scrape outlives its
// deadline. global (process, Go runtime, build info) is gathered after the
// scrape, and written on the same page in the same format.
func NewHandler(e *Exporter, global prometheus.Gatherer, opts HandlerOpts) http.Handler {
	logger := orNop(opts.Logger)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !readOnly(w, r) {
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), ScrapeTimeout(r.Header, opts.Timeout, opts.TimeoutOffset))
		defer cancel()
		page := e.Scrape(ctx, nil)
		others, err := global.Gather()
		if err != nil {
			// Gather returns what it could; one bad metric does not blank
			// the page.
			level.Error(logger).Log("msg", "gathering the exporter's own metrics", "err", err)
		}
		write(w, r, page, others, opts, logger)
	})
}

// NewProbeHandler serves /probe?account=<id> in the style of
// blackbox_exporter: just that account's metrics, so that Prometheus (or
// several exporters behind one Service) can spread many accounts with
// ordinary relabelling. An ID that is not 32 hex characters is answered 400
// and never reaches the API; one that is not among the exporter's accounts
// (those given by flag, or else those its credential can list) gets 403.
func NewProbeHandler(e *Exporter, opts HandlerOpts) http.Handler {
	logger := orNop(opts.Logger)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !readOnly(w, r) {
			return
		}
		account := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("account")))
		switch {
		case account == "":
			http.Error(w, "missing parameter: /probe?account=<Cloudflare account ID, 32 hex characters>", http.StatusBadRequest)
			return
		case !api.ValidAccountID(account):
			http.Error(w, "account must be a Cloudflare account ID: 32 hex characters", http.StatusBadRequest)
			return
		case !e.Accounts().Allowed(account) && e.Accounts().Discovering():
			http.Error(w, "account is not among the accounts the exporter's credential can list", http.StatusForbidden)
			return
		case !e.Accounts().Allowed(account):
			http.Error(w, "account is not one of the exporter's --cloudflare.account-id", http.StatusForbidden)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), ScrapeTimeout(r.Header, opts.Timeout, opts.TimeoutOffset))
		defer cancel()
		write(w, r, e.Scrape(ctx, &api.Account{ID: account, Name: e.Accounts().Name(account)}), nil, opts, logger)
	})
}

// readOnly answers what is not a GET: a HEAD gets the headers without
// costing API calls, other methods 405. It reports whether to go on.
func readOnly(w http.ResponseWriter, r *http.Request) bool {
	switch r.Method {
	case http.MethodGet:
		return true
	case http.MethodHead:
		w.Header().Set("Content-Type", exposition.Negotiate(r.Header).ContentType())
		return false
	}
	w.Header().Set("Allow", "GET, HEAD")
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}

// write writes a scrape's page in the format and compression the request
// asks for.
func write(w http.ResponseWriter, r *http.Request, page *Page, others []*dto.MetricFamily, opts HandlerOpts, logger log.Logger) {
	if err := exposition.Serve(w, r, others, page.e.limits, page.Write); err != nil {
		// The client went away, most likely; the status is sent already.
		level.Debug(logger).Log("msg", "writing the metrics page", "err", err)
	}
}

// ScrapeTimeout is how long a scrape may take: the timeout Prometheus
// announces in X-Prometheus-Scrape-Timeout-Seconds minus offset, capped by
// max. When offset would leave nothing, the announced timeout is used as
// is; without the header, max applies (or, if max is 0, a minute).
func ScrapeTimeout(h http.Header, max, offset time.Duration) time.Duration {
	if max <= 0 {
		max = time.Minute
	}
	seconds, err := strconv.ParseFloat(h.Get("X-Prometheus-Scrape-Timeout-Seconds"), 64)
	// A timeout past the cap (a huge one would overflow time.Duration into
	// a negative, already expired deadline) is the cap.
	if err != nil || !(seconds > 0) || seconds >= (max+offset).Seconds() { // NaN and +Inf too
		return max
	}
	d := time.Duration(seconds * float64(time.Second))
	if d > offset {
		d -= offset
	}
	return min(d, max)
}

func orNop(l log.Logger) log.Logger {
	if l == nil {
		return log.NewNopLogger()
	}
	return l
}
