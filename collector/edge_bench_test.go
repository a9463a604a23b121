package collector

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/poll"
)

// heapObjects is the runtime metric of the bytes of heap objects, live or
// not yet swept: what the process holds, garbage included, between GCs.
const heapObjects = "/memory/classes/heap/objects:bytes"

func heapNow() uint64 {
	s := []metrics.Sample{{Name: heapObjects}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// peakHeap samples heapObjects every 100 µs until the returned function is
// called, which returns the highest sample. Sampling misses peaks shorter
// than its period and costs a little CPU; runtime/metrics reads do not stop
// the world.
func peakHeap() func() uint64 {
	var (
		mu   sync.Mutex
		peak = heapNow()
		done = make(chan struct{})
		wg   sync.WaitGroup
	)
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(100 * time.Microsecond):
			}
			if h := heapNow(); h > peak {
				mu.Lock()
				peak = h
				mu.Unlock()
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		if h := heapNow(); h > peak {
			peak = h
		}
		return peak
	}
}

// settledHeap is the heap after a full collection: what is live.
func settledHeap() uint64 {
	runtime.GC()
	runtime.GC()
	return heapNow()
}

const mib = 1 << 20

// largeEdge is an Edge of one LargeFleet account of 10,000 connectors and
// 20,000 tunnels, querying the simulated API over real HTTP at testNow.
// With recorded, the client asks a server that answers every query with
// the simulator's answer, recorded once: the simulator's work to build it
// is left out.
func largeEdge(b *testing.B, recorded bool) *poll.Edge {
	b.Helper()
	sim := simulator.NewServer([]simulator.Account{simulator.LargeFleet(testNow, 10_000, 10)},
		simulator.WithClock(func() time.Time { return testNow }), simulator.WithToken(simulator.DemoToken),
		// The benchmark asks far more often than a real exporter would.
		simulator.WithGraphQLRateLimit(1<<30, 5*time.Minute), simulator.WithRateLimit(1<<30, 5*time.Minute))
	auth, err := api.TokenAuth(simulator.DemoToken)
	if err != nil {
		b.Fatal(err)
	}
	url := sim.Start(b)
	if recorded {
		url = recordedGraphQL(b, url)
	}
	client, err := api.New(api.Config{BaseURL: url, Auth: auth, Now: func() time.Time { return testNow }})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(client.CloseIdleConnections)
	e, err := poll.NewEdge(poll.EdgeConfig{Client: client, Accounts: poll.FixedAccounts(simulator.AccountLarge),
		Interval: time.Minute, Timeout: time.Minute, Now: func() time.Time { return testNow }})
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// BenchmarkEdge measures the edge view of one account of 10,000
// connectors and 20,000 tunnels (simulator.LargeFleet and LargeEdge):
// every dataset answers its 10,000-row limit, about 70,000 rows a query.
//
//   - refresh: one refresh as the background loop does it: the GraphQL
//     query over real HTTP to the simulator in this process (its work to
//     build the answer included), decoding, and the fold into the view.
//     view-MiB is the heap the view holds once built; peak-heap-MiB is the
//     highest heap, garbage included, during the timed refreshes, above
//     the heap before them.
//   - refresh-recorded: the same, against a server that answers the
//     simulator's recorded answer, so the exporter's own work only.
//   - page: one GET /metrics of that view through the handler, in the text
//     format, into a discarding writer; the REST part of the page is empty
//     (see BenchmarkHandler for that), so this is the edge view's share.
func BenchmarkEdge(b *testing.B) {
	ctx := context.Background()
	for _, c := range []struct {
		name     string
		recorded bool
	}{{"refresh", false}, {"refresh-recorded", true}} {
		b.Run(c.name, func(b *testing.B) { benchmarkRefresh(b, largeEdge(b, c.recorded)) })
	}
	b.Run("page", func(b *testing.B) {
		e := largeEdge(b, false)
		e.RefreshAll(ctx)
		p, err := poll.New(poll.Config{Client: &fixedClient{}, Accounts: poll.FixedAccounts(simulator.AccountLarge),
			Now: func() time.Time { return testNow }, Edge: e})
		if err != nil {
			b.Fatal(err)
		}
		exp, err := New(Config{Poller: p, Now: func() time.Time { return testNow }})
		if err != nil {
			b.Fatal(err)
		}
		h := NewHandler(exp, prometheus.NewRegistry(), HandlerOpts{})
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		w := &countingDiscard{discard: discard{h: http.Header{}}}
		h.ServeHTTP(w, req)
		if w.n < 10*mib {
			b.Fatalf("a page of %d bytes: the view is not on it", w.n)
		}
		base := settledHeap()
		b.ReportAllocs()
		b.ResetTimer()
		stop := peakHeap()
		for b.Loop() {
			h.ServeHTTP(&discard{h: http.Header{}}, req)
		}
		peak := stop()
		b.StopTimer()
		b.ReportMetric(float64(peak-min(base, peak))/mib, "peak-heap-MiB")
		b.ReportMetric(float64(w.n)/mib, "page-MiB")
	})
}

// benchmarkRefresh times e.Refresh of the large account, after a first one
// that builds the view.
func benchmarkRefresh(b *testing.B, e *poll.Edge) {
	ctx := context.Background()
	before := settledHeap()
	e.RefreshAll(ctx)
	base := settledHeap()
	view := base - min(before, base)
	if e.View(simulator.AccountLarge) == nil {
		b.Fatal("no view")
	}
	b.ReportAllocs()
	b.ResetTimer()
	stop := peakHeap()
	for b.Loop() {
		e.RefreshAll(ctx)
	}
	peak := stop()
	b.StopTimer()
	for _, d := range e.View(simulator.AccountLarge).Datasets {
		if d.Err != nil {
			b.Fatalf("%s: %v", d.Name, d.Err)
		}
	}
	b.ReportMetric(float64(view)/mib, "view-MiB")
	b.ReportMetric(float64(peak-min(base, peak))/mib, "peak-heap-MiB")
}

// recordedGraphQL serves the simulator's answers, and to every edge query
// after the first, the first one's answer, recorded: a proxy that takes the
// simulator's work to build the answer out of the measure.
func recordedGraphQL(b *testing.B, simURL string) string {
	b.Helper()
	var mu sync.Mutex
	var recorded []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		data := bytes.Contains(body, []byte("AdaptiveGroups("))
		mu.Lock()
		answer := recorded
		mu.Unlock()
		if !data || answer == nil {
			req, _ := http.NewRequest(http.MethodPost, simURL+"/graphql", bytes.NewReader(body))
			req.Header = r.Header.Clone()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			answer, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if data {
				mu.Lock()
				recorded = answer
				mu.Unlock()
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(answer)))
		_, _ = w.Write(answer)
	}))
	b.Cleanup(srv.Close)
	return srv.URL
}

