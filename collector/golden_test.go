package collector

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/poll"
)

// goldenNow is the fixed clock of the whole-page golden files.
var goldenNow = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// goldenStack is the exporter as main wires it, with discovery and
// telemetry on, against the demo fleet of the simulated API over real
// HTTP, at a fixed clock. Outcomes are reused for an hour, so that
// repeated scrapes call nothing and the page settles.
func goldenStack(t *testing.T) *httptest.Server {
	t.Helper()
	clk := simulator.NewClock(goldenNow)
	sim := simulator.NewServer(simulator.DemoFleet(goldenNow), simulator.WithClock(clk.Now), simulator.WithToken(simulator.DemoToken))
	metrics := NewAPIMetrics(clk.Now)
	auth, err := api.TokenAuth(simulator.DemoToken)
	if err != nil {
		t.Fatal(err)
	}
	client, err := api.New(api.Config{BaseURL: sim.Start(t), Auth: auth, Now: clk.Now, Observe: metrics.Observe})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.CloseIdleConnections)
	accounts := poll.NewAccounts(poll.AccountsConfig{Client: client, Refresh: time.Hour, Timeout: 10 * time.Second, Now: clk.Now})
	telemetry, err := poll.NewTelemetry(poll.TelemetryConfig{Client: client, Interval: time.Hour, Concurrency: 4, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { accounts.Run(ctx); done <- struct{}{} }()
	go func() { telemetry.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() { stop(); <-done; <-done })
	poller, err := poll.New(poll.Config{Client: client, Accounts: accounts, MinInterval: time.Hour, Timeout: 10 * time.Second,
		Now: clk.Now, Telemetry: telemetry})
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(Config{Poller: poller, APIMetrics: metrics, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewHandler(e, prometheus.NewRegistry(), HandlerOpts{Timeout: 10 * time.Second}))
	t.Cleanup(srv.Close)
	return srv
}

// durationRE matches the values that depend on the machine's speed.
var durationRE = regexp.MustCompile(`(?m)^(cloudflare_magic_scrape_duration_seconds\{[^}]*\}) \S+$`)

func getPage(t *testing.T, url, accept string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return durationRE.ReplaceAllString(string(b), "$1 <duration>")
}

// TestGoldenPage compares the whole /metrics page of the demo fleet, in
// both formats, byte for byte with testdata/page.*.txt. Any change of the
// page fails it: run with -update and read the diff.
func TestGoldenPage(t *testing.T) {
	srv := goldenStack(t)
	// Scrape until telemetry has fetched every snapshot and two pages in a
	// row agree: from then on, the page is a function of the fleet alone.
	var page string
	deadline := time.Now().Add(20 * time.Second)
	for {
		next := getPage(t, srv.URL, "")
		if next == page && !strings.Contains(page, `endpoint="telemetry"} 0`) && strings.Contains(page, "cloudflare_magic_connector_snapshot_timestamp_seconds") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page did not settle; last page:\n%s", next)
		}
		page = next
		time.Sleep(50 * time.Millisecond)
	}
	for _, c := range []struct{ file, accept string }{
		{"testdata/page.txt", ""},
		{"testdata/page.openmetrics.txt", "application/openmetrics-text;version=1.0.0"},
	} {
		got := getPage(t, srv.URL, c.accept)
		if *update {
			if err := os.WriteFile(c.file, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(c.file)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("%s differs from the page served (run with -update and read the diff):\n%s", c.file, firstDiff(string(want), got))
		}
	}
	problems, err := promlint.New(strings.NewReader(page)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

// firstDiff shows the first line where want and got differ.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:", i+1) + "\n  want: " + wl + "\n  got:  " + gl
		}
	}
	return ""
}
