package api_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
)

func TestEdgeQueryPassesSchemaValidation(t *testing.T) {
	q, err := api.EdgeQueryDocument(0)
	if err != nil {
		t.Fatal(err)
	}
	if errs := simulator.ValidateQuery(q); len(errs) > 0 {
		t.Fatalf("the query built from the declarations is invalid: %v\n%s", errs, q)
	}
	if strings.Contains(strings.ToLower(q), "dhcp") {
		t.Errorf("the query asks for DHCP leases:\n%s", q)
	}
	for _, typo := range []struct{ from, to string }{
		{"tunnelState", "tunnelStat"},
		{"mconnTelemetryEventsAdaptiveGroups", "mconnTelemetryEventAdaptiveGroups"},
		{"datetimeFiveMinutes_DESC", "datetimeFiveMinute_DESC"},
		{"datetime_lt", "datetime_lte"},
	} {
		bad := strings.Replace(q, typo.from, typo.to, 1)
		errs := simulator.ValidateQuery(bad)
		if len(errs) == 0 || !strings.Contains(errs.Error(), typo.to) {
			t.Errorf("misspelling %s as %s: errors %v", typo.from, typo.to, errs)
		}
	}
}

func TestEdgeQueryDocumentRejectsUnknownDataset(t *testing.T) {
	if _, err := api.EdgeQueryDocument(0, "dhcp_leases"); err == nil {
		t.Error("no error for an undeclared dataset")
	}
}

// edgeQuery asks for every dataset of the account over the window ending at
// testNow.
func edgeQuery(t *testing.T, c *api.Client, account string) (*api.EdgeResult, error) {
	t.Helper()
	start, end := api.EdgeWindow(time.Time{}, testNow)
	return c.QueryEdge(context.Background(), account, api.EdgeQuery{Start: start, End: end})
}

