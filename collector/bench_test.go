package collector

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
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
func (f *fixedClient) ListApps(context.Context, string) ([]api.App, error) { return f.apps, nil }
func (f *fixedClient) BackoffRemaining() time.Duration                     { return 0 }

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
	e, err := New(Config{Client: largeClient(b, n), Accounts: FixedAccounts(simulator.AccountLarge), Now: func() time.Time { return testNow }})
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// BenchmarkCollectAndEncode measures one scrape of a LargeFleet account
// (n connectors and n apps) after the API answers are decoded, as /metrics
// serves it: collect into the text sink and write the exposition.
func BenchmarkCollectAndEncode(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 50_000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			e := benchmarkExporter(b, n)
			b.ReportAllocs()
			for b.Loop() {
				out := newTextSink(io.Discard, nil)
				e.scrape(context.Background(), nil).emit(out)
				if err := out.close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCollectorPath measures the same scrape through client_golang:
// const metrics gathered by a registry and encoded by expfmt. It is what
// the text sink replaced on /metrics, kept to show why.
func BenchmarkCollectorPath(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 50_000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			e := benchmarkExporter(b, n)
			b.ReportAllocs()
			for b.Loop() {
				reg := prometheus.NewRegistry()
				reg.MustRegister(e.WithContext(context.Background()))
				mfs, err := reg.Gather()
				if err != nil {
					b.Fatal(err)
				}
				enc := expfmt.NewEncoder(io.Discard, expfmt.NewFormat(expfmt.TypeTextPlain))
				for _, mf := range mfs {
					if err := enc.Encode(mf); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
