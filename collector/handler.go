package collector

import (
	"context"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/klauspost/compress/gzip"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

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

// NewHandler returns the metrics page. Each request scrapes with the
// deadline ScrapeTimeout computes and the request's context, so a scrape
// Prometheus abandons cancels its API calls and no scrape outlives its
// deadline. The Magic WAN families are written straight into the text
// format (see textSink); global (process, Go runtime, build info, API
// metrics) is gathered after the scrape, so that its request counters
// include this scrape's calls, and encoded alongside.
func NewHandler(e *Exporter, global prometheus.Gatherer, opts HandlerOpts) http.Handler {
	logger := orNop(opts.Logger)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !readOnly(w, r) {
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), ScrapeTimeout(r.Header, opts.Timeout, opts.TimeoutOffset))
		defer cancel()
		outcome := e.scrape(ctx, nil)
		others, err := global.Gather()
		if err != nil {
			// Gather returns what it could; one bad metric does not blank
			// the page.
			level.Error(logger).Log("msg", "gathering the exporter's own metrics", "err", err)
		}
		serveText(w, r, outcome, others, logger)
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
		case !e.accounts.Allowed(account) && e.accounts.Discovering():
			http.Error(w, "account is not among the accounts the exporter's credential can list", http.StatusForbidden)
			return
		case !e.accounts.Allowed(account):
			http.Error(w, "account is not one of the exporter's --cloudflare.account-id", http.StatusForbidden)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), ScrapeTimeout(r.Header, opts.Timeout, opts.TimeoutOffset))
		defer cancel()
		serveText(w, r, e.scrape(ctx, &api.Account{ID: account, Name: e.accounts.Name(account)}), nil, logger)
	})
}

// readOnly answers what is not a GET: a HEAD gets the headers without
// costing API calls, other methods 405. It reports whether to go on.
func readOnly(w http.ResponseWriter, r *http.Request) bool {
	switch r.Method {
	case http.MethodGet:
		return true
	case http.MethodHead:
		w.Header().Set("Content-Type", textContentType)
		return false
	}
	w.Header().Set("Allow", "GET, HEAD")
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}

// textContentType is the text exposition format, version 0.0.4, which
// every Prometheus accepts.
var textContentType = string(expfmt.NewFormat(expfmt.TypeTextPlain))

// serveText writes a scrape's page, gzipped when the client accepts it:
// with klauspost/compress at its fastest level, since the page compresses
// well anyway, and at 10,000 connectors (16 MiB of text) the standard
// library's default level costs more CPU than the whole rest of the scrape.
func serveText(w http.ResponseWriter, r *http.Request, outcome *scrapeOutcome, others []*dto.MetricFamily, logger log.Logger) {
	w.Header().Set("Content-Type", textContentType)
	w.Header().Add("Vary", "Accept-Encoding")
	var body io.Writer = w
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		w.Header().Set("Content-Encoding", "gzip")
		gz, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
		defer func() {
			if err := gz.Close(); err != nil {
				level.Debug(logger).Log("msg", "writing the metrics page", "err", err)
			}
		}()
		body = gz
	}
	out := newTextSink(body, others)
	outcome.emit(out)
	if err := out.close(); err != nil {
		// The client went away, most likely; the status is sent already.
		level.Debug(logger).Log("msg", "writing the metrics page", "err", err)
	}
}

// acceptsGzip reads an Accept-Encoding header: gzip with a non-zero
// quality, or, when gzip is not named, * with a non-zero quality.
func acceptsGzip(header string) bool {
	gzipQ, starQ := -1.0, -1.0
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(k, "q") {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					q = f
				}
			}
		}
		switch coding = strings.TrimSpace(coding); {
		case strings.EqualFold(coding, "gzip"):
			gzipQ = q
		case coding == "*":
			starQ = q
		}
	}
	if gzipQ >= 0 {
		return gzipQ > 0
	}
	return starQ > 0
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
	if err != nil || !(seconds > 0) || math.IsInf(seconds, 1) { // NaN too
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
