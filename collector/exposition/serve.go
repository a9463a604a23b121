package exposition

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
	dto "github.com/prometheus/client_model/go"
)

// gzipLevel is klauspost/compress's fastest real compression: a page of
// metrics compresses about tenfold even so, and at 10,000 connectors (16
// MiB of text) the standard library's default level costs more CPU than
// the rest of the scrape (docs/performance.md).
const gzipLevel = gzip.BestSpeed

// Serve answers r with a page: it negotiates the format and the
// compression, sets the headers, and hands write a Writer for the page.
// others (the exporter's own registry, gathered) go on the same page in
// the same format. It returns the error of writing the page, after the
// status has been sent, for the caller to log.
func Serve(w http.ResponseWriter, r *http.Request, others []*dto.MetricFamily, limits Limits, write func(*Writer)) error {
	format := Negotiate(r.Header)
	w.Header().Set("Content-Type", format.ContentType())
	w.Header().Add("Vary", "Accept-Encoding")
	if !AcceptsGzip(r.Header.Get("Accept-Encoding")) {
		pw := NewWriter(w, format, FilterFrom(r), others)
		pw.SetLimits(limits)
		write(pw)
		return pw.Close()
	}
	w.Header().Set("Content-Encoding", "gzip")
	// The compressor's state (a megabyte) is reused, and its output
	// written to the connection 64 KiB at a time, not block by block.
	out := outputs.Get().(*bufio.Writer)
	out.Reset(w)
	defer func() {
		out.Reset(io.Discard)
		outputs.Put(out)
	}()
	gz, err := newGzipStream(out)
	defer gz.release()
	pw := NewWriter(gz, format, FilterFrom(r), others)
	pw.SetLimits(limits)
	pw.gz = gz
	write(pw)
	if cerr := pw.Close(); err == nil {
		err = cerr
	}
	if cerr := gz.close(); err == nil {
		err = cerr
	}
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	return err
}

var outputs = sync.Pool{New: func() any { return bufio.NewWriterSize(io.Discard, 64<<10) }}

// AcceptsGzip reads an Accept-Encoding header: gzip with a non-zero
// quality, or, when gzip is not named, * with a non-zero quality.
//
// zstd is not offered: Prometheus asks scrapes for gzip only, so zstd
// would serve no scraper we know of.
func AcceptsGzip(header string) bool {
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

// LimitInFlight answers 503 to requests past the n already being served,
// as promhttp's MaxRequestsInFlight does: a page costs API calls and
// memory, so a flood of scrapers must not pile them up. n <= 0 sets no
// limit.
func LimitInFlight(n int, h http.Handler) http.Handler { return InFlightLimit(n)(h) }

// InFlightLimit returns LimitInFlight as a wrapper of several handlers
// that share the n requests: /metrics and /probe.
func InFlightLimit(n int) func(http.Handler) http.Handler {
	if n <= 0 {
		return func(h http.Handler) http.Handler { return h }
	}
	slots := make(chan struct{}, n)
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case slots <- struct{}{}:
				defer func() { <-slots }()
				h.ServeHTTP(w, r)
			default:
				http.Error(w, "Limit of concurrent requests reached ("+strconv.Itoa(n)+"), try again later.", http.StatusServiceUnavailable)
			}
		})
	}
}
