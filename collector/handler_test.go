package collector

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/exposition"
)

// request sends a GET to the stack's /metrics with header, and returns the
// response with its body read (and gunzipped when the response says so).
func (s *stack) request(t *testing.T, path string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.page.URL+path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	// Without DisableCompression the transport would ask for gzip itself
	// and decompress behind our back.
	hc := &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 30 * time.Second}
	defer hc.CloseIdleConnections()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestHandlerServesEvenWhenEveryCallFails(t *testing.T) {
	s := newStack(t, 0)
	for _, ep := range []string{simulator.EndpointConnectors, simulator.EndpointApps} {
		s.sim.SetFault("", ep, simulator.Fault{Status: 403, Errors: []simulator.Message{{Code: 10000, Message: "Authentication error"}}})
	}
	s.exp.apiMetrics.Observe(api.RequestInfo{Endpoint: api.EndpointApps})
	resp, body := s.request(t, "/metrics", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d:\n%s", resp.StatusCode, body)
	}
	for _, want := range []string{
		`cloudflare_magic_up{account_id="` + simulator.AccountLabs + `",endpoint="apps"} 0`,
		`cloudflare_magic_api_requests_total{code="error",endpoint="apps"} 1`,
		`cloudflare_magic_api_requests_total{code="403",endpoint="apps"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(body, "cloudflare_magic_connector_info") {
		t.Error("connector series served although every call failed")
	}
}

func TestHandlerMethods(t *testing.T) {
	s := newStack(t, 0)
	resp, err := http.Head(s.page.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") == "" {
		t.Errorf("HEAD answered %d %v", resp.StatusCode, resp.Header)
	}
	resp, err = http.Post(s.page.URL+"/metrics", "text/plain", strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST answered %d %v", resp.StatusCode, resp.Header)
	}
	if n := len(s.sim.Requests()); n != 0 {
		t.Errorf("HEAD or POST made %d API calls", n)
	}
}

func TestScrapeTimeout(t *testing.T) {
	for _, tc := range []struct {
		header      string
		max, offset time.Duration
		want        time.Duration
	}{
		{"", 10 * time.Second, 500 * time.Millisecond, 10 * time.Second},
		{"", 0, 0, time.Minute},
		{"5", 10 * time.Second, 500 * time.Millisecond, 4500 * time.Millisecond},
		{"30", 10 * time.Second, 500 * time.Millisecond, 10 * time.Second},
		{"10.3", 10 * time.Second, 500 * time.Millisecond, 9800 * time.Millisecond},
		{"0.3", 10 * time.Second, 500 * time.Millisecond, 300 * time.Millisecond},
		{"NaN", 10 * time.Second, 0, 10 * time.Second},
		{"+Inf", 10 * time.Second, 0, 10 * time.Second},
		{"-1", 10 * time.Second, 0, 10 * time.Second},
		{"soon", 10 * time.Second, 0, 10 * time.Second},
		// Past what a time.Duration holds: the cap, not an overflow into
		// a deadline already gone.
		{"1e10", 10 * time.Second, 500 * time.Millisecond, 10 * time.Second},
		{"1e300", 10 * time.Second, 0, 10 * time.Second},
	} {
		h := http.Header{}
		if tc.header != "" {
			h.Set("X-Prometheus-Scrape-Timeout-Seconds", tc.header)
		}
		if got := ScrapeTimeout(h, tc.max, tc.offset); got != tc.want {
			t.Errorf("ScrapeTimeout(%q, %v, %v) = %v, want %v", tc.header, tc.max, tc.offset, got, tc.want)
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"":                        false,
		"gzip":                    true,
		"GZIP":                    true,
		"deflate, gzip;q=1.0":     true,
		"gzip;q=0":                false,
		"gzip; q=0.0, identity":   false,
		"*":                       true,
		"identity, *;q=0":         false,
		"br;q=1.0, gzip;q=0.5, *": true,
		"gzip;q=0, *":             false,
		"*;q=0":                   false,
		"br, *;q=0.1":             true,
	} {
		if got := exposition.AcceptsGzip(header); got != want {
			t.Errorf("AcceptsGzip(%q) = %v", header, got)
		}
	}
}

// TestHandlerGzip: the page is compressed when the scraper accepts gzip,
// and says the same either way.
func TestHandlerGzip(t *testing.T) {
	s := newStack(t, time.Minute) // the same data for both requests
	resp, zipped := s.request(t, "/metrics", http.Header{"Accept-Encoding": {"gzip"}})
	if resp.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
		t.Errorf("headers %v", resp.Header)
	}
	resp, plain := s.request(t, "/metrics", nil)
	if resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("compressed without Accept-Encoding: %v", resp.Header)
	}
	strip := func(page string) string {
		var out []string
		for _, l := range strings.Split(page, "\n") {
			if !strings.HasPrefix(l, "cloudflare_magic_scrape_duration_seconds") && !strings.HasPrefix(l, "cloudflare_magic_api_") {
				out = append(out, l)
			}
		}
		return strings.Join(out, "\n")
	}
	if len(samples(plain, "cloudflare_magic_connector_info")) == 0 || strip(zipped) != strip(plain) {
		t.Errorf("gzipped and plain pages differ")
	}
}

// prometheus3Accept is the Accept header Prometheus 3 sends by default.
const prometheus3Accept = "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1"

func TestHandlerFormats(t *testing.T) {
	s := newStack(t, 0)
	for _, tc := range []struct {
		name, accept string
		openMetrics  bool
	}{
		{"none", "", false},
		{"openmetrics", "application/openmetrics-text;version=1.0.0", true},
		{"prometheus 3", prometheus3Accept, true},
		{"text", "text/plain;version=0.0.4", false},
		{"protobuf first", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.1", false},
		{"protobuf only", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.accept != "" {
				h.Set("Accept", tc.accept)
			}
			resp, body := s.request(t, "/metrics", h)
			ct := resp.Header.Get("Content-Type")
			if strings.Contains(ct, "protobuf") {
				t.Fatalf("served protobuf: %s", ct)
			}
			counterType := "# TYPE cloudflare_magic_api_requests counter\n"
			if tc.openMetrics {
				if !strings.HasPrefix(ct, "application/openmetrics-text") {
					t.Errorf("Content-Type %q, want OpenMetrics", ct)
				}
				if !strings.HasSuffix(body, "# EOF\n") {
					t.Error("OpenMetrics page does not end with # EOF")
				}
				if !strings.Contains(body, counterType) || !strings.Contains(body, "\ncloudflare_magic_api_requests_total{") {
					t.Errorf("counter not named as OpenMetrics wants:\n%s", grep(body, "api_requests"))
				}
				return
			}
			if !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
				t.Errorf("Content-Type %q, want text 0.0.4", ct)
			}
			if strings.Contains(body, "# EOF") || strings.Contains(body, counterType) ||
				!strings.Contains(body, "# TYPE cloudflare_magic_api_requests_total counter\n") {
				t.Error("text page written as OpenMetrics")
			}
			lint(t, body)
		})
	}
}

func TestHandlerNameFilter(t *testing.T) {
	s := newStack(t, 0)
	global := prometheus.NewRegistry()
	global.MustRegister(collectors.NewGoCollector())
	srv := httptest.NewServer(NewHandler(s.exp, global, HandlerOpts{}))
	defer srv.Close()
	s.page = srv
	_, body := s.request(t, "/?name[]=cloudflare_magic_up&name[]=go_goroutines", nil)
	var families []string
	for _, l := range strings.Split(body, "\n") {
		if name, ok := strings.CutPrefix(l, "# TYPE "); ok {
			families = append(families, strings.Fields(name)[0])
		}
	}
	if strings.Join(families, " ") != "cloudflare_magic_up go_goroutines" {
		t.Errorf("families %v, want cloudflare_magic_up and go_goroutines:\n%s", families, body)
	}
	if n := len(samples(body, "cloudflare_magic_up")); n != 6 {
		t.Errorf("%d up series, want 6: 3 endpoints of 2 accounts", n)
	}
}

// TestLimitInFlight: a second request while the first is served is
// answered 503; once the first is done, requests are served again.
func TestLimitInFlight(t *testing.T) {
	entered, release := make(chan struct{}, 2), make(chan struct{})
	h := exposition.LimitInFlight(1, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
	}))
	serve := func() int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		return rec.Code
	}
	first := make(chan int)
	go func() { first <- serve() }()
	<-entered
	if code := serve(); code != http.StatusServiceUnavailable {
		t.Errorf("second request answered %d while the first is served, want 503", code)
	}
	close(release)
	if code := <-first; code != http.StatusOK {
		t.Errorf("first request answered %d", code)
	}
	if code := serve(); code != http.StatusOK {
		t.Errorf("request after the first ended answered %d", code)
	}
}

// TestInFlightLimitIsShared: /metrics and /probe draw on one bound.
func TestInFlightLimitIsShared(t *testing.T) {
	block, release := make(chan struct{}), make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { block <- struct{}{}; <-release })
	limit := exposition.InFlightLimit(1)
	metrics, probe := httptest.NewServer(limit(slow)), httptest.NewServer(limit(slow))
	defer metrics.Close()
	defer probe.Close()
	go func() { _, _ = http.Get(metrics.URL) }()
	<-block
	resp, err := http.Get(probe.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	close(release)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/probe while /metrics holds the only slot: %d, want 503", resp.StatusCode)
	}
}
