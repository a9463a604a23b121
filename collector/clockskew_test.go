package collector

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
)

// TestClockSkewIsShown: heartbeats stamped more than a minute ahead of the
// exporter's clock are counted per account, with the largest lead; their
// age stays 0, as the age of a heartbeat cannot be negative. A lead of
// seconds is a clock's ordinary drift.
func TestClockSkewIsShown(t *testing.T) {
	s := newStackWith(t, stackConfig{fixed: []string{simulator.AccountLabs}})
	connectors := slices.Clone(simulator.DemoFleet(testNow)[1].Connectors)
	for i, lead := range []time.Duration{24 * time.Hour, 30 * time.Second} {
		connectors[i].HeartbeatEvery, connectors[i].LastHeartbeat = 0, testNow.Add(lead).Format(time.RFC3339)
	}
	s.sim.SetConnectors(simulator.AccountLabs, connectors)
	page := s.scrape(t, 0)
	for _, want := range []string{
		`cloudflare_magic_clock_skew_connectors{account_id="` + simulator.AccountLabs + `"} 1`,
		`cloudflare_magic_clock_skew_max_seconds{account_id="` + simulator.AccountLabs + `"} 86400`,
		`cloudflare_magic_connector_heartbeat_age_seconds{account_id="` + simulator.AccountLabs + `",connector_id="` + connectors[0].ID + `"} 0`,
	} {
		if !strings.Contains(page, want+"\n") {
			t.Errorf("page lacks %q:\n%s", want, strings.Join(samples(page, "cloudflare_magic_clock_skew_connectors"), "\n"))
		}
	}
}
