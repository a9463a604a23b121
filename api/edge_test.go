package api_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
)

var update = flag.Bool("update", false, "rewrite the generated part of docs/edge.md")

// variantClient is newClient against a simulator speaking the variant.
func variantClient(t *testing.T, v simulator.SchemaVariant) (*simulator.Server, *api.Client) {
	t.Helper()
	return variantClientWith(t, v, api.Config{})
}

func variantClientWith(t *testing.T, v simulator.SchemaVariant, cfg api.Config) (*simulator.Server, *api.Client) {
	t.Helper()
	sim := simulator.NewServer(simulator.DemoFleet(testNow), simulator.WithClock(func() time.Time { return testNow }),
		simulator.WithToken(simulator.DemoToken), simulator.WithSchema(v))
	cfg.BaseURL, cfg.Auth = sim.Start(t), mustAuth(api.TokenAuth(simulator.DemoToken))
	c, err := api.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sim, c
}

func discover(t *testing.T, c *api.Client, account string) *api.EdgeSchema {
	t.Helper()
	s, err := c.DiscoverEdge(context.Background(), account)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return s
}

// query asks every dataset the schema allows over the window ending at
// testNow.
func query(t *testing.T, c *api.Client, account string, schema *api.EdgeSchema) (*api.EdgeResult, error) {
	t.Helper()
	return c.QueryEdge(context.Background(), account, api.EdgeQuery{Schema: schema, Now: testNow})
}

