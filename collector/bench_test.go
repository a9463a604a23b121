package collector

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/exposition"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/poll"
)

// fixedClient answers from decoded slices, so a benchmark measures the
// exporter's work after the decode.
type fixedClient struct {
	connectors []api.Connector
	apps       []api.App
}

func (f *fixedClient) ListConnectors(context.Context, string) ([]api.Connector, error) {
	return f.connectors, nil
}
func (f *fixedClient) ListApps(context.Context, string) ([]api.App, error)   { return f.apps, nil }
func (f *fixedClient) ListSites(context.Context, string) ([]api.Site, error) { return nil, nil }
func (f *fixedClient) BackoffRemaining() time.Duration                       { return 0 }

func largeClient(tb testing.TB, n int) *fixedClient {
	tb.Helper()
	a := simulator.LargeFleet(testNow, n, n)
	wire := make([]simulator.Connector, len(a.Connectors))
	for i, c := range a.Connectors {
		wire[i] = c.At(testNow)
	}
	f := &fixedClient{}
	b, err := json.Marshal(wire)
	if err != nil {
		tb.Fatal(err)
	}
	if f.connectors, err = api.DecodeConnectors(b); err != nil {
		tb.Fatal(err)
	}
	if b, err = json.Marshal(a.Apps); err != nil {
		tb.Fatal(err)
	}
	if f.apps, err = api.DecodeApps(b); err != nil {
		tb.Fatal(err)
	}
	return f
}

func benchmarkExporter(b *testing.B, n int) *Exporter {
	p, err := poll.New(poll.Config{Client: largeClient(b, n), Accounts: poll.FixedAccounts(simulator.AccountLarge), Now: func() time.Time { return testNow }})
	if err != nil {
		b.Fatal(err)
	}
	e, err := New(Config{Poller: p, Now: func() time.Time { return testNow }})
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// BenchmarkCollectAndEncode measures one scrape of a LargeFleet account
// (n connectors and n apps) after the API answers are decoded: poll, lay
// out the page and write it in the text format.
func BenchmarkCollectAndEncode(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 50_000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			e := benchmarkExporter(b, n)
			b.ReportAllocs()
			for b.Loop() {
				w := exposition.NewWriter(io.Discard, exposition.Text, nil, nil)
				e.Scrape(context.Background(), nil).Write(w)
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// discard is a ResponseWriter that throws the page away.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkHandler measures one whole /metrics request of a LargeFleet
// account of 10,000 connectors and apps, as Prometheus asks for it: plain
// text, gzip, or OpenMetrics.
func BenchmarkHandler(b *testing.B) {
	const n = 10_000
	e := benchmarkExporter(b, n)
	h := NewHandler(e, prometheus.NewRegistry(), HandlerOpts{})
	for _, tc := range []struct {
		name   string
		header http.Header
	}{
		{"identity", http.Header{}},
		{"gzip", http.Header{"Accept-Encoding": {"gzip"}}},
		{"openmetrics", http.Header{"Accept": {"application/openmetrics-text;version=1.0.0"}}},
	} {
		b.Run(fmt.Sprintf("n=%d/%s", n, tc.name), func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			req.Header = tc.header
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(&discard{h: http.Header{}}, req)
			}
		})
	}
}
