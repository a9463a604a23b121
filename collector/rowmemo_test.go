package collector

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
)

// TestChangingFleetPageIsAFullDecode scrapes one exporter as its fleet
// changes between scrapes (heartbeats, notes, an app renamed, a connector
// added and another removed, a site renamed), gzipped as Prometheus asks,
// so that it decodes only what changed and writes unchanged runs from the
// last page's compressed bytes. Each page must be, byte for byte, what a
// new exporter, decoding and rendering everything, writes for the same
// answers.
func TestChangingFleetPageIsAFullDecode(t *testing.T) {
	fleet := append(simulator.DemoFleet(testNow), simulator.LargeFleet(testNow, 700, 300))
	fleet[2].Edge = nil
	accounts := []string{simulator.AccountRetail, simulator.AccountLabs, simulator.AccountLarge}
	live := newStackWith(t, stackConfig{fleet: fleet, fixed: accounts})
	large := &fleet[2]
	retail := &fleet[0]

	for step := range 5 {
		if step > 0 {
			// What a live fleet does between two scrapes.
			live.clock.Add(15 * time.Second)
			cs := append([]simulator.Connector(nil), large.Connectors...)
			cs[step*97].Notes = fmt.Sprintf("renamed at step %d", step)
			cs[step*31].Activated = !cs[step*31].Activated
			switch step {
			case 2:
				added := cs[5]
				added.ID = "c0ffee00000000000000000000added"
				cs = append(cs[:100], append([]simulator.Connector{added}, cs[100:]...)...)
			case 3:
				cs = append(cs[:400], cs[401:]...)
			}
			large.Connectors = cs
			apps := append([]simulator.App(nil), large.Apps...)
			apps[step*13].Name = fmt.Sprintf("App renamed at step %d", step)
			large.Apps = apps
			sites := append([]simulator.Site(nil), retail.Sites...)
			sites[0].Name = fmt.Sprintf("Site renamed at step %d", step)
			retail.Sites = sites
			live.sim.SetConnectors(simulator.AccountLarge, large.Connectors)
			live.sim.SetApps(simulator.AccountLarge, large.Apps)
			live.sim.SetSites(simulator.AccountRetail, retail.Sites)
		}
		got := fleetFamilies(live.scrape(t, 0))

		fresh := newStackWith(t, stackConfig{fleet: fleet, fixed: accounts})
		fresh.clock.Add(live.clock.Now().Sub(fresh.clock.Now()))
		want := fleetFamilies(plainScrape(t, fresh))
		if got != want {
			gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
			for i := range min(len(gl), len(wl)) {
				if gl[i] != wl[i] {
					t.Fatalf("step %d: line %d is\n%s\nwant (a full decode)\n%s", step, i, gl[i], wl[i])
				}
			}
			t.Fatalf("step %d: %d lines, want %d", step, len(gl), len(wl))
		}
		if !strings.Contains(got, "renamed at step") && step > 0 {
			t.Fatalf("step %d: the change is not on the page", step)
		}
	}
	if live.exp.segments.Len() == 0 {
		t.Error("no run of a static family was kept: the test tests nothing")
	}
}

// fleetFamilies keeps the lines of the families of connectors, apps and
// sites: the exporter's own (calls made, durations) differ between two
// exporters.
func fleetFamilies(page string) string {
	fleet := map[string]bool{}
	for _, r := range References() {
		if r.Source == SourceConnectors || r.Source == SourceApps || r.Source == SourceSites {
			fleet[r.Name] = true
		}
	}
	var b strings.Builder
	for line := range strings.Lines(page) {
		name := strings.TrimPrefix(strings.TrimPrefix(line, "# HELP "), "# TYPE ")
		if i := strings.IndexAny(name, "{ "); i >= 0 && fleet[name[:i]] {
			b.WriteString(line)
		}
	}
	return b.String()
}

// plainScrape fetches /metrics without gzip.
func plainScrape(t *testing.T, s *stack) string {
	t.Helper()
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableCompression: true}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get(s.page.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "" {
		t.Fatalf("asked without gzip, got %q", resp.Header.Get("Content-Encoding"))
	}
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
