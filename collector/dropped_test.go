package collector

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
)

// TestDroppedItems: connectors with an empty or a repeated ID, served by the
// simulated API, are left out of the page, counted by reason in
// cloudflare_magic_dropped_items, and logged once, not at every scrape.
func TestDroppedItems(t *testing.T) {
	s := newStackWith(t, stackConfig{fixed: []string{simulator.AccountLabs}})
	connectors := slices.Clone(simulator.DemoFleet(testNow)[1].Connectors)
	noID := connectors[0]
	noID.ID = ""
	s.sim.SetConnectors(simulator.AccountLabs, append(connectors, connectors[1], connectors[1], noID))

	page := s.scrape(t, 0)
	if n := len(samples(page, "cloudflare_magic_connector_activated")); n != len(connectors) {
		t.Errorf("%d connector series, want %d", n, len(connectors))
	}
	if strings.Contains(page, `connector_id=""`) {
		t.Error("a connector without an ID is on the page")
	}
	for _, want := range []string{
		`cloudflare_magic_dropped_items{account_id="` + simulator.AccountLabs + `",endpoint="connectors",reason="empty_id"} 1`,
		`cloudflare_magic_dropped_items{account_id="` + simulator.AccountLabs + `",endpoint="connectors",reason="repeated_id"} 2`,
		`cloudflare_magic_dropped_items{account_id="` + simulator.AccountLabs + `",endpoint="apps",reason="repeated_id"} 0`,
	} {
		if !strings.Contains(page, want+"\n") {
			t.Errorf("the page lacks %s:\n%s", want, grep(page, "dropped_items"))
		}
	}
	s.exp.Scrape(context.Background(), nil)
	logs := s.logs.String()
	for _, reason := range []string{"empty_id", "repeated_id"} {
		if n := strings.Count(logs, `msg="items of the API's answer left out" account_id=`+simulator.AccountLabs+` endpoint=connectors reason=`+reason); n != 1 {
			t.Errorf("%s logged %d times over two scrapes, want once:\n%s", reason, n, logs)
		}
	}
	lint(t, page)
}
