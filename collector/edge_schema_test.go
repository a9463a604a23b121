package collector

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/poll"
)

// TestEdgeSchemaVariants runs the whole stack against the schema shapes
// real accounts meet. For each, after discovery, every refresh costs one
// GraphQL request per account, answered without error, and the page holds
// what the simulator holds: temperatures in either spelling, the HA state
// where the schema has it, traffic named where tunnelName is empty, and
// tunnel health per data centre that routes it.
func TestEdgeSchemaVariants(t *testing.T) {
	retail := simulator.AccountRetail
	edges := demoEdges()
	for _, tc := range []struct {
		name    string
		variant simulator.SchemaVariant
	}{
		{"introspection spelling (Celcius), HA fields", simulator.SchemaVariant{}},
		{"docs spelling (Celsius)", simulator.SchemaVariant{DocsCelsius: true}},
		{"2024: no HA fields", simulator.SchemaVariant{NoHA: true}},
		{"tunnelName empty, docs directions", simulator.SchemaVariant{EmptyTunnelNames: true, DocsDirection: true}},
		{"thermals disabled", simulator.SchemaVariant{Disabled: []string{"mconnTelemetrySnapshotThermalsAdaptiveGroups"}}},
		{"snapshots known by introspection only", simulator.SchemaVariant{NotInSettings: []string{"mconnTelemetrySnapshotsAdaptiveGroups"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.variant
			s := newStackWith(t, stackConfig{edge: true, simOpts: []simulator.Option{simulator.WithSchema(v)}})
			const refreshes = 3
			for i := range refreshes {
				if i > 0 {
					s.clock.Add(api.EdgeBucket)
				}
				s.refreshEdge(t)
			}
			for _, a := range []string{retail, simulator.AccountLabs} {
				if st := s.sim.GraphQLStats(a); st != (simulator.GraphQLStats{Data: refreshes, Discovery: 2}) {
					t.Errorf("account %s: %+v, want %d queries after one discovery, none answered with an error", a, st, refreshes)
				}
			}
			page := s.scrape(t, 0)
			lint(t, page)
			p := parse(t, page)
			if strings.Contains(s.logs.String(), "level=error") {
				t.Errorf("errors logged:\n%s", s.logs.String())
			}

			thermalsOn := len(v.Disabled) == 0
			for account, e := range edges {
				for _, c := range e.Connectors {
					id := []string{"account_id", account, "connector_id", c.ID}
					if !c.LastSeen.IsZero() {
						continue // stopped reporting
					}
					p.want(t, c.Load1, edgePrefix+"connector_load1", id...)
					if v.NoHA {
						if n := p.count(edgePrefix+"connector_ha_state", id...); n != 0 {
							t.Errorf("an HA state from a schema without one")
						}
					} else {
						p.want(t, c.HAState, edgePrefix+"connector_ha_state", id...)
					}
					for _, th := range c.Thermals {
						sensor := append(id, "sensor", th.Label)
						switch {
						case !thermalsOn:
							if p.count(edgePrefix+"connector_temperature_celsius", sensor...) != 0 {
								t.Errorf("a temperature from a disabled dataset")
							}
						case v.DocsCelsius:
							p.want(t, th.CurrentCelsius, edgePrefix+"connector_temperature_celsius", sensor...)
							if p.count(edgePrefix+"connector_temperature_critical_celsius", sensor...) != 0 {
								t.Errorf("a critical temperature from a schema without one")
							}
						default:
							p.want(t, th.CurrentCelsius, edgePrefix+"connector_temperature_celsius", sensor...)
							p.want(t, th.CriticalCelsius, edgePrefix+"connector_temperature_critical_celsius", sensor...)
						}
					}
				}
				for _, tn := range e.Tunnels {
					in, out := "inbound", "outbound"
					if v.DocsDirection {
						in, out = "ingress", "egress"
					}
					p.want(t, tn.IngressBitRate/8, edgePrefix+"tunnel_traffic_bytes_per_second", "account_id", account, "tunnel_name", tn.Name, "direction", in)
					p.want(t, tn.EgressBitRate/8, edgePrefix+"tunnel_traffic_bytes_per_second", "account_id", account, "tunnel_name", tn.Name, "direction", out)
					// Every refresh but the first completed a bucket.
					p.want(t, tn.IngressBitRate*300/8*(refreshes-1), edgePrefix+"tunnel_traffic_bytes_total", "account_id", account, "tunnel_name", tn.Name, "direction", in)
					for i, colo := range tn.Colos {
						state := 1.0
						if i < len(tn.State) {
							state = tn.State[i]
						}
						p.want(t, state, edgePrefix+"tunnel_health_state", "account_id", account, "tunnel_name", tn.Name, "colo", colo)
					}
				}
			}
			if p.count(edgePrefix+"tunnel_traffic_bytes_per_second", "tunnel_name", "") != 0 {
				t.Error("traffic without a tunnel name")
			}
			p.want(t, 2, edgePrefix+"tunnel_active_colos", "account_id", retail, "tunnel_name", simulator.TunnelDegraded, "state", "degraded")
			p.want(t, 2, edgePrefix+"tunnel_active_colos", "account_id", retail, "tunnel_name", simulator.TunnelDownElsewhere, "state", "healthy")
			p.want(t, 1, edgePrefix+"tunnel_active_colos", "account_id", retail, "tunnel_name", simulator.TunnelDown, "state", "down")
			p.want(t, 0, "cloudflare_magic_site_tunnels", "account_id", retail, "site_id", simulator.SiteBerlin, "state", "healthy")

			// What the schema offers, on the page.
			queried := func(ds string, want float64) {
				t.Helper()
				p.want(t, want, edgePrefix+"dataset_queried", "account_id", retail, "dataset", ds)
			}
			queried(api.DatasetConnectorHA, boolToFloat(!v.NoHA))
			queried(api.DatasetConnectorThermals, boolToFloat(thermalsOn))
			queried(api.DatasetConnectorSnapshots, 1)
			p.want(t, boolToFloat(v.DocsCelsius), edgePrefix+"field_available", "account_id", retail, "dataset", api.DatasetConnectorThermals, "field", "max.currentCelsius")
			p.want(t, boolToFloat(!v.DocsCelsius), edgePrefix+"field_available", "account_id", retail, "dataset", api.DatasetConnectorThermals, "field", "max.currentCelcius")
			p.want(t, boolToFloat(!v.NoHA), edgePrefix+"field_available", "account_id", retail, "dataset", api.DatasetConnectorHA, "field", "max.haState")
			if v.NoHA && !strings.Contains(s.logs.String(), `msg="an edge dataset is not queried: its metrics are absent" account_id=`+retail+` dataset=connector_ha`) {
				t.Errorf("the log does not say why HA is absent:\n%s", s.logs.String())
			}
		})
	}
}

// TestEdgeDiscoverySchedule: the schema is discovered at the first
// refresh, again after an hour, and once more after the server rejects a
// field: the next queries leave the field out and are answered without
// error.
func TestEdgeDiscoverySchedule(t *testing.T) {
	s := newStackWith(t, stackConfig{edge: true, fixed: []string{simulator.AccountRetail}})
	retail := simulator.AccountRetail
	stats := func(want simulator.GraphQLStats, when string) {
		t.Helper()
		if got := s.sim.GraphQLStats(retail); got != want {
			t.Errorf("%s: %+v, want %+v", when, got, want)
		}
	}
	s.refreshEdge(t)
	stats(simulator.GraphQLStats{Data: 1, Discovery: 2}, "first refresh")
	s.clock.Add(30 * time.Minute)
	s.refreshEdge(t)
	stats(simulator.GraphQLStats{Data: 2, Discovery: 2}, "half an hour later")
	s.clock.Add(31 * time.Minute)
	s.refreshEdge(t)
	stats(simulator.GraphQLStats{Data: 3, Discovery: 4}, "an hour after the discovery")

	// Cloudflare renames a field: one query is rejected and asked again
	// without it; the schema is discovered again; then one query a
	// refresh again, without error.
	s.sim.SetFault(retail, simulator.EndpointGraphQL, simulator.Fault{GraphQL: &simulator.GraphQLFault{Unknown: []string{"loadAverage5m"}}})
	s.clock.Add(time.Minute)
	s.refreshEdge(t)
	stats(simulator.GraphQLStats{Data: 5, Discovery: 4, Errored: 1}, "the field renamed")
	for i := range 3 {
		s.clock.Add(time.Minute)
		s.refreshEdge(t)
		stats(simulator.GraphQLStats{Data: 6 + i, Discovery: 6, Errored: 1}, "after the rename")
	}
	p := parse(t, s.scrape(t, 0))
	p.want(t, 0, edgePrefix+"field_available", "account_id", retail, "dataset", api.DatasetConnectorSnapshots, "field", "max.loadAverage5m")
	p.want(t, 1, "cloudflare_magic_up", "account_id", retail, "endpoint", poll.EdgeEndpoint(api.DatasetConnectorSnapshots))
	p.want(t, 1, "cloudflare_magic_up", "account_id", retail, "endpoint", poll.EdgeDiscoveryEndpoint)
	p.want(t, 6, "cloudflare_magic_api_requests_total", "endpoint", "graphql_discovery")
	if n := p.count(edgePrefix+"connector_load1", "account_id", retail); n == 0 {
		t.Error("the dataset lost its other fields")
	}
	if strings.Count(s.logs.String(), "rejected fields its schema had offered") != 1 {
		t.Errorf("the rejection is not logged once:\n%s", s.logs.String())
	}
}

// TestEdgeSeriesCap: an answer that invents new tunnel names at every
// refresh cannot grow the view past --collector.edge.max-series: the
// oldest series go, counted and logged once, and the newest answer stays.
func TestEdgeSeriesCap(t *testing.T) {
	const maxSeries = 2000
	s := newStackWith(t, stackConfig{edge: true, fixed: []string{simulator.AccountRetail}, edgeMaxSeries: maxSeries})
	retail := simulator.AccountRetail
	s.refreshEdge(t)
	s.sim.SetFault(retail, simulator.EndpointGraphQL, simulator.Fault{GraphQL: &simulator.GraphQLFault{ExtraSeries: 300, FreshNames: true}})
	for range 5 {
		s.refreshEdge(t)
	}
	page := s.scrape(t, 0)
	p := parse(t, page)
	series := 0
	for _, fam := range []string{"tunnel_health_state", "tunnel_traffic_bytes_per_second", "connector_snapshot_timestamp_seconds",
		"connector_filesystem_size_bytes", "connector_temperature_celsius", "connector_tunnel_health", "connector_ha_state", "connector_events_total"} {
		series += p.count(edgePrefix+fam, "account_id", retail)
	}
	// Traffic series without a rate and snapshot rows without a time do
	// not appear: the page holds at most the cap.
	if series > maxSeries || series < maxSeries/2 {
		t.Errorf("%d edge series on the page, want at most, and near, %d", series, maxSeries)
	}
	if v := p.value(t, edgePrefix+"series_evicted_total", "account_id", retail); v <= 0 {
		t.Errorf("series_evicted_total = %g", v)
	}
	// The newest answer's tunnels are all there.
	newest := s.sim.GraphQLStats(retail).Data + s.sim.GraphQLStats(retail).Discovery
	if n := p.count(edgePrefix+"tunnel_active_colos", "account_id", retail, "state", "healthy"); n < 300 {
		t.Errorf("%d tunnels kept, want the newest answer's 300 at least (request %d)", n, newest)
	}
	if c := strings.Count(s.logs.String(), "passed --collector.edge.max-series"); c != 1 {
		t.Errorf("the cap is logged %d times, want once:\n%s", c, s.logs.String())
	}
}

// TestEdgeRefreshConcurrent: refreshes of the same accounts that overlap
// (a slow refresh and the next tick) do not race: the second leaves an
// account whose refresh is running alone. The race detector checks it.
func TestEdgeRefreshConcurrent(t *testing.T) {
	s := newStackWith(t, stackConfig{edge: true})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { s.edge.RefreshAll(context.Background()) })
	}
	wg.Wait()
	for _, a := range []string{simulator.AccountRetail, simulator.AccountLabs} {
		if st := s.sim.GraphQLStats(a); st.Data == 0 || st.Data > 4 || st.Errored != 0 {
			t.Errorf("account %s: %+v", a, st)
		}
	}
	parse(t, s.scrape(t, 0)).want(t, 1, "cloudflare_magic_up", "account_id", simulator.AccountRetail, "endpoint", poll.EdgeEndpoint(api.DatasetTunnelHealth))
}