// mustEdge discovers the account's schema, then asks every dataset.
func mustEdge(t *testing.T, c *api.Client, account string) *api.EdgeResult {
	t.Helper()
	res, err := query(t, c, account, discover(t, c, account))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// variants are the schema shapes real accounts meet.
var variants = map[string]simulator.SchemaVariant{
	"introspection spelling (Celcius), HA fields":  {},
	"docs spelling (Celsius)":                      {DocsCelsius: true},
	"2024: no HA fields":                           {NoHA: true},
	"tunnelName empty, docs directions":            {EmptyTunnelNames: true, DocsDirection: true},
	"thermals disabled, snapshots not in settings": {Disabled: []string{"mconnTelemetrySnapshotThermalsAdaptiveGroups"}, NotInSettings: []string{"mconnTelemetrySnapshotsAdaptiveGroups"}},
	"small pages, short retention":                 {MaxPageSize: 20, NotOlderThan: 10 * time.Minute, MaxDuration: 10 * time.Minute, MaxNumberOfFields: 7},
}

// TestEdgeQueryValidatesAgainstEachVariant: the query built from what
// discovery found is valid against the schema of every variant, and a
// misspelling in it is not.
func TestEdgeQueryValidatesAgainstEachVariant(t *testing.T) {
	for name, v := range variants {
		t.Run(name, func(t *testing.T) {
			_, c := variantClient(t, v)
			schema := discover(t, c, simulator.AccountRetail)
			q, err := api.EdgeQueryDocument(api.EdgeQuery{Schema: schema, Now: testNow})
			if err != nil {
				t.Fatal(err)
			}
			if errs := simulator.ValidateQuery(v, q); len(errs) > 0 {
				t.Fatalf("the query is invalid: %v\n%s", errs, q)
			}
			if strings.Contains(strings.ToLower(q), "dhcp") {
				t.Errorf("the query asks for DHCP leases:\n%s", q)
			}
			for _, typo := range []struct{ from, to string }{
				{"tunnelState", "tunnelStat"},
				{"datetimeFiveMinutes_DESC", "datetimeFiveMinute_DESC"},
				{"datetime_lt", "datetime_lte"},
			} {
				bad := strings.Replace(q, typo.from, typo.to, 1)
				if errs := simulator.ValidateQuery(v, bad); len(errs) == 0 || !strings.Contains(errs.Error(), typo.to) {
					t.Errorf("misspelling %s as %s: errors %v", typo.from, typo.to, errs)
				}
			}
		})
	}
	// What no source has is never asked, whatever the variant.
	for _, guess := range []string{"criticalCelsius", "dimensions { tunnelName edgeColoName"} {
		_, c := variantClient(t, simulator.SchemaVariant{})
		q, _ := api.EdgeQueryDocument(api.EdgeQuery{Schema: discover(t, c, simulator.AccountRetail), Now: testNow})
		// As an alias, a key of the answer, it is no field asked.
		if strings.Contains(strings.ReplaceAll(q, guess+":", ""), guess) {
			t.Errorf("the query asks %q:\n%s", guess, q)
		}
	}
}

// TestDiscoverEdge: discovery reads each dataset from the settings node,
// or from introspection where settings does not answer, and the choices
// follow: the spelling the account has, the HA fields only where they
// exist, nothing of a disabled dataset.
func TestDiscoverEdge(t *testing.T) {
	choice := func(s *api.EdgeSchema, dataset, field string) string {
		for _, c := range s.Dataset(dataset).Choices() {
			if c.Field == field {
				return c.Chosen
			}
		}
		t.Fatalf("%s has no field %s", dataset, field)
		return ""
	}
	askable := func(s *api.EdgeSchema, dataset string) bool {
		ok, _ := s.Dataset(dataset).Askable()
		return ok
	}
	for _, tc := range []struct {
		variant string
		check   func(t *testing.T, s *api.EdgeSchema)
	}{
		{"introspection spelling (Celcius), HA fields", func(t *testing.T, s *api.EdgeSchema) {
			for _, ds := range s.Datasets {
				if ok, why := ds.Askable(); !ok || ds.Source != api.FromSettings || ds.MaxPageSize != 10000 || ds.MaxFields != 30 {
					t.Errorf("%s: askable %v (%s), source %q, page %d", ds.Dataset, ok, why, ds.Source, ds.MaxPageSize)
				}
			}
			if got := choice(s, api.DatasetConnectorThermals, "max.currentCelsius"); got != "max.currentCelcius" {
				t.Errorf("current temperature read from %q", got)
			}
			if got := choice(s, api.DatasetConnectorThermals, "max.criticalCelsius"); got != "max.criticalCelcius" {
				t.Errorf("critical temperature read from %q", got)
			}
			if got := choice(s, api.DatasetTunnelHealth, "dimensions.colo"); got != "dimensions.edgeColoCode" {
				t.Errorf("colo read from %q, want the IATA code", got)
			}
			if d := s.Dataset(api.DatasetTunnelHealth); d.NotOlderThan != 92*24*time.Hour || d.MaxDuration != 72*time.Hour {
				t.Errorf("health: not older than %v, at most %v", d.NotOlderThan, d.MaxDuration)
			}
		}},
		{"docs spelling (Celsius)", func(t *testing.T, s *api.EdgeSchema) {
			if got := choice(s, api.DatasetConnectorThermals, "max.currentCelsius"); got != "max.currentCelsius" {
				t.Errorf("current temperature read from %q", got)
			}
			if got := choice(s, api.DatasetConnectorThermals, "max.criticalCelsius"); got != "" {
				t.Errorf("critical temperature read from %q, which the account lacks", got)
			}
			if !askable(s, api.DatasetConnectorThermals) {
				t.Error("thermals not askable without their critical temperature")
			}
		}},
		{"2024: no HA fields", func(t *testing.T, s *api.EdgeSchema) {
			if ok, why := s.Dataset(api.DatasetConnectorHA).Askable(); ok || !strings.Contains(why, "haState") {
				t.Errorf("HA askable %v: %s", ok, why)
			}
		}},
		{"thermals disabled, snapshots not in settings", func(t *testing.T, s *api.EdgeSchema) {
			if ok, why := s.Dataset(api.DatasetConnectorThermals).Askable(); ok || !strings.Contains(why, "not enabled") {
				t.Errorf("thermals askable %v: %s", ok, why)
			}
			snap := s.Dataset(api.DatasetConnectorSnapshots)
			if snap.Source != api.FromIntrospection || !snap.Enabled || !snap.Has("max.loadAverage1m") || !askable(s, api.DatasetConnectorSnapshots) {
				t.Errorf("snapshots: %+v", snap)
			}
		}},
		{"small pages, short retention", func(t *testing.T, s *api.EdgeSchema) {
			d := s.Dataset(api.DatasetTunnelHealth)
			if d.Limit() != 20 || d.NotOlderThan != 10*time.Minute || d.MaxFields != 7 {
				t.Errorf("health: limit %d, not older than %v, fields %d", d.Limit(), d.NotOlderThan, d.MaxFields)
			}
			// 10 minutes back at most, a bucket of margin: [11:55, 12:05).
			start, end := d.Window(time.Time{}, testNow)
			if !start.Equal(testNow.Add(-5*time.Minute)) || !end.Equal(testNow.Add(5*time.Minute)) {
				t.Errorf("window [%v, %v)", start, end)
			}
		}},
	} {
		t.Run(tc.variant, func(t *testing.T) {
			var observed []string
			sim, c := variantClientWith(t, variants[tc.variant], api.Config{
				Observe: func(ri api.RequestInfo) { observed = append(observed, ri.Endpoint) }})
			s := discover(t, c, simulator.AccountRetail)
			if !slices.Equal(observed, []string{api.EndpointGraphQLDiscovery, api.EndpointGraphQLDiscovery}) {
				t.Errorf("discovery made requests %v, want two of %s", observed, api.EndpointGraphQLDiscovery)
			}
			if st := sim.GraphQLStats(simulator.AccountRetail); st.Discovery != 2 || st.Data != 0 || st.Errored != 0 {
				t.Errorf("simulator saw %+v", st)
			}
			tc.check(t, s)
		})
	}
}

// TestQueryEdgeVariants: for each variant, after discovery, one request
// answered without error brings every askable dataset, with the values the
// simulator holds.
func TestQueryEdgeVariants(t *testing.T) {
	edge := simulator.DemoFleet(testNow)[0].Edge
	for name, v := range variants {
		t.Run(name, func(t *testing.T) {
			sim, c := variantClient(t, v)
			schema := discover(t, c, simulator.AccountRetail)
			res, err := query(t, c, simulator.AccountRetail, schema)
			if err != nil {
				t.Fatal(err)
			}
			if st := sim.GraphQLStats(simulator.AccountRetail); res.Requests != 1 || st.Data != 1 || st.Errored != 0 {
				t.Errorf("%d requests, simulator saw %+v", res.Requests, st)
			}
			for _, st := range res.Statuses() {
				ok, _ := schema.Dataset(st.Dataset).Askable()
				if st.Queried != ok || st.Err != nil {
					t.Errorf("%s: queried %v, askable %v, err %v", st.Dataset, st.Queried, ok, st.Err)
				}
			}
			if v.MaxPageSize > 0 {
				if h := res.TunnelHealth; !h.Truncated || len(h.Rows) != v.MaxPageSize || h.Limit != v.MaxPageSize {
					t.Errorf("health: %d rows of limit %d, truncated %v", len(h.Rows), h.Limit, h.Truncated)
				}
				return
			}
			// Health: IATA code, site, active, as held.
			for _, r := range res.TunnelHealth.Rows {
				i := slices.IndexFunc(edge.Tunnels, func(tn simulator.EdgeTunnel) bool { return tn.Name == r.TunnelName })
				tn := edge.Tunnels[i]
				j := slices.Index(tn.Colos, r.Colo)
				wantActive := 1.0
				if j < len(tn.Active) && !tn.Active[j] {
					wantActive = 0
				}
				if j < 0 || r.SiteName != tn.Site || r.Active == nil || *r.Active != wantActive {
					t.Fatalf("health row %+v, tunnel %+v", r, tn)
				}
			}
			// Traffic: named whatever the account's tunnelName, in its
			// own vocabulary.
			dirs := map[string]float64{}
			for _, r := range res.TunnelTraffic.Rows {
				if r.TunnelName == "lon-oxford-ipsec-1" && r.Time.Equal(res.TunnelTraffic.Newest) {
					dirs[r.Direction] = *r.BitRate
				}
			}
			want := map[string]float64{"inbound": 4.2e7, "outbound": 1.1e7, "lateral": 3.1e6}
			if v.DocsDirection {
				want = map[string]float64{"ingress": 4.2e7, "egress": 1.1e7}
			}
			if !mapsEqual(dirs, want) {
				t.Errorf("lon-oxford-ipsec-1 traffic %v, want %v", dirs, want)
			}
			// Thermals: whichever spelling, the same values.
			for _, r := range res.ConnectorThermals.Rows {
				if r.CurrentCelsius == nil || (r.CriticalCelsius != nil) == v.DocsCelsius {
					t.Fatalf("thermal row %+v", r)
				}
			}
			if !v.NoHA && len(res.ConnectorHA.Rows) == 0 {
				t.Error("no HA rows")
			}
		})
	}
}

func mapsEqual(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestQueryEdgeDemoFleet(t *testing.T) {
	var observed []api.RequestInfo
	sim, c := newClient(t, api.Config{Observe: func(ri api.RequestInfo) { observed = append(observed, ri) }})
	res := mustEdge(t, c, simulator.AccountRetail)

	for _, st := range res.Statuses() {
		if !st.Queried || st.Err != nil || st.Truncated || st.Rejected != 0 || st.EmptyTunnelNames != 0 || st.PastLimit != 0 || st.OutsideWindow != 0 {
			t.Errorf("status %+v", st)
		}
	}
	if res.Requests != 1 || sim.GraphQLStats(simulator.AccountRetail).Data != 1 {
		t.Errorf("%d requests, %+v served, want 1", res.Requests, sim.GraphQLStats(simulator.AccountRetail))
	}
	data := observed[len(observed)-1]
	if len(observed) != 3 || data.Endpoint != api.EndpointGraphQL || data.StatusCode != 200 ||
		data.RateLimit.Limit != 300 || data.RateLimit.Remaining != 297 {
		t.Errorf("observed %+v", observed)
	}
	// Window [11:45, 12:05) at 12:00, the analytics 2 minutes behind:
	// buckets 11:55, 11:50, 11:45, newest first.
	newest := time.Date(2026, 11, 24, 11, 55, 0, 0, time.UTC)
	if !res.TunnelHealth.Newest.Equal(newest) || !res.TunnelHealth.Rows[0].Time.Equal(newest) {
		t.Errorf("newest %v, first row %v, want %v", res.TunnelHealth.Newest, res.TunnelHealth.Rows[0].Time, newest)
	}
	states := map[string][]float64{}
	for _, r := range res.TunnelHealth.Rows {
		if r.Time.Equal(newest) {
			states[r.TunnelName] = append(states[r.TunnelName], *r.State)
		}
	}
	if got := states[simulator.TunnelDown]; len(got) != 3 || got[0] != 0 || got[1] != 0 || got[2] != 0 {
		t.Errorf("down tunnel states %v", got)
	}
	if got := states[simulator.TunnelDegraded]; len(got) != 3 || got[0] != 1 || got[1] != 0.5 || got[2] != 0.5 {
		t.Errorf("degraded tunnel states %v", got)
	}
	if got := states["lon-oxford-ipsec-1"]; len(got) != 3 || got[0] != 1 {
		t.Errorf("healthy tunnel states %v", got)
	}
	for _, r := range res.TunnelTraffic.Rows {
		if r.BitRate == nil || r.Bits == nil || r.Packets == nil {
			t.Errorf("traffic row without values: %+v", r)
		}
	}
	var full bool
	for _, m := range res.ConnectorMounts.Rows {
		if m.ConnectorID == simulator.ConnectorDiskFull && m.MountPoint == simulator.MountNearlyFull {
			full = *m.AvailableBytes < 0.1**m.TotalBytes
		}
	}
	if !full {
		t.Error("no nearly full disk")
	}
	for _, s := range res.ConnectorSnapshots.Rows {
		if s.ConnectorID == simulator.ConnectorStale {
			t.Error("the stale connector has recent telemetry")
		}
	}
	events := map[string]float64{}
	for _, e := range res.ConnectorEvents.Rows {
		events[e.ConnectorID+"/"+e.EventType] += *e.Count
	}
	if events[simulator.ConnectorNoDevice+"/AttestationFailure"] != 6 || events[simulator.ConnectorOldVersion+"/Init"] != 1 {
		t.Errorf("events %v", events)
	}
	if len(res.ConnectorHA.Rows) == 0 || len(res.ConnectorTunnels.Rows) == 0 || len(res.ConnectorThermals.Rows) == 0 {
		t.Error("empty connector datasets")
	}

	labs := mustEdge(t, c, simulator.AccountLabs)
	var hot, hotTemp bool
	for _, s := range labs.ConnectorSnapshots.Rows {
		if s.ConnectorID == simulator.ConnectorHot {
			hot = *s.Load1 > *s.CPUCount
		}
	}
	for _, th := range labs.ConnectorThermals.Rows {
		if th.ConnectorID == simulator.ConnectorHot && *th.CurrentCelsius >= 90 {
			hotTemp = true
		}
	}
	if !hot || !hotTemp {
		t.Errorf("hot connector: load above CPUs %v, temperature high %v", hot, hotTemp)
	}
}

func TestQueryEdgeSomeDatasets(t *testing.T) {
	sim, c := newClient(t, api.Config{})
	schema := discover(t, c, simulator.AccountRetail)
	res, err := c.QueryEdge(context.Background(), simulator.AccountRetail, api.EdgeQuery{Schema: schema, Now: testNow,
		Datasets: []string{api.DatasetTunnelHealth, api.DatasetConnectorEvents}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.TunnelHealth.Queried || res.TunnelTraffic.Queried || len(res.TunnelTraffic.Rows) != 0 || len(res.TunnelHealth.Rows) == 0 {
		t.Errorf("health queried %v, traffic queried %v", res.TunnelHealth.Queried, res.TunnelTraffic.Queried)
	}
	q := sim.GraphQLQueries()
	if last := q[len(q)-1]; strings.Contains(last, "magicTransitTunnelTrafficAdaptiveGroups") {
		t.Errorf("query %v", last)
	}
	if _, err := c.QueryEdge(context.Background(), simulator.AccountRetail, api.EdgeQuery{Schema: schema, Datasets: []string{"nope"}}); err == nil {
		t.Error("no error for an unknown dataset")
	}
	if _, err := c.QueryEdge(context.Background(), simulator.AccountRetail, api.EdgeQuery{Now: testNow}); err == nil {
		t.Error("no error without a schema")
	}
}

// intact fails the test unless every dataset but the named ones answered
// rows without error.
func intact(t *testing.T, res *api.EdgeResult, except ...string) {
	t.Helper()
	for _, st := range res.Statuses() {
		if st.Err != nil && !slices.Contains(except, st.Dataset) {
			t.Errorf("dataset %s failed too: %v", st.Dataset, st.Err)
		}
	}
	if len(res.TunnelHealth.Rows) == 0 && !slices.Contains(except, api.DatasetTunnelHealth) {
		t.Error("tunnel health rows lost")
	}
	if len(res.ConnectorSnapshots.Rows) == 0 && !slices.Contains(except, api.DatasetConnectorSnapshots) {
		t.Error("snapshot rows lost")
	}
}

func TestQueryEdgeBadInput(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault simulator.GraphQLFault
		check func(t *testing.T, sim *simulator.Server, c *api.Client, schema *api.EdgeSchema, res *api.EdgeResult)
	}{
		{
			name:  "a field renamed since discovery",
			fault: simulator.GraphQLFault{Unknown: []string{"currentCelcius"}},
			check: func(t *testing.T, sim *simulator.Server, c *api.Client, schema *api.EdgeSchema, res *api.EdgeResult) {
				want := []api.FieldRef{{Dataset: api.DatasetConnectorThermals, Field: "max.currentCelcius"}}
				if !slices.Equal(res.Unknown, want) || res.Requests != 2 {
					t.Errorf("unknown %v after %d requests, want %v after 2", res.Unknown, res.Requests, want)
				}
				// Asked again without the field: the critical temperature
				// stays, the current one is gone.
				th := res.ConnectorThermals
				if th.Err != nil || len(th.Rows) == 0 || th.Rows[0].CurrentCelsius != nil || th.Rows[0].CriticalCelsius == nil {
					t.Errorf("thermals: err %v, %d rows", th.Err, len(th.Rows))
				}
				intact(t, res)
				// The schema without it builds a query the server takes.
				again, err := query(t, c, simulator.AccountRetail, schema.Without(res.Unknown))
				if err != nil || again.Requests != 1 || len(again.Unknown) != 0 {
					t.Errorf("without the field: %v, %d requests, unknown %v", err, again.Requests, again.Unknown)
				}
			},
		},
		{
			name:  "a dataset renamed since discovery",
			fault: simulator.GraphQLFault{Unknown: []string{"MagicWANConnectorMetricsAdaptiveGroups"}},
			check: func(t *testing.T, sim *simulator.Server, c *api.Client, schema *api.EdgeSchema, res *api.EdgeResult) {
				if err := res.ConnectorHA.Err; err == nil || !err.Schema || res.Requests != 2 {
					t.Errorf("HA: %v after %d requests", err, res.Requests)
				}
				intact(t, res, api.DatasetConnectorHA)
			},
		},
		{
			name:  "permission denied for one dataset",
			fault: simulator.GraphQLFault{Deny: []string{"magicTransitTunnelTrafficAdaptiveGroups"}},
			check: func(t *testing.T, sim *simulator.Server, c *api.Client, schema *api.EdgeSchema, res *api.EdgeResult) {
				err := res.TunnelTraffic.Err
				if err == nil || !err.Permission || err.Code != "authz" || !strings.Contains(err.Error(), api.PermissionAnalyticsRead) {
					t.Errorf("traffic: %v", err)
				}
				if !api.IsPermission(err) || res.Requests != 1 {
					t.Errorf("IsPermission %v, %d requests", api.IsPermission(err), res.Requests)
				}
				intact(t, res, api.DatasetTunnelTraffic)
			},
		},
		{
			name:  "quota exceeded",
			fault: simulator.GraphQLFault{Quota: true},
			check: func(t *testing.T, sim *simulator.Server, c *api.Client, schema *api.EdgeSchema, res *api.EdgeResult) {
				for _, st := range res.Statuses() {
					if st.Err == nil || !st.Err.Quota {
						t.Errorf("%s: %v", st.Dataset, st.Err)
					}
				}
				if got := c.GraphQLBackoffRemaining(); got <= 59*time.Second || got > time.Minute {
					t.Errorf("GraphQL backoff %v, want Retry-After's minute", got)
				}
				if c.BackoffRemaining() != 0 {
					t.Error("REST calls paused by a GraphQL quota")
				}
				_, err := query(t, c, simulator.AccountRetail, schema)
				var apiErr *api.Error
				if !errors.Is(err, api.ErrBackoff) || !errors.As(err, &apiErr) || apiErr.Attempts != 0 {
					t.Errorf("query during the pause: %v", err)
				}
				if n := sim.GraphQLStats(simulator.AccountRetail).Data; n != 1 {
					t.Errorf("%d requests, want none during the pause", n-1)
				}
			},
		},
		{
			name:  "data null",
			fault: simulator.GraphQLFault{DataNull: true},
			check: func(t *testing.T, sim *simulator.Server, c *api.Client, schema *api.EdgeSchema, res *api.EdgeResult) {
				for _, st := range res.Statuses() {
					if st.Err == nil || st.Err.Code != "internal" || !strings.Contains(st.Err.Error(), "internal error") {
						t.Errorf("%s: %v", st.Dataset, st.Err)
					}
				}
				if res.Requests != 1 {
					t.Errorf("%d requests", res.Requests)
				}
			},
		},
		{
			name:  "rows without any tunnel name",
			fault: simulator.GraphQLFault{EmptyTunnelNames: true},
			check: func(t *testing.T, sim *simulator.Server, c *api.Client, schema *api.EdgeSchema, res *api.EdgeResult) {
				h := res.TunnelHealth
				if h.EmptyTunnelNames == 0 || h.EmptyTunnelNames != len(h.Rows)/2 || h.Err != nil {
					t.Errorf("%d of %d health rows with empty names, err %v", h.EmptyTunnelNames, len(h.Rows), h.Err)
				}
				// Traffic rows name their tunnel in ingressTunnelName or
				// egressTunnelName too: none is nameless.
				if tr := res.TunnelTraffic; tr.EmptyTunnelNames != 0 {
					t.Errorf("%d nameless traffic rows", tr.EmptyTunnelNames)
				}
				intact(t, res)
			},
		},
		{
			name:  "duplicate rows",
			fault: simulator.GraphQLFault{Duplicates: true},
			check: func(t *testing.T, sim *simulator.Server, c *api.Client, schema *api.EdgeSchema, res *api.EdgeResult) {
				rows := res.TunnelHealth.Rows
				// 9 tunnels, 3 colos, 3 buckets, each row twice.
				if len(rows) != 2*81 || rows[0].TunnelName != rows[1].TunnelName || rows[0].Colo != rows[1].Colo || !rows[0].Time.Equal(rows[1].Time) {
					t.Errorf("%d rows, first two %+v %+v", len(rows), rows[0], rows[1])
				}
				intact(t, res)
			},
		},
		{
			name:  "NaN values",
			fault: simulator.GraphQLFault{NaN: []string{"tunnelState", "loadAverage1m", "count"}},
			check: func(t *testing.T, sim *simulator.Server, c *api.Client, schema *api.EdgeSchema, res *api.EdgeResult) {
				h := res.TunnelHealth
				// No state: every row dropped, and counted.
				if len(h.Rows) != 0 || h.Rejected != 81 || h.Err != nil {
					t.Errorf("health: %d rows, %d rejected, err %v", len(h.Rows), h.Rejected, h.Err)
				}
				s := res.ConnectorSnapshots
				if len(s.Rows) == 0 || s.Rejected != len(s.Rows) || s.Rows[0].Load1 != nil || s.Rows[0].Load5 == nil {
					t.Errorf("snapshots: %d rows, %d rejected", len(s.Rows), s.Rejected)
				}
				if res.TunnelTraffic.Rejected != 0 || len(res.TunnelTraffic.Rows) == 0 {
					t.Error("traffic rows touched")
				}
			},
		},
		{
			name:  "values out of range",
			fault: simulator.GraphQLFault{Values: map[string]string{"tunnelState": "-5", "haState": "9", "healthValue": "1e300", "active": "7"}},
			check: func(t *testing.T, sim *simulator.Server, c *api.Client, schema *api.EdgeSchema, res *api.EdgeResult) {
				if h := res.TunnelHealth; len(h.Rows) != 0 || h.Rejected != 81 {
					t.Errorf("health: %d rows kept with a state of -5, %d rejected", len(h.Rows), h.Rejected)
				}
				if ha := res.ConnectorHA; len(ha.Rows) != 0 || ha.Rejected == 0 {
					t.Errorf("HA: %d rows kept with a state of 9", len(ha.Rows))
				}
				if ct := res.ConnectorTunnels; len(ct.Rows) != 0 || ct.Rejected == 0 {
					t.Errorf("connector tunnels: %d rows kept with a health of 1e300", len(ct.Rows))
				}
				intact(t, res, api.DatasetTunnelHealth)
			},
		},
		{
			name:  "buckets in the future",
			fault: simulator.GraphQLFault{FutureBuckets: true},
			check: func(t *testing.T, sim *simulator.Server, c *api.Client, schema *api.EdgeSchema, res *api.EdgeResult) {
				for _, st := range res.Statuses() {
					if st.Newest.After(testNow) {
						t.Errorf("%s: newest bucket %v, after now", st.Dataset, st.Newest)
					}
				}
				if h := res.TunnelHealth; h.OutsideWindow != 2*27 || len(h.Rows) != 81 {
					t.Errorf("health: %d rows outside the window, %d kept", h.OutsideWindow, len(h.Rows))
				}
				intact(t, res)
			},
		},
		{
			name:  "30 MB of error text and the credential echoed",
			fault: simulator.GraphQLFault{Deny: []string{"magicTransitTunnelHealthChecksAdaptiveGroups"}, ErrorBytes: 30 << 20, EchoCredential: true},
			check: func(t *testing.T, sim *simulator.Server, c *api.Client, schema *api.EdgeSchema, res *api.EdgeResult) {
				err := res.TunnelHealth.Err
				if err == nil || len(err.Error()) > 500 || !err.Permission {
					t.Errorf("error of %d bytes: %.200v", len(err.Error()), err)
				}
				assertNoSecret(t, "dataset error", err.Error())
				intact(t, res, api.DatasetTunnelHealth)
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim, c := newClient(t, api.Config{MaxResponseBytes: 64 << 20})
			schema := discover(t, c, simulator.AccountRetail)
			f := tc.fault
			sim.SetFault(simulator.AccountRetail, simulator.EndpointGraphQL, simulator.Fault{GraphQL: &f})
			res, err := query(t, c, simulator.AccountRetail, schema)
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range res.Statuses() {
				if st.Err != nil {
					assertNoSecret(t, "dataset error", st.Err.Error())
				}
			}
			tc.check(t, sim, c, schema, res)
		})
	}
}

// TestQueryEdgePastLimit: rows beyond the limit asked for are discarded
// and counted, the others kept newest first.
func TestQueryEdgePastLimit(t *testing.T) {
	sim, c := variantClient(t, simulator.SchemaVariant{MaxPageSize: 20})
	schema := discover(t, c, simulator.AccountRetail)
	sim.SetFault(simulator.AccountRetail, simulator.EndpointGraphQL, simulator.Fault{GraphQL: &simulator.GraphQLFault{PastLimit: 50}})
	res, err := query(t, c, simulator.AccountRetail, schema)
	if err != nil {
		t.Fatal(err)
	}
	h := res.TunnelHealth
	if !h.Truncated || len(h.Rows) != 20 || h.PastLimit != 50 || h.Err != nil {
		t.Errorf("health: truncated %v, %d rows kept, %d past the limit, %v", h.Truncated, len(h.Rows), h.PastLimit, h.Err)
	}
	for i := 1; i < len(h.Rows); i++ {
		if h.Rows[i].Time.After(h.Rows[i-1].Time) {
			t.Fatalf("row %d newer than row %d", i, i-1)
		}
	}
	if e := res.ConnectorEvents; e.Truncated || e.PastLimit != 0 {
		t.Errorf("events: truncated %v, %d past the limit", e.Truncated, e.PastLimit)
	}
}

// TestEdgeEvidenceDoc: every GraphQL name the declarations read has its
// evidence, and docs/edge.md lists them all (regenerated with -update).
func TestEdgeEvidenceDoc(t *testing.T) {
	var b strings.Builder
	b.WriteString("| dataset | field | read from, in order of preference | evidence |\n|---|---|---|---|\n")
	for _, e := range api.EdgeFieldEvidence() {
		if len(e.Sources) == 0 {
			t.Errorf("%s %s: no evidence", e.Dataset, e.Name)
		}
		field := e.Field
		if e.Required {
			field += " (required)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %d. `%s` | %s |\n", e.Dataset, field, e.Preference, e.Name, e)
	}
	const path = "../docs/edge.md"
	const begin, end = "<!-- BEGIN GENERATED FIELD EVIDENCE -->\n", "<!-- END GENERATED FIELD EVIDENCE -->\n"
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok1 := strings.Cut(string(doc), begin)
	_, after, ok2 := strings.Cut(rest, end)
	if !ok1 || !ok2 {
		t.Fatalf("%s lacks the markers %q and %q", path, begin, end)
	}
	want := before + begin + "<!-- Generated from api/edge.go and api/edgeevidence.go by `go test ./api -run TestEdgeEvidenceDoc -update`. -->\n\n" +
		b.String() + "\n" + end + after
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if string(doc) != want {
		t.Errorf("%s is out of date with the declarations: go test ./api -run TestEdgeEvidenceDoc -update", path)
	}
}
