package collector

import (
	"testing"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
)

// Sites through the whole stack: the simulated sites endpoint over real
// HTTP, joined with the connectors' heartbeats.

const (
	siteManchesterConnector = "c0ffee00000000000000000000001161" // its site_id names no listed site
	siteLondonPrimary       = "c0ffee00000000000000000000001042"
)

// TestSiteMetrics: each demo site's expected and heartbeating connectors,
// as the simulator holds them.
func TestSiteMetrics(t *testing.T) {
	s := newStack(t, 0)
	page := s.scrape(t, 0)
	lint(t, page)
	p := parse(t, page)
	retail := simulator.AccountRetail
	for _, c := range []struct {
		site, name             string
		expected, heartbeating float64
	}{
		{simulator.SiteLondonHA, "London Oxford Street", 2, 1}, // the secondary was removed
		{simulator.SiteNewYorkHA, "New York 5th Avenue", 2, 2},
		{simulator.SiteBerlin, "Berlin Alexanderplatz", 1, 0}, // stale for two hours
		{simulator.SiteParis, "Paris Rivoli", 1, 0},           // never activated
		{simulator.SiteLisbon, "Lisbon (opening 2027)", 0, 0}, // no connector yet
	} {
		id := []string{"account_id", retail, "site_id", c.site}
		p.want(t, c.expected, "cloudflare_magic_site_connectors_expected", id...)
		p.want(t, c.heartbeating, "cloudflare_magic_site_connectors_heartbeating", id...)
		p.want(t, 1, "cloudflare_magic_site_info", append(id, "site_name", c.name)...)
	}
	p.want(t, 1, "cloudflare_magic_site_info", "account_id", retail, "site_id", simulator.SiteLondonHA,
		"ha_mode", "true", "latitude", "51.5154", "longitude", "-0.1410")
	p.want(t, 1, "cloudflare_magic_site_info", "account_id", retail, "site_id", simulator.SiteLisbon,
		"ha_mode", "false", "latitude", "", "longitude", "")
	if n, want := p.count("cloudflare_magic_site_info", "account_id", retail), len(simulator.DemoFleet(testNow)[0].Sites); n != want {
		t.Errorf("%d sites, want %d", n, want)
	}

	// Manchester's connector names a site that is not listed.
	man := []string{"account_id", retail, "connector_id", siteManchesterConnector}
	p.want(t, 0, "cloudflare_magic_connector_site_listed", append(man, "site_id", "site-man-arndale")...)
	if _, ok := p.find(t, "cloudflare_magic_connector_site_info", man...); ok {
		t.Error("a site_info for a connector whose site is not listed")
	}
	// A listed one carries its site's name.
	lon := []string{"account_id", retail, "connector_id", siteLondonPrimary}
	p.want(t, 1, "cloudflare_magic_connector_site_listed", append(lon, "site_id", simulator.SiteLondonHA)...)
	p.want(t, 1, "cloudflare_magic_connector_site_info", append(lon, "site_id", simulator.SiteLondonHA, "site_name", "London Oxford Street")...)
	// A connector without a site_id has neither.
	none := []string{"account_id", retail, "connector_id", simulator.ConnectorNoDevice}
	if p.count("cloudflare_magic_connector_site_listed", none...)+p.count("cloudflare_magic_connector_site_info", none...) != 0 {
		t.Error("site series for a connector without a site_id")
	}
}

// TestSitesCallFails: a failing sites call costs the account's site series
// only: its connectors and apps stay, and the other account's sites too.
func TestSitesCallFails(t *testing.T) {
	s := newStack(t, 0)
	retail, labs := simulator.AccountRetail, simulator.AccountLabs
	s.sim.SetFault(retail, simulator.EndpointSites, simulator.Fault{Status: 500})
	page := s.scrape(t, 0)
	lint(t, page)
	p := parse(t, page)
	p.want(t, 0, "cloudflare_magic_up", "account_id", retail, "endpoint", "sites")
	p.want(t, 1, "cloudflare_magic_up", "account_id", retail, "endpoint", "connectors")
	p.want(t, 1, "cloudflare_magic_up", "account_id", retail, "endpoint", "apps")
	for _, fam := range []string{
		"cloudflare_magic_site_info", "cloudflare_magic_site_connectors_expected", "cloudflare_magic_site_connectors_heartbeating",
		"cloudflare_magic_connector_site_info", "cloudflare_magic_connector_site_listed",
	} {
		if n := p.count(fam, "account_id", retail); n != 0 {
			t.Errorf("%d series of %s for an account whose sites call failed", n, fam)
		}
		if p.count(fam, "account_id", labs) == 0 {
			t.Errorf("the other account lost its %s", fam)
		}
	}
	if n, want := p.count("cloudflare_magic_connector_info", "account_id", retail), len(simulator.DemoFleet(testNow)[0].Connectors); n != want {
		t.Errorf("%d connectors, want %d", n, want)
	}
	if n, want := p.count("cloudflare_magic_app_info", "account_id", retail), len(simulator.DemoFleet(testNow)[0].Apps); n != want {
		t.Errorf("%d apps, want %d", n, want)
	}
}

// TestSitesWithoutConnectors: when the connectors call fails, no one
// knows which connectors heartbeat: the count is absent, not a false 0
// that would page for every site; what the sites say is still served.
func TestSitesWithoutConnectors(t *testing.T) {
	s := newStack(t, 0)
	retail := simulator.AccountRetail
	s.sim.SetFault(retail, simulator.EndpointConnectors, simulator.Fault{Status: 500})
	page := s.scrape(t, 0)
	lint(t, page)
	p := parse(t, page)
	p.want(t, 0, "cloudflare_magic_up", "account_id", retail, "endpoint", "connectors")
	p.want(t, 1, "cloudflare_magic_up", "account_id", retail, "endpoint", "sites")
	if n := p.count("cloudflare_magic_site_connectors_heartbeating", "account_id", retail); n != 0 {
		t.Errorf("%d heartbeating counts without the connectors", n)
	}
	p.want(t, 2, "cloudflare_magic_site_connectors_expected", "account_id", retail, "site_id", simulator.SiteLondonHA)
	p.want(t, 1, "cloudflare_magic_site_info", "account_id", retail, "site_id", simulator.SiteBerlin)
	p.want(t, 1, "cloudflare_magic_site_connectors_heartbeating", "account_id", simulator.AccountLabs, "site_id", "5173000000000000000000000000cab1")
}
