package collector

import (
	"slices"
	"strings"
	"testing"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/poll"
)

// witness is, per dataset, a family that has series for the retail account
// whenever the dataset answered.
var witness = map[string]string{
	api.DatasetTunnelHealth:       edgePrefix + "tunnel_health_state",
	api.DatasetTunnelTraffic:      edgePrefix + "tunnel_traffic_bytes_per_second",
	api.DatasetConnectorSnapshots: edgePrefix + "connector_load1",
	api.DatasetConnectorMounts:    edgePrefix + "connector_filesystem_avail_bytes",
	api.DatasetConnectorThermals:  edgePrefix + "connector_temperature_celsius",
	api.DatasetConnectorTunnels:   edgePrefix + "connector_tunnel_health",
	api.DatasetConnectorHA:        edgePrefix + "connector_ha_state",
	api.DatasetConnectorEvents:    edgePrefix + "connector_events_total",
}

// TestEdgeBadInput: each thing the GraphQL API can answer wrong, for one
// account, after its schema was discovered, costs only what it touches:
// the affected dataset's up is 0 (or it is no longer queried, or a drop or
// truncation metric says what was left out), a log line says why, and the
// account's other datasets, its REST endpoints and the other account keep
// their series. The page stays valid.
func TestEdgeBadInput(t *testing.T) {
	retail, labs := simulator.AccountRetail, simulator.AccountLabs
	all := api.EdgeDatasets()
	for _, tc := range []struct {
		name  string
		fault simulator.GraphQLFault
		// failed are the datasets whose up is 0; unqueried those no
		// longer asked.
		failed, unqueried []string
		// blank are datasets that answered but whose witness family has
		// no series for the account.
		blank []string
		// dropped is the dataset and reason whose rows_dropped
		// must be positive.
		dropped [2]string
		// truncated are the datasets whose rows_truncated must be 1.
		truncated []string
		// log is what the log must say.
		log []string
		// check looks at the page further.
		check func(t *testing.T, page string, p parsed)
	}{
		{
			// The query is rejected, asked again without the field; the
			// schema, discovered again, lacks it: the dataset is not
			// asked any more, and its last rows age out.
			name:      "a field renamed since discovery",
			fault:     simulator.GraphQLFault{Unknown: []string{"tunnelState"}},
			unqueried: []string{api.DatasetTunnelHealth},
			log: []string{`msg="the GraphQL API rejected fields its schema had offered; they are left out, and the schema discovered again" account_id=` + retail + ` fields=tunnel_health:avg.tunnelState`,
				`msg="an edge dataset is not queried: its metrics are absent" account_id=` + retail + ` dataset=tunnel_health`},
		},
		{
			name:      "a dataset renamed since discovery",
			fault:     simulator.GraphQLFault{Unknown: []string{"mconnTelemetrySnapshotThermalsAdaptiveGroups"}},
			unqueried: []string{api.DatasetConnectorThermals},
			log:       []string{`dataset=connector_thermals reason="the account's GraphQL schema has no dataset mconnTelemetrySnapshotThermalsAdaptiveGroups"`},
		},
		{
			name:   "permission denied",
			fault:  simulator.GraphQLFault{Deny: []string{"magicTransitTunnelTrafficAdaptiveGroups"}},
			failed: []string{api.DatasetTunnelTraffic},
			log:    []string{`give the token the Account Analytics: Read permission`, `dataset=tunnel_traffic`},
		},
		{
			name:   "data null",
			fault:  simulator.GraphQLFault{DataNull: true},
			failed: all,
			log:    []string{`msg="an edge dataset failed; its last rows are served" account_id=` + retail, `an internal error occurred`},
		},
		{
			name:    "empty tunnel names",
			fault:   simulator.GraphQLFault{EmptyTunnelNames: true},
			dropped: [2]string{api.DatasetTunnelHealth, poll.DropEmptyTunnelName},
			check: func(t *testing.T, page string, p parsed) {
				if strings.Contains(page, `tunnel_name=""`) {
					t.Errorf("a series with an empty tunnel name:\n%s", grep(page, `tunnel_name=""`))
				}
				// Traffic rows name their tunnel in ingressTunnelName or
				// egressTunnelName too: none dropped.
				p.want(t, 0, edgePrefix+"rows_dropped", "account_id", retail, "dataset", api.DatasetTunnelTraffic, "reason", poll.DropEmptyTunnelName)
			},
		},
		{
			name:    "duplicate rows",
			fault:   simulator.GraphQLFault{Duplicates: true},
			dropped: [2]string{api.DatasetTunnelHealth, poll.DropDuplicate},
			check: func(t *testing.T, page string, p parsed) {
				for _, ds := range all {
					if ds == api.DatasetConnectorEvents {
						continue
					}
					if v := p.value(t, edgePrefix+"rows_dropped", "account_id", retail, "dataset", ds, "reason", poll.DropDuplicate); v <= 0 {
						t.Errorf("%s: no duplicate counted", ds)
					}
				}
				// The values are those of one row, not summed.
				p.want(t, 3, edgePrefix+"tunnel_colos", "account_id", retail, "tunnel_name", simulator.TunnelDown, "state", "down")
				p.want(t, 4.2e7/8, edgePrefix+"tunnel_traffic_bytes_per_second", "account_id", retail, "tunnel_name", "lon-oxford-ipsec-1", "direction", "inbound")
			},
		},
		{
			name:    "NaN values",
			fault:   simulator.GraphQLFault{NaN: []string{"tunnelState", "bitRateFiveMinutes", "loadAverage1m"}},
			blank:   []string{api.DatasetTunnelTraffic, api.DatasetConnectorSnapshots},
			dropped: [2]string{api.DatasetTunnelHealth, poll.DropValue},
			check: func(t *testing.T, page string, p parsed) {
				for _, ds := range []string{api.DatasetTunnelHealth, api.DatasetTunnelTraffic, api.DatasetConnectorSnapshots} {
					if v := p.value(t, edgePrefix+"rows_dropped", "account_id", retail, "dataset", ds, "reason", poll.DropValue); v <= 0 {
						t.Errorf("%s: no unusable value counted", ds)
					}
				}
				// Rows without a usable value keep the last good ones
				// (health); rows with some keep those only (traffic's
				// bits, the snapshots' load5).
				if p.count(edgePrefix+"connector_load5", "account_id", retail) == 0 || p.count(edgePrefix+"tunnel_traffic_bytes_total", "account_id", retail) == 0 {
					t.Error("the rows' usable values are gone with the unusable ones")
				}
				p.want(t, 3, edgePrefix+"tunnel_colos", "account_id", retail, "tunnel_name", simulator.TunnelDown, "state", "down")
			},
		},
		{
			name:    "a tunnel state out of range",
			fault:   simulator.GraphQLFault{Values: map[string]string{"tunnelState": "-5"}},
			dropped: [2]string{api.DatasetTunnelHealth, poll.DropValue},
			check: func(t *testing.T, page string, p parsed) {
				// -5 is no "down": the rows are dropped, the last good
				// ones stay.
				p.want(t, 0, edgePrefix+"tunnel_colos", "account_id", retail, "tunnel_name", "lon-oxford-ipsec-1", "state", "down")
				// Every row of the newest bucket, the one asked again.
				p.want(t, 27, edgePrefix+"rows_dropped", "account_id", retail, "dataset", api.DatasetTunnelHealth, "reason", poll.DropValue)
			},
		},
		{
			name:    "buckets in the future",
			fault:   simulator.GraphQLFault{FutureBuckets: true},
			dropped: [2]string{api.DatasetTunnelHealth, poll.DropOutsideWindow},
			check: func(t *testing.T, page string, p parsed) {
				// Not shown as fresh data.
				p.want(t, 300, edgePrefix+"data_age_seconds", "account_id", retail, "dataset", api.DatasetTunnelHealth)
			},
		},
		{
			name:      "more than 10,000 rows, and more sent than asked",
			fault:     simulator.GraphQLFault{ExtraSeries: 4000, PastLimit: 500},
			truncated: []string{api.DatasetTunnelHealth, api.DatasetTunnelTraffic},
			dropped:   [2]string{api.DatasetTunnelHealth, poll.DropPastLimit},
			log: []string{`msg="an edge dataset answered the row limit: the oldest bucket of the answer may be incomplete" account_id=` + retail + ` dataset=tunnel_health limit=10000`,
				`msg="an edge dataset answered rows it was not asked for: they are discarded" account_id=` + retail + ` dataset=tunnel_health past_limit=500 outside_window=0`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStackWith(t, stackConfig{edge: true})
			s.refreshEdge(t) // discovery, and a clean first view
			s.sim.SetFault(retail, simulator.EndpointGraphQL, simulator.Fault{GraphQL: &tc.fault})
			// Several refreshes: a failure that lasts is no worse on the
			// third than on the first.
			for range 3 {
				s.refreshEdge(t)
			}
			page := s.scrape(t, 0)
			if tc.truncated == nil {
				// promlint's duplicate check is quadratic: minutes on
				// the 24,000 extra series of a truncated answer, where
				// noDuplicateSeries and the parser below do.
				lint(t, page)
			}
			p := parse(t, page)
			noDuplicateSeries(t, page)
			if strings.Contains(page, "NaN") {
				t.Errorf("a NaN on the page:\n%s", grep(page, "NaN"))
			}

			for _, ds := range all {
				fam := witness[ds]
				if n := p.count(fam, "account_id", retail); n == 0 && !slices.Contains(tc.unqueried, ds) && !slices.Contains(tc.blank, ds) {
					t.Errorf("%s: no series of %s, not even the last good ones", ds, fam)
				}
				p.want(t, 1, "cloudflare_magic_up", "account_id", labs, "endpoint", poll.EdgeEndpoint(ds))
				if slices.Contains(tc.unqueried, ds) {
					p.want(t, 0, edgePrefix+"dataset_queried", "account_id", retail, "dataset", ds)
					if _, ok := p.find(t, "cloudflare_magic_up", "account_id", retail, "endpoint", poll.EdgeEndpoint(ds)); ok {
						t.Errorf("%s: not queried, yet an up series", ds)
					}
					continue
				}
				up := 1.0
				if slices.Contains(tc.failed, ds) {
					up = 0
				}
				p.want(t, up, "cloudflare_magic_up", "account_id", retail, "endpoint", poll.EdgeEndpoint(ds))
				p.want(t, 1, edgePrefix+"dataset_queried", "account_id", retail, "dataset", ds)
				truncated := 0.0
				if slices.Contains(tc.truncated, ds) {
					truncated = 1
				}
				p.want(t, truncated, edgePrefix+"rows_truncated", "account_id", retail, "dataset", ds)
			}
			if tc.dropped[0] != "" {
				if v := p.value(t, edgePrefix+"rows_dropped", "account_id", retail, "dataset", tc.dropped[0], "reason", tc.dropped[1]); v <= 0 {
					t.Errorf("rows_dropped{dataset=%q,reason=%q} = %g, want > 0", tc.dropped[0], tc.dropped[1], v)
				}
			}
			// The REST endpoints and the other account are untouched.
			for _, ep := range []string{"connectors", "apps", "sites"} {
				p.want(t, 1, "cloudflare_magic_up", "account_id", retail, "endpoint", ep)
			}
			for _, fam := range []string{"cloudflare_magic_connector_info", "cloudflare_magic_app_info", "cloudflare_magic_site_info"} {
				if p.count(fam, "account_id", retail) == 0 {
					t.Errorf("no %s series for the account", fam)
				}
			}
			if p.count(edgePrefix+"tunnel_colos", "account_id", labs) == 0 {
				t.Error("the other account lost its edge series")
			}
			logs := s.logs.String()
			for _, want := range tc.log {
				if !strings.Contains(logs, want) {
					t.Errorf("the log lacks %q:\n%s", want, logs)
				}
			}
			if tc.check != nil {
				tc.check(t, page, p)
			}
		})
	}
}