func mustEdge(t *testing.T, c *api.Client, account string) *api.EdgeResult {
	t.Helper()
	res, err := edgeQuery(t, c, account)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestQueryEdgeDemoFleet(t *testing.T) {
	var observed []api.RequestInfo
	sim, c := newClient(t, api.Config{Observe: func(ri api.RequestInfo) { observed = append(observed, ri) }})
	res := mustEdge(t, c, simulator.AccountRetail)

	for _, st := range res.Statuses() {
		if !st.Queried || st.Err != nil || st.Truncated || st.Rejected != 0 || st.EmptyTunnelNames != 0 {
			t.Errorf("status %+v", st)
		}
	}
	if res.Requests != 1 || sim.GraphQLCalls(simulator.AccountRetail) != 1 {
		t.Errorf("%d requests, %d served, want 1", res.Requests, sim.GraphQLCalls(simulator.AccountRetail))
	}
	if len(observed) != 1 || observed[0].Endpoint != api.EndpointGraphQL || observed[0].StatusCode != 200 ||
		observed[0].RateLimit.Limit != 300 || observed[0].RateLimit.Remaining != 299 {
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
	dirs := map[string]bool{}
	for _, r := range res.TunnelTraffic.Rows {
		dirs[r.Direction] = true
		if r.BitRate == nil || r.Bits == nil || r.Packets == nil {
			t.Errorf("traffic row without values: %+v", r)
		}
	}
	if !dirs["ingress"] || !dirs["egress"] {
		t.Errorf("directions %v", dirs)
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
	start, end := api.EdgeWindow(time.Time{}, testNow)
	res, err := c.QueryEdge(context.Background(), simulator.AccountRetail, api.EdgeQuery{Start: start, End: end,
		Datasets: []string{api.DatasetTunnelHealth, api.DatasetConnectorEvents}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.TunnelHealth.Queried || res.TunnelTraffic.Queried || len(res.TunnelTraffic.Rows) != 0 || len(res.TunnelHealth.Rows) == 0 {
		t.Errorf("health queried %v, traffic queried %v", res.TunnelHealth.Queried, res.TunnelTraffic.Queried)
	}
	q := sim.GraphQLQueries()
	if len(q) != 1 || strings.Contains(q[0], "magicTransitTunnelTrafficAdaptiveGroups") {
		t.Errorf("query %v", q)
	}
	if _, err := c.QueryEdge(context.Background(), simulator.AccountRetail, api.EdgeQuery{Datasets: []string{"nope"}}); err == nil {
		t.Error("no error for an unknown dataset")
	}
}

// intact fails the test unless every dataset but the named ones answered
// rows without error.
func intact(t *testing.T, res *api.EdgeResult, except ...string) {
	t.Helper()
outer:
	for _, st := range res.Statuses() {
		for _, e := range except {
			if st.Dataset == e {
				continue outer
			}
		}
		if st.Err != nil {
			t.Errorf("dataset %s failed too: %v", st.Dataset, st.Err)
		}
	}
	if len(res.TunnelHealth.Rows) == 0 && !contains(except, api.DatasetTunnelHealth) {
		t.Error("tunnel health rows lost")
	}
	if len(res.ConnectorSnapshots.Rows) == 0 && !contains(except, api.DatasetConnectorSnapshots) {
		t.Error("snapshot rows lost")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestQueryEdgeBadInput(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault simulator.GraphQLFault
		check func(t *testing.T, sim *simulator.Server, c *api.Client, res *api.EdgeResult)
	}{
		{
			name:  "renamed field",
			fault: simulator.GraphQLFault{Unknown: []string{"currentCelsius"}},
			check: func(t *testing.T, sim *simulator.Server, c *api.Client, res *api.EdgeResult) {
				err := res.ConnectorThermals.Err
				if err == nil || !err.Schema || !strings.Contains(err.Error(), `"currentCelsius"`) || len(res.ConnectorThermals.Rows) != 0 {
					t.Errorf("thermals: %v", err)
				}
				if res.Requests != 2 || sim.GraphQLCalls(simulator.AccountRetail) != 2 {
					t.Errorf("%d requests, want the second without thermals", res.Requests)
				}
				intact(t, res, api.DatasetConnectorThermals)
			},
		},
		{
			name:  "unknown dataset",
			fault: simulator.GraphQLFault{Unknown: []string{"MagicWANConnectorMetricsAdaptiveGroups"}},
			check: func(t *testing.T, sim *simulator.Server, c *api.Client, res *api.EdgeResult) {
				if err := res.ConnectorHA.Err; err == nil || !err.Schema {
					t.Errorf("HA: %v", err)
				}
				intact(t, res, api.DatasetConnectorHA)
			},
		},
		{
			name:  "permission denied for one dataset",
			fault: simulator.GraphQLFault{Deny: []string{"magicTransitTunnelTrafficAdaptiveGroups"}},
			check: func(t *testing.T, sim *simulator.Server, c *api.Client, res *api.EdgeResult) {
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
			check: func(t *testing.T, sim *simulator.Server, c *api.Client, res *api.EdgeResult) {
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
				_, err := edgeQuery(t, c, simulator.AccountRetail)
				var apiErr *api.Error
				if !errors.Is(err, api.ErrBackoff) || !errors.As(err, &apiErr) || apiErr.Attempts != 0 {
					t.Errorf("query during the pause: %v", err)
				}
				if n := sim.GraphQLCalls(simulator.AccountRetail); n != 1 {
					t.Errorf("%d requests, want none during the pause", n-1)
				}
			},
		},
		{
			name:  "data null",
			fault: simulator.GraphQLFault{DataNull: true},
			check: func(t *testing.T, sim *simulator.Server, c *api.Client, res *api.EdgeResult) {
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
			name:  "empty tunnel names",
			fault: simulator.GraphQLFault{EmptyTunnelNames: true},
			check: func(t *testing.T, sim *simulator.Server, c *api.Client, res *api.EdgeResult) {
				tr := res.TunnelTraffic
				if tr.EmptyTunnelNames == 0 || tr.EmptyTunnelNames != len(tr.Rows)/2 || tr.Err != nil {
					t.Errorf("%d of %d rows with empty names, err %v", tr.EmptyTunnelNames, len(tr.Rows), tr.Err)
				}
				intact(t, res)
			},
		},
		{
			name:  "duplicate rows",
			fault: simulator.GraphQLFault{Duplicates: true},
			check: func(t *testing.T, sim *simulator.Server, c *api.Client, res *api.EdgeResult) {
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
			check: func(t *testing.T, sim *simulator.Server, c *api.Client, res *api.EdgeResult) {
				h := res.TunnelHealth
				// Neither value usable: every row dropped, and counted.
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
			name:  "more rows than the limit",
			fault: simulator.GraphQLFault{ExtraSeries: 4000},
			check: func(t *testing.T, sim *simulator.Server, c *api.Client, res *api.EdgeResult) {
				h := res.TunnelHealth
				if !h.Truncated || len(h.Rows) != api.MaxEdgeRows || h.Err != nil {
					t.Errorf("health: truncated %v, %d rows", h.Truncated, len(h.Rows))
				}
				for i := 1; i < len(h.Rows); i++ {
					if h.Rows[i].Time.After(h.Rows[i-1].Time) {
						t.Fatalf("row %d newer than row %d", i, i-1)
					}
				}
				if res.ConnectorEvents.Truncated {
					t.Error("events truncated")
				}
			},
		},
		{
			name:  "30 MB of error text and the credential echoed",
			fault: simulator.GraphQLFault{Deny: []string{"magicTransitTunnelHealthChecksAdaptiveGroups"}, ErrorBytes: 30 << 20, EchoCredential: true},
			check: func(t *testing.T, sim *simulator.Server, c *api.Client, res *api.EdgeResult) {
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
			f := tc.fault
			sim.SetFault(simulator.AccountRetail, simulator.EndpointGraphQL, simulator.Fault{GraphQL: &f})
			res, err := edgeQuery(t, c, simulator.AccountRetail)
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range res.Statuses() {
				if st.Err != nil {
					assertNoSecret(t, "dataset error", st.Err.Error())
				}
			}
			tc.check(t, sim, c, res)
		})
	}
}
