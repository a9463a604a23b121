package collector

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/exportertest"
)

// goldenStack is the exporter as main wires it, with discovery, telemetry,
// the budget guards and the edge view on (the edge view refreshed once,
// before the first page), against the demo fleet of the simulated API over real
// HTTP, at a fixed clock. Outcomes are reused for an hour, so that
// repeated scrapes call nothing and the page settles.
func goldenStack(t *testing.T) *httptest.Server {
	t.Helper()
	s := newStackWith(t, stackConfig{discover: true, telemetry: time.Hour, minInterval: time.Hour, edge: true, budgets: true})
	s.runAccounts(t)
	s.refreshEdge(t)
	s.startTelemetry(t)
	return s.page
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
	return string(b)
}

// masked is page with the values that depend on the machine's speed
// replaced.
func masked(page string) string { return durationRE.ReplaceAllString(page, "$1 <duration>") }

// TestGoldenPage compares the whole /metrics page of the demo fleet, in
// both formats, byte for byte with testdata/page.*.txt. Any change of the
// page fails it: run with -update and read the diff.
func TestGoldenPage(t *testing.T) {
	srv := goldenStack(t)
	// Scrape until telemetry has fetched every snapshot and two pages in a
	// row agree: from then on, the page is a function of the fleet alone.
	var page string
	exportertest.Eventually(t, "the page to settle", 20*time.Second, func() bool {
		next := getPage(t, srv.URL+"/metrics", "")
		settled := masked(next) == masked(page) && !strings.Contains(page, `endpoint="telemetry"} 0`) &&
			strings.Contains(page, "cloudflare_magic_connector_snapshot_timestamp_seconds")
		page = next
		return settled
	})
	// Every family has samples here: the page is where a reviewer reads
	// each declaration's output, and where a sample dropped for its label
	// count would show (noLabelCountDrops).
	served := parse(t, page)
	for _, r := range References() {
		if mf := served[r.Name]; mf == nil || len(mf.Metric) == 0 {
			t.Errorf("%s has no sample on the golden page: give the demo fleet what it needs", r.Name)
		}
	}
	noLabelCountDrops(t, page, nil)
	// The demo's numbers read as a person would write them: no binary
	// floating-point noise such as 1.1800000000000002 (17 significant
	// digits; a timestamp to the microsecond has 16).
	for name, mf := range served {
		for _, m := range mf.Metric {
			if v := strconv.FormatFloat(metricValue(m), 'g', -1, 64); len(strings.TrimLeft(strings.Split(strings.ReplaceAll(v, ".", ""), "e")[0], "-0")) > 16 {
				t.Errorf("%s%v = %s: floating-point noise in the demo fleet", name, m.GetLabel(), v)
			}
		}
	}
	for _, c := range []struct{ file, accept string }{
		{"testdata/page.txt", ""},
		{"testdata/page.openmetrics.txt", "application/openmetrics-text;version=1.0.0"},
	} {
		got := masked(getPage(t, srv.URL+"/metrics", c.accept))
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