// countingDiscard is a discard that counts the bytes thrown away.
type countingDiscard struct {
	discard
	n int
}

func (d *countingDiscard) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }

// BenchmarkEdgeFreshNames is the hostile answer of the edge view: every
// refresh brings its row limit of tunnels never seen before (the
// simulator's demo account with 3,400 more tunnels a refresh, under new
// names each time). Without a cap the view grows by every answer for an
// hour; with --collector.edge.max-series it stays at the cap.
// held-MiB is the heap held after the refreshes, series the series kept.
//
//	go test ./collector -run '^$' -bench BenchmarkEdgeFreshNames -benchtime 30x
func BenchmarkEdgeFreshNames(b *testing.B) {
	for _, maxSeries := range []int{poll.DefaultEdgeMaxSeries, 50_000} {
		b.Run(fmt.Sprintf("max-series=%d", maxSeries), func(b *testing.B) {
			clk := simulator.NewClock(testNow)
			sim := simulator.NewServer(simulator.DemoFleet(testNow), simulator.WithClock(clk.Now), simulator.WithToken(simulator.DemoToken),
				simulator.WithGraphQLRateLimit(1<<30, 5*time.Minute))
			auth, _ := api.TokenAuth(simulator.DemoToken)
			client, err := api.New(api.Config{BaseURL: sim.Start(b), Auth: auth, Now: clk.Now})
			if err != nil {
				b.Fatal(err)
			}
			e, err := poll.NewEdge(poll.EdgeConfig{Client: client, Accounts: poll.FixedAccounts(simulator.AccountRetail),
				Interval: time.Minute, MaxSeries: maxSeries, Now: clk.Now})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			e.RefreshAll(ctx)
			sim.SetFault(simulator.AccountRetail, simulator.EndpointGraphQL, simulator.Fault{GraphQL: &simulator.GraphQLFault{ExtraSeries: 3400, FreshNames: true}})
			base := settledHeap()
			b.ResetTimer()
			for b.Loop() {
				clk.Add(time.Minute)
				e.RefreshAll(ctx)
			}
			b.StopTimer()
			held := settledHeap()
			v := e.View(simulator.AccountRetail)
			series := len(v.TunnelHealth) + len(v.TunnelTraffic) + len(v.Snapshots) + len(v.Mounts) + len(v.Thermals) +
				len(v.ConnectorTunnels) + len(v.HA) + len(v.Events)
			b.ReportMetric(float64(held-min(base, held))/mib, "held-MiB")
			b.ReportMetric(float64(series), "series")
			b.ReportMetric(v.SeriesEvicted, "evicted")
		})
	}
}
