package collector

import (
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/exportertest"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/poll"
)

// largeEdgeStack is the stack against one LargeFleet account of 10,000
// connectors and 20,000 tunnels (simulator.LargeEdge), its REST answers
// reused for an hour so that scrapes cost the page only.
func largeEdgeStack(t *testing.T) *stack {
	t.Helper()
	fleet := []simulator.Account{simulator.LargeFleet(testNow, 10_000, 100)}
	if n := len(fleet[0].Edge.Tunnels); n != 20_000 {
		t.Fatalf("LargeFleet has %d tunnels, want 20,000", n)
	}
	return newStackWith(t, stackConfig{fleet: fleet, fixed: []string{simulator.AccountLarge}, minInterval: time.Hour, edge: true})
}

// scrapeEdgeStatus fetches the edge status families of /metrics: the whole
// scrape path (poll, page, writer) runs, but the 10,000 connectors' series
// are not written, so 50 scrapers fit on two cores.
func (s *stack) scrapeEdgeStatus(t *testing.T) (parsed, error) {
	resp, err := http.Get(s.page.URL + "/metrics?name[]=cloudflare_magic_up&name[]=cloudflare_magic_edge_data_age_seconds&name[]=cloudflare_magic_edge_rows_truncated")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return parse(t, string(b)), nil
}

// TestEdgeBudgetAtScale: at 10,000 connectors and 20,000 tunnels in one
// account, the edge view costs one GraphQL request per refresh, whatever
// the number of scrapers; and a scrape never waits for a refresh: while
// one is held at the API, scrapes answer with the previous view.
func TestEdgeBudgetAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 connectors and 20,000 tunnels: a few seconds")
	}
	s := largeEdgeStack(t)
	large := simulator.AccountLarge

	// 50 scrapers, 4 scrapes each, while the view is refreshed 3 times.
	const scrapers, scrapes, refreshes = 50, 4, 3
	var wg sync.WaitGroup
	errs := make(chan error, scrapers*scrapes)
	for range scrapers {
		wg.Go(func() {
			for range scrapes {
				if _, err := s.scrapeEdgeStatus(t); err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range refreshes {
		if i > 0 {
			s.clock.Add(api.EdgeBucket)
		}
		s.refreshEdge(t)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st := s.sim.GraphQLStats(large); st.Data != refreshes || st.Discovery != 2 || st.Errored != 0 {
		t.Errorf("%+v for %d refreshes and %d scrapes, want %d queries after one discovery (2 requests)", st, refreshes, scrapers*scrapes, refreshes)
	}
	p, err := s.scrapeEdgeStatus(t)
	if err != nil {
		t.Fatal(err)
	}
	for _, ds := range api.EdgeDatasets() {
		if ds == api.DatasetConnectorEvents {
			continue // LargeEdge has no events
		}
		p.want(t, 1, "cloudflare_magic_up", "account_id", large, "endpoint", poll.EdgeEndpoint(ds))
		p.want(t, 300, edgePrefix+"data_age_seconds", "account_id", large, "dataset", ds)
	}
	// 60,000 health rows a bucket: the answer is cut at 10,000, and says so.
	p.want(t, 1, edgePrefix+"rows_truncated", "account_id", large, "dataset", api.DatasetTunnelHealth)

	// A refresh held at the API: scrapes answer meanwhile, from the last
	// view, its data five minutes older.
	gate := make(chan struct{})
	s.sim.SetFault(large, simulator.EndpointGraphQL, simulator.Fault{Gate: gate, Times: 1})
	s.clock.Add(api.EdgeBucket)
	refreshed := make(chan struct{})
	go func() { defer close(refreshed); s.refreshEdge(t) }()
	exportertest.Eventually(t, "the refresh's request at the API", 10*time.Second, func() bool { return s.sim.GraphQLStats(large).Data == refreshes+1 })
	for range 3 {
		p, err := s.scrapeEdgeStatus(t)
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-refreshed:
			t.Fatal("the refresh ended while its request was held")
		default:
		}
		p.want(t, 1, "cloudflare_magic_up", "account_id", large, "endpoint", poll.EdgeEndpoint(api.DatasetTunnelHealth))
		p.want(t, 600, edgePrefix+"data_age_seconds", "account_id", large, "dataset", api.DatasetTunnelHealth)
	}
	close(gate)
	<-refreshed
	if p, err = s.scrapeEdgeStatus(t); err != nil {
		t.Fatal(err)
	}
	p.want(t, 300, edgePrefix+"data_age_seconds", "account_id", large, "dataset", api.DatasetTunnelHealth)
	if n := s.sim.GraphQLStats(large).Data; n != refreshes+1 {
		t.Errorf("%d GraphQL queries for %d refreshes", n, refreshes+1)
	}
}
