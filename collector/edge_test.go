package collector

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/poll"
)

// Tests of the edge view through the whole stack: the simulated GraphQL
// endpoint over real HTTP, the api client, poll.Edge, the poller, the
// exporter and its handler. Expected values are read from the simulator's
// own fleet, not copied, so that the tests say "what the simulator holds".

// parsed is a text page parsed as Prometheus would.
type parsed map[string]*dto.MetricFamily

func parse(t *testing.T, page string) parsed {
	t.Helper()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := parser.TextToMetricFamilies(strings.NewReader(page))
	if err != nil {
		t.Fatalf("the page does not parse: %v", err)
	}
	return mfs
}

// find returns the value of the series of family whose labels include the
// name-value pairs kv, and whether there is one. More than one matching
// series is an error.
func (p parsed) find(t *testing.T, family string, kv ...string) (float64, bool) {
	t.Helper()
	mf := p[family]
	if mf == nil {
		return 0, false
	}
	var found []float64
	for _, m := range mf.Metric {
		if matches(m, kv) {
			found = append(found, metricValue(m))
		}
	}
	switch len(found) {
	case 0:
		return 0, false
	case 1:
		return found[0], true
	}
	t.Errorf("%d series of %s match %v, want one", len(found), family, kv)
	return found[0], true
}

// value is find's value; a missing series is an error.
func (p parsed) value(t *testing.T, family string, kv ...string) float64 {
	t.Helper()
	v, ok := p.find(t, family, kv...)
	if !ok {
		t.Errorf("no series %s%v", family, kv)
	}
	return v
}

// count returns how many series of family carry the pairs kv.
func (p parsed) count(family string, kv ...string) int {
	n := 0
	if mf := p[family]; mf != nil {
		for _, m := range mf.Metric {
			if matches(m, kv) {
				n++
			}
		}
	}
	return n
}