// TestEdgePermissionLoggedOnce: a missing permission does not fix itself;
// it is logged once, naming the permission, however many refreshes meet
// it, while up stays 0.
func TestEdgePermissionLoggedOnce(t *testing.T) {
	s := newStackWith(t, stackConfig{edge: true})
	s.sim.SetFault(simulator.AccountRetail, simulator.EndpointGraphQL, simulator.Fault{GraphQL: &simulator.GraphQLFault{
		Deny: []string{"magicTransitTunnelTrafficAdaptiveGroups"}}})
	for range 4 {
		s.refreshEdge(t)
		parse(t, s.scrape(t, 0)).want(t, 0, "cloudflare_magic_up", "account_id", simulator.AccountRetail, "endpoint", poll.EdgeEndpoint(api.DatasetTunnelTraffic))
	}
	var lines []string
	for _, l := range strings.Split(s.logs.String(), "\n") {
		if strings.Contains(l, api.PermissionAnalyticsRead) {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 {
		t.Fatalf("%d log lines name %q over 4 refreshes, want 1:\n%s", len(lines), api.PermissionAnalyticsRead, strings.Join(lines, "\n"))
	}
	if !strings.Contains(lines[0], "level=warn") || !strings.Contains(lines[0], "dataset=tunnel_traffic") || !strings.Contains(lines[0], "account_id="+simulator.AccountRetail) {
		t.Errorf("the line does not say which account and dataset: %s", lines[0])
	}
}

// TestEdgeFailureKeepsLastRows: a dataset that fails after it answered
// serves its last rows, with up 0, and its age keeps growing, so an alert
// on the age sees the data stop.
func TestEdgeFailureKeepsLastRows(t *testing.T) {
	s := edgeStack(t)
	retail := simulator.AccountRetail
	s.sim.SetFault(retail, simulator.EndpointGraphQL, simulator.Fault{GraphQL: &simulator.GraphQLFault{DataNull: true}})
	s.clock.Add(api.EdgeBucket)
	s.refreshEdge(t)
	p := parse(t, s.scrape(t, 0))
	for _, ds := range api.EdgeDatasets() {
		p.want(t, 0, "cloudflare_magic_up", "account_id", retail, "endpoint", poll.EdgeEndpoint(ds))
	}
	p.want(t, 3, edgePrefix+"tunnel_colos", "account_id", retail, "tunnel_name", simulator.TunnelDown, "state", "down")
	p.want(t, 600, edgePrefix+"data_age_seconds", "account_id", retail, "dataset", api.DatasetTunnelHealth)
	p.want(t, 300, edgePrefix+"data_age_seconds", "account_id", simulator.AccountLabs, "dataset", api.DatasetTunnelHealth)
}

// noDuplicateSeries fails when a series appears twice on a text page,
// which makes Prometheus reject the whole scrape.
func noDuplicateSeries(t *testing.T, page string) {
	t.Helper()
	seen := map[string]bool{}
	for _, l := range strings.Split(page, "\n") {
		if l == "" || l[0] == '#' {
			continue
		}
		series := l[:strings.LastIndexByte(l, ' ')]
		if seen[series] {
			t.Errorf("series twice on the page: %s", series)
		}
		seen[series] = true
	}
}

// TestEdgeQuotaExceeded: past the GraphQL quota, which is Cloudflare's per
// user, not per account, every dataset of every account is up 0 and
// serves its last rows; the client pauses GraphQL queries instead of
// asking again at every refresh; the REST endpoints, on their own budget,
// are untouched.
func TestEdgeQuotaExceeded(t *testing.T) {
	s := edgeStack(t)
	retail, labs := simulator.AccountRetail, simulator.AccountLabs
	s.sim.SetFault("", simulator.EndpointGraphQL, simulator.Fault{GraphQL: &simulator.GraphQLFault{Quota: true}})
	s.clock.Add(api.EdgeBucket)
	s.refreshEdge(t)
	calls := s.sim.GraphQLCalls(retail) + s.sim.GraphQLCalls(labs)
	for range 3 {
		s.refreshEdge(t)
	}
	if n := s.sim.GraphQLCalls(retail) + s.sim.GraphQLCalls(labs); n != calls {
		t.Errorf("%d GraphQL requests while the quota was exhausted", n-calls)
	}
	page := s.scrape(t, 0)
	lint(t, page)
	p := parse(t, page)
	for _, account := range []string{retail, labs} {
		for _, ds := range api.EdgeDatasets() {
			p.want(t, 0, "cloudflare_magic_up", "account_id", account, "endpoint", poll.EdgeEndpoint(ds))
		}
		for _, ep := range []string{"connectors", "apps", "sites"} {
			p.want(t, 1, "cloudflare_magic_up", "account_id", account, "endpoint", ep)
		}
		// The last rows, their age growing.
		if p.count(witness[api.DatasetConnectorSnapshots], "account_id", account) == 0 {
			t.Errorf("account %s lost its last edge rows", account)
		}
		p.want(t, 600, edgePrefix+"data_age_seconds", "account_id", account, "dataset", api.DatasetTunnelHealth)
	}
	p.want(t, 3, edgePrefix+"tunnel_colos", "account_id", retail, "tunnel_name", simulator.TunnelDown, "state", "down")
	logs := s.logs.String()
	// One line for the datasets that failed for one cause, not one each.
	every := strings.Join(api.EdgeDatasets(), ",")
	// One line for the datasets that failed for one cause, not one each,
	// and for the accounts that met it, not one each.
	failed := strings.Count(logs, `msg="an edge dataset failed; its last rows are served" account_id=`)
	quota := strings.Count(logs, ` dataset=`+every+` err="dataset tunnel_health: quota_exceeded: quota exceeded`)
	paused := strings.Count(logs, `msg="querying the edge view failed; the last view is served"`)
	if failed != 1 || quota != 1 || paused != 1 {
		t.Errorf("%d lines for failed datasets (%d of the quota), %d for the pause, want 1 each:\n%s", failed, quota, paused, logs)
	}
}