func matches(m *dto.Metric, kv []string) bool {
	for i := 0; i+1 < len(kv); i += 2 {
		ok := false
		for _, l := range m.Label {
			if l.GetName() == kv[i] && l.GetValue() == kv[i+1] {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func metricValue(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	return math.NaN()
}

// want checks the value of one series.
func (p parsed) want(t *testing.T, v float64, family string, kv ...string) {
	t.Helper()
	if got, ok := p.find(t, family, kv...); !ok {
		t.Errorf("no series %s%v, want %g", family, kv, v)
	} else if got != v {
		t.Errorf("%s%v = %g, want %g", family, kv, got, v)
	}
}

const edgePrefix = "cloudflare_magic_edge_"

// demoEdges are the simulator's edge views of the demo fleet, by account.
func demoEdges() map[string]*simulator.Edge {
	out := map[string]*simulator.Edge{}
	for _, a := range simulator.DemoFleet(testNow) {
		out[a.ID] = a.Edge
	}
	return out
}

// edgeStack is the default stack with the edge view, refreshed once.
func edgeStack(t *testing.T) *stack {
	t.Helper()
	s := newStackWith(t, stackConfig{edge: true})
	s.refreshEdge(t)
	return s
}

// TestEdgeMetrics: after one refresh at testNow, every edge series holds
// what the simulator holds for the newest bucket (11:55, the simulated
// analytics lagging two minutes), in the text format and in OpenMetrics.
func TestEdgeMetrics(t *testing.T) {
	s := edgeStack(t)
	page := s.scrape(t, 0)
	p := parse(t, page)
	lint(t, page)
	retail, labs := simulator.AccountRetail, simulator.AccountLabs

	// The down tunnel, down at its three data centres.
	for _, c := range []struct {
		state string
		n     float64
	}{{"down", 3}, {"degraded", 0}, {"healthy", 0}} {
		p.want(t, c.n, edgePrefix+"tunnel_colos", "account_id", retail, "tunnel_name", simulator.TunnelDown, "state", c.state)
	}
	// The degraded one: healthy from LHR, degraded from MAN and AMS.
	for _, c := range []struct {
		state string
		n     float64
	}{{"down", 0}, {"degraded", 2}, {"healthy", 1}} {
		p.want(t, c.n, edgePrefix+"tunnel_colos", "account_id", retail, "tunnel_name", simulator.TunnelDegraded, "state", c.state)
	}
	for colo, v := range map[string]float64{"LHR": 1, "MAN": 0.5, "AMS": 0.5} {
		p.want(t, v, edgePrefix+"tunnel_health_state", "account_id", retail, "tunnel_name", simulator.TunnelDegraded, "colo", colo)
	}

	edges := demoEdges()
	var tunnels, colos int
	for account, e := range edges {
		for _, tn := range e.Tunnels {
			tunnels++
			for i, colo := range tn.Colos {
				colos++
				state := 1.0
				if i < len(tn.State) {
					state = tn.State[i]
				}
				p.want(t, state, edgePrefix+"tunnel_health_state", "account_id", account, "tunnel_name", tn.Name, "colo", colo)
			}
			// Bytes per second are the simulator's bits per second / 8,
			// in the schema's vocabulary.
			rates := map[string]float64{"inbound": tn.IngressBitRate, "outbound": tn.EgressBitRate}
			if tn.LateralBitRate > 0 {
				rates["lateral"] = tn.LateralBitRate
			}
			for dir, rate := range rates {
				p.want(t, rate/8, edgePrefix+"tunnel_traffic_bytes_per_second", "account_id", account, "tunnel_name", tn.Name, "direction", dir)
				// First seen: the counters start at 0.
				p.want(t, 0, edgePrefix+"tunnel_traffic_bytes_total", "account_id", account, "tunnel_name", tn.Name, "direction", dir)
			}
			if n := p.count(edgePrefix+"tunnel_traffic_bytes_per_second", "account_id", account, "tunnel_name", tn.Name); n != len(rates) {
				t.Errorf("%s: %d directions, want %d", tn.Name, n, len(rates))
			}
			p.want(t, 1, edgePrefix+"tunnel_info", "account_id", account, "tunnel_name", tn.Name, "site_name", tn.Site)
		}
	}
	if n := p.count(edgePrefix + "tunnel_health_state"); n != colos {
		t.Errorf("%d tunnel health series, want %d", n, colos)
	}
	for _, fam := range []string{"tunnel_colos", "tunnel_active_colos"} {
		if n := p.count(edgePrefix + fam); n != 3*tunnels {
			t.Errorf("%d %s series, want 3 states of %d tunnels", n, fam, tunnels)
		}
	}
	// Where the tunnels are routed: the degraded one is degraded at both
	// data centres that route it (LHR, healthy, does not); the one down
	// at ORD only is healthy where it matters; the down one is down.
	for _, c := range []struct {
		tunnel                  string
		down, degraded, healthy float64
	}{
		{simulator.TunnelDegraded, 0, 2, 0},
		{simulator.TunnelDownElsewhere, 0, 0, 2},
		{simulator.TunnelDown, 1, 0, 0},
	} {
		for state, n := range map[string]float64{"down": c.down, "degraded": c.degraded, "healthy": c.healthy} {
			p.want(t, n, edgePrefix+"tunnel_active_colos", "account_id", retail, "tunnel_name", c.tunnel, "state", state)
		}
	}
	p.want(t, 1, edgePrefix+"tunnel_colos", "account_id", retail, "tunnel_name", simulator.TunnelDownElsewhere, "state", "down")
	// Per listed site, its tunnels by their state where routed: Berlin's
	// one tunnel is down, London's two healthy; Manchester is not listed.
	for site, want := range map[string][3]float64{simulator.SiteBerlin: {1, 0, 0}, simulator.SiteLondonHA: {0, 0, 2}} {
		for i, state := range poll.TunnelStates {
			p.want(t, want[i], "cloudflare_magic_site_tunnels", "account_id", retail, "site_id", site, "state", state)
		}
	}
	if n := p.count("cloudflare_magic_site_tunnels", "account_id", retail); n != 3*5 {
		t.Errorf("%d site tunnel series, want 3 states of the 5 listed sites with tunnels", n)
	}

	// Connector telemetry: every live connector, as the simulator holds it.
	stale := 0
	for account, e := range edges {
		for _, c := range e.Connectors {
			id := []string{"account_id", account, "connector_id", c.ID}
			if !c.LastSeen.IsZero() && c.LastSeen.Before(testNow.Add(-api.EdgeLookback)) {
				// Stopped reporting long before the window: no row.
				stale++
				if n := p.count(edgePrefix+"connector_load1", id...); n != 0 {
					t.Errorf("connector %s stopped reporting at %v, yet has %d load series", c.ID, c.LastSeen, n)
				}
				continue
			}
			p.want(t, c.CPUCount, edgePrefix+"connector_cpu_cores", id...)
			p.want(t, c.Load1, edgePrefix+"connector_load1", id...)
			p.want(t, c.Load5, edgePrefix+"connector_load5", id...)
			p.want(t, c.MemoryTotalBytes, edgePrefix+"connector_memory_total_bytes", id...)
			p.want(t, c.MemoryAvailableBytes, edgePrefix+"connector_memory_available_bytes", id...)
			p.want(t, c.HAState, edgePrefix+"connector_ha_state", id...)
			p.want(t, float64(testNow.Add(-simulator.EdgeLag).Truncate(api.EdgeBucket).Unix()), edgePrefix+"connector_snapshot_timestamp_seconds", id...)
			for _, m := range c.Mounts {
				mp := append(slices.Clone(id), "mountpoint", m.MountPoint)
				p.want(t, m.TotalBytes, edgePrefix+"connector_filesystem_size_bytes", mp...)
				p.want(t, m.AvailableBytes, edgePrefix+"connector_filesystem_avail_bytes", mp...)
			}
			for _, th := range c.Thermals {
				sensor := append(slices.Clone(id), "sensor", th.Label)
				p.want(t, th.CurrentCelsius, edgePrefix+"connector_temperature_celsius", sensor...)
				p.want(t, th.CriticalCelsius, edgePrefix+"connector_temperature_critical_celsius", sensor...)
			}
			for _, tn := range c.Tunnels {
				p.want(t, tn.HealthValue, edgePrefix+"connector_tunnel_health", append(slices.Clone(id), "tunnel_id", tn.TunnelID, "interface_name", tn.InterfaceName)...)
			}
		}
	}
	if stale != 1 {
		t.Errorf("%d connectors without telemetry in the window, want Berlin's only", stale)
	}

	// The demo's named cases, spelled out as an operator reads them.
	hot := []string{"account_id", labs, "connector_id", simulator.ConnectorHot}
	p.want(t, 6.3, edgePrefix+"connector_load1", hot...)
	p.want(t, 4, edgePrefix+"connector_cpu_cores", hot...)
	p.want(t, 92, edgePrefix+"connector_temperature_celsius", append(hot, "sensor", "cpu_thermal")...)
	p.want(t, 105, edgePrefix+"connector_temperature_critical_celsius", append(hot, "sensor", "cpu_thermal")...)
	full := []string{"account_id", retail, "connector_id", simulator.ConnectorDiskFull, "mountpoint", simulator.MountNearlyFull}
	if avail, size := p.value(t, edgePrefix+"connector_filesystem_avail_bytes", full...), p.value(t, edgePrefix+"connector_filesystem_size_bytes", full...); math.Abs(avail/size-0.04) > 1e-6 {
		t.Errorf("%s on %s: %g of %g bytes free, want 4%%", simulator.MountNearlyFull, simulator.ConnectorDiskFull, avail, size)
	}

	// Events: every series the window holds, starting at 0.
	for _, ev := range edges[retail].Events {
		p.want(t, 0, edgePrefix+"connector_events_total", "account_id", retail, "connector_id", ev.ConnectorID, "event", ev.Type)
	}

	// Per dataset: discovered, queried, up, the newest bucket's age,
	// nothing dropped or cut.
	for _, account := range []string{retail, labs} {
		p.want(t, 1, "cloudflare_magic_up", "account_id", account, "endpoint", poll.EdgeDiscoveryEndpoint)
		p.want(t, 0, edgePrefix+"series_evicted_total", "account_id", account)
		p.want(t, 1, edgePrefix+"field_available", "account_id", account, "dataset", api.DatasetConnectorThermals, "field", "max.currentCelcius")
		p.want(t, 0, edgePrefix+"field_available", "account_id", account, "dataset", api.DatasetConnectorThermals, "field", "max.currentCelsius")
		for _, ds := range api.EdgeDatasets() {
			p.want(t, 1, "cloudflare_magic_up", "account_id", account, "endpoint", poll.EdgeEndpoint(ds))
			p.want(t, 1, edgePrefix+"dataset_queried", "account_id", account, "dataset", ds)
			p.want(t, 0, edgePrefix+"rows_truncated", "account_id", account, "dataset", ds)
			for _, reason := range poll.DropReasons {
				p.want(t, 0, edgePrefix+"rows_dropped", "account_id", account, "dataset", ds, "reason", reason)
			}
			if account == labs && ds == api.DatasetConnectorEvents {
				// Labs has no events: no bucket, no age.
				if _, ok := p.find(t, edgePrefix+"data_age_seconds", "account_id", account, "dataset", ds); ok {
					t.Error("a data age for a dataset without rows")
				}
				continue
			}
			p.want(t, 300, edgePrefix+"data_age_seconds", "account_id", account, "dataset", ds)
		}
	}
	// The age is computed when scraped.
	s.clock.Add(42 * time.Second)
	parse(t, s.scrape(t, 0)).want(t, 342, edgePrefix+"data_age_seconds", "account_id", retail, "dataset", api.DatasetTunnelHealth)

	// OpenMetrics: the same samples, counters typed without their _total.
	om := getPage(t, s.page.URL+"/metrics", "application/openmetrics-text;version=1.0.0")
	if !strings.HasSuffix(om, "# EOF\n") {
		t.Error("the OpenMetrics page does not end with # EOF")
	}
	for _, want := range []string{
		"# TYPE cloudflare_magic_edge_tunnel_traffic_bytes counter\n",
		"# TYPE cloudflare_magic_edge_connector_events counter\n",
		"# TYPE cloudflare_magic_edge_rows_dropped gauge\n",
		"# TYPE cloudflare_magic_edge_tunnel_colos gauge\n",
	} {
		if !strings.Contains(om, want) {
			t.Errorf("OpenMetrics page lacks %q", want)
		}
	}
	text := s.scrape(t, 0)
	var edgeLines int
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, edgePrefix) || strings.HasPrefix(l, "cloudflare_magic_up{") {
			edgeLines++
			if !strings.Contains(om, "\n"+l+"\n") {
				t.Errorf("OpenMetrics page lacks %q", l)
			}
		}
	}
	if edgeLines < 100 {
		t.Errorf("only %d edge sample lines", edgeLines)
	}
}

// TestEdgeCountsOneRequestPerRefresh: scrapes read the view; only a
// refresh queries, once per account.
func TestEdgeCountsOneRequestPerRefresh(t *testing.T) {
	s := edgeStack(t)
	for range 5 {
		s.scrape(t, 0)
	}
	s.refreshEdge(t)
	for _, a := range []string{simulator.AccountRetail, simulator.AccountLabs} {
		// Discovery at the first refresh, then one query per refresh,
		// none answered with an error.
		if st := s.sim.GraphQLStats(a); st != (simulator.GraphQLStats{Data: 2, Discovery: 2}) {
			t.Errorf("account %s: %+v for 2 refreshes and 5 scrapes, want 2 queries after 2 discovery requests", a, st)
		}
	}
	// The requests are counted apart from REST, under their own endpoints.
	p := parse(t, s.scrape(t, 0))
	p.want(t, 4, "cloudflare_magic_api_requests_total", "endpoint", "graphql")
	p.want(t, 4, "cloudflare_magic_api_requests_total", "endpoint", "graphql_discovery")
}

// counterOf returns the bytes counted for a tunnel and direction.
func counterOf(t *testing.T, p parsed, account, tunnel, dir string) float64 {
	t.Helper()
	return p.value(t, edgePrefix+"tunnel_traffic_bytes_total", "account_id", account, "tunnel_name", tunnel, "direction", dir)
}

// TestEdgeCounters: the traffic and event counters add each complete
// bucket exactly once as the clock moves five minutes per refresh, not
// again when a refresh finds no new bucket, and count both buckets when a
// refresh was missed.
func TestEdgeCounters(t *testing.T) {
	s := edgeStack(t)
	edges := demoEdges()
	retail := simulator.AccountRetail
	wantBytes := map[string]float64{} // by account, tunnel and direction
	key := func(account, tunnel, dir string) string { return account + "/" + tunnel + "/" + dir }

	// Events: count per bucket on multiples of Every. firstTop is the
	// newest bucket of each series at the first refresh; a bucket counts
	// once a newer one of the series has arrived.
	newest := func(now time.Time) time.Time { return now.Add(-simulator.EdgeLag).Truncate(api.EdgeBucket) }
	firstTop := map[string]time.Time{}
	for _, ev := range edges[retail].Events {
		firstTop[ev.Type] = newest(testNow).Truncate(ev.Every)
	}
	wantEvents := func(ev simulator.EdgeEvent, now time.Time) float64 {
		top := newest(now).Truncate(ev.Every)
		return float64(top.Sub(firstTop[ev.Type])/ev.Every) * ev.Count
	}

	check := func(step string) {
		t.Helper()
		p := parse(t, s.scrape(t, 0))
		for account, e := range edges {
			for _, tn := range e.Tunnels {
				for _, dir := range []string{"inbound", "outbound"} {
					if got, want := counterOf(t, p, account, tn.Name, dir), wantBytes[key(account, tn.Name, dir)]; got != want {
						t.Errorf("%s: %s %s %s counted %g bytes, want %g", step, account, tn.Name, dir, got, want)
					}
				}
			}
		}
		now := s.clock.Now()
		for _, ev := range edges[retail].Events {
			got := p.value(t, edgePrefix+"connector_events_total", "account_id", retail, "connector_id", ev.ConnectorID, "event", ev.Type)
			if want := wantEvents(ev, now); got != want {
				t.Errorf("%s: %s events of %s = %g, want %g", step, ev.Type, ev.ConnectorID, got, want)
			}
		}
	}
	// bucket adds one five-minute bucket of every tunnel.
	bucket := func() {
		for account, e := range edges {
			for _, tn := range e.Tunnels {
				// The simulator's bits of a bucket are its rate × 300 s.
				wantBytes[key(account, tn.Name, "inbound")] += tn.IngressBitRate * 300 / 8
				wantBytes[key(account, tn.Name, "outbound")] += tn.EgressBitRate * 300 / 8
			}
		}
	}

	check("first refresh")
	for i := range 6 {
		s.clock.Add(5 * time.Minute)
		s.refreshEdge(t)
		bucket()
		check(fmt.Sprintf("refresh %d, %s", i+2, s.clock.Now().Format("15:04")))
	}
	// The same clock again: no new bucket, nothing added.
	s.refreshEdge(t)
	check("refresh at the same time")
	// A refresh missed: the next one counts both buckets.
	s.clock.Add(10 * time.Minute)
	s.refreshEdge(t)
	bucket()
	bucket()
	check("after a missed refresh")
	if got := counterOf(t, parse(t, s.scrape(t, 0)), retail, "aus-dc-ipsec-1", "inbound"); got != 9.4e7*300/8*8 {
		t.Errorf("aus-dc-ipsec-1 inbound: %g bytes after 8 complete buckets, want %g", got, 9.4e7*300/8*8)
	}
}

// TestEdgeSeriesFirstSeenStartsAtZero: a tunnel that appears between
// refreshes starts its counter at 0, whatever its bucket holds, and counts
// from its first complete bucket on.
func TestEdgeSeriesFirstSeenStartsAtZero(t *testing.T) {
	s := edgeStack(t)
	retail := simulator.AccountRetail
	// From now on the account has one more tunnel, a copy of its first
	// (lon-oxford-ipsec-1) under another name.
	s.sim.SetFault(retail, simulator.EndpointGraphQL, simulator.Fault{GraphQL: &simulator.GraphQLFault{ExtraSeries: 1}})
	const added, old = "extra-tunnel-000000", "lon-oxford-ipsec-1"
	rate := demoEdges()[retail].Tunnels[0].IngressBitRate

	s.clock.Add(5 * time.Minute)
	s.refreshEdge(t)
	p := parse(t, s.scrape(t, 0))
	if got := counterOf(t, p, retail, added, "inbound"); got != 0 {
		t.Errorf("a new tunnel's counter starts at %g, want 0", got)
	}
	p.want(t, rate/8, edgePrefix+"tunnel_traffic_bytes_per_second", "account_id", retail, "tunnel_name", added, "direction", "inbound")
	if got := counterOf(t, p, retail, old, "inbound"); got != rate*300/8 {
		t.Errorf("an old tunnel's counter is %g, want one bucket, %g", got, rate*300/8)
	}
	s.clock.Add(5 * time.Minute)
	s.refreshEdge(t)
	if got := counterOf(t, parse(t, s.scrape(t, 0)), retail, added, "inbound"); got != rate*300/8 {
		t.Errorf("a new tunnel's counter after one complete bucket is %g, want %g", got, rate*300/8)
	}
}

// TestEdgeQuotaNotMixedWithREST: GraphQL answers carry their own rate
// limit (300 per 5 minutes); the ratelimit gauges are REST's (1,200), so
// that remaining / limit means one thing.
func TestEdgeQuotaNotMixedWithREST(t *testing.T) {
	s := newStackWith(t, stackConfig{edge: true, noSites: true})
	s.scrape(t, 0) // 4 REST calls
	for range 3 {
		s.refreshEdge(t) // 6 GraphQL queries, after 4 discovery requests
	}
	p := parse(t, s.scrape(t, 0)) // 4 more REST calls
	p.want(t, 1200, "cloudflare_magic_api_ratelimit_limit")
	p.want(t, 1192, "cloudflare_magic_api_ratelimit_remaining")
	p.want(t, 6, "cloudflare_magic_api_requests_total", "endpoint", "graphql")
}
