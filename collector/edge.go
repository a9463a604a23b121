package collector

import (
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/exposition"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/poll"
)

// of is one row of an account's edge view.
type of[R any] struct {
	account string
	r       *R
}

// ofAll points at every row of an account's edge view.
func ofAll[R any](account string, rows []R) []of[R] {
	out := make([]of[R], len(rows))
	for i := range rows {
		out[i] = of[R]{account, &rows[i]}
	}
	return out
}

// tunnelColos is how many data centres see a tunnel in one state.
type tunnelColos struct {
	account, tunnel, state string
	n, active              int
}

// edgeDatasetRow is one dataset of an account's edge view, at scrape time.
type edgeDatasetRow struct {
	account string
	*poll.EdgeDataset
	now time.Time
}

// edgeFieldRow is one GraphQL field a dataset can be read from, and
// whether the account's schema has it.
type edgeFieldRow struct {
	account, dataset, field string
	available               bool
}

// siteTunnels counts the tunnels of a listed site in one state.
type siteTunnels struct {
	account, site, state string
	n                    int
}

// edgeAccountRow is one account's edge view as a whole.
type edgeAccountRow struct {
	account string
	evicted float64
}

// edgeRows are the rows of the edge families of one page.
type edgeRows struct {
	health      []of[api.TunnelHealthRow]
	tunnels     []of[poll.TunnelState]
	colos       []tunnelColos
	siteTunnels []siteTunnels
	traffic     []of[poll.TrafficSeries]
	snapshots   []of[api.ConnectorSnapshotRow]
	mounts      []of[api.MountRow]
	thermals    []of[api.ThermalRow]
	connTunnels []of[api.ConnectorTunnelRow]
	ha          []of[api.HAStateRow]
	events      []of[poll.EventSeries]
	datasets    []edgeDatasetRow
	fields      []edgeFieldRow
	accounts    []edgeAccountRow
}

// add lays out an account's edge view; sites are the account's listed
// sites (nil when unknown), which its tunnels are counted for by name.
func (e *edgeRows) add(account string, v *poll.EdgeView, sites []api.Site, now time.Time) {
	if v == nil {
		return
	}
	e.health = append(e.health, ofAll(account, v.TunnelHealth)...)
	e.tunnels = append(e.tunnels, ofAll(account, v.Tunnels)...)
	for _, t := range v.Tunnels {
		for s, state := range poll.TunnelStates {
			e.colos = append(e.colos, tunnelColos{account, t.TunnelName, state, t.Colos[s], t.Active[s]})
		}
	}
	e.siteTunnels = append(e.siteTunnels, countSiteTunnels(account, sites, v.Tunnels)...)
	e.traffic = append(e.traffic, ofAll(account, v.TunnelTraffic)...)
	e.snapshots = append(e.snapshots, ofAll(account, v.Snapshots)...)
	e.mounts = append(e.mounts, ofAll(account, v.Mounts)...)
	e.thermals = append(e.thermals, ofAll(account, v.Thermals)...)
	e.connTunnels = append(e.connTunnels, ofAll(account, v.ConnectorTunnels)...)
	e.ha = append(e.ha, ofAll(account, v.HA)...)
	e.events = append(e.events, ofAll(account, v.Events)...)
	for i := range v.Datasets {
		d := &v.Datasets[i]
		e.datasets = append(e.datasets, edgeDatasetRow{account, d, now})
		for _, c := range d.Fields {
			for j, name := range c.Names {
				e.fields = append(e.fields, edgeFieldRow{account, d.Name, name, c.Available[j]})
			}
		}
	}
	e.accounts = append(e.accounts, edgeAccountRow{account, v.SeriesEvicted})
}

// countSiteTunnels counts, per listed site that has tunnels, its tunnels
// by the state they are in where they are routed. A tunnel names its site
// by name (siteName); the site's ID comes from the sites endpoint.
func countSiteTunnels(account string, sites []api.Site, tunnels []poll.TunnelState) []siteTunnels {
	var out []siteTunnels
	for i := range sites {
		var counts [3]int
		n := 0
		for j := range tunnels {
			if t := &tunnels[j]; t.SiteName != "" && t.SiteName == sites[i].Name {
				counts[t.Best()]++
				n++
			}
		}
		if n == 0 {
			continue
		}
		for s, state := range poll.TunnelStates {
			out = append(out, siteTunnels{account, sites[i].ID, state, counts[s]})
		}
	}
	return out
}

// edgeGauge declares a family with at most one sample per row: value
// returns the sample's value, nil to skip the row, and add writes it with
// the row's labels (a call with its label values spelt out, so that they
// stay on the stack: a page holds tens of thousands of these).
func edgeGauge[R any](name, help, doc string, labels []string, value func(*R) *float64,
	add func(s Sampler, v float64, account string, r *R)) *Family[of[R]] {
	return &Family[of[R]]{
		Name: namespace + "_edge_" + name, Help: help, Doc: doc, Type: exposition.Gauge,
		Labels: append([]string{"account_id"}, labels...),
		Samples: func(s Sampler, o *of[R]) {
			if v := value(o.r); v != nil {
				add(s, *v, o.account, o.r)
			}
		},
	}
}

func connectorGaugeOf(name, help, doc string, value func(*api.ConnectorSnapshotRow) *float64) *Family[of[api.ConnectorSnapshotRow]] {
	return edgeGauge(name, help, doc, []string{"connector_id"}, value,
		func(s Sampler, v float64, account string, r *api.ConnectorSnapshotRow) {
			s.Add(v, account, r.ConnectorID)
		})
}

func edgeFamilies() []renderer {
	const edgeDoc = "From the newest five-minute bucket of Cloudflare's GraphQL Analytics API, refreshed every --collector.edge.interval."
	var out []renderer
	out = append(out, bind(SourceEdge, func(p *page) []of[api.TunnelHealthRow] { return p.edge.health },
		edgeGauge("tunnel_health_state",
			"Health of the tunnel as a Cloudflare data centre checks it: 0 down, 0.5 degraded, 1 healthy.",
			"Magic WAN routes by these checks. `colo` is the data centre's IATA code (`edgeColoCode`), or its name where the "+
				"account's schema has no code. "+edgeDoc,
			[]string{"tunnel_name", "colo"},
			func(r *api.TunnelHealthRow) *float64 { return r.State },
			func(s Sampler, v float64, a string, r *api.TunnelHealthRow) { s.Add(v, a, r.TunnelName, r.Colo) }))...)
	out = append(out, bind(SourceEdge, func(p *page) []tunnelColos { return p.edge.colos },
		&Family[tunnelColos]{
			Name: namespace + "_edge_tunnel_colos",
			Help: "Cloudflare data centres that see the tunnel healthy, degraded or down.",
			Doc: "Every data centre that health-checks the tunnel, also those that never carry its traffic; " +
				"`cloudflare_magic_edge_tunnel_active_colos` counts those that route it. " + edgeDoc,
			Type: exposition.Gauge, Labels: []string{"account_id", "tunnel_name", "state"},
			Samples: func(s Sampler, c *tunnelColos) { s.Add(float64(c.n), c.account, c.tunnel, c.state) },
		},
		&Family[tunnelColos]{
			Name: namespace + "_edge_tunnel_active_colos",
			Help: "Cloudflare data centres that route the tunnel and see it healthy, degraded or down.",
			Doc: "A data centre routes a tunnel when it carried the tunnel's traffic in the last six hours (the `active` dimension). " +
				"When none does (the tunnel idle, or down for six hours) or the account's schema has no `active`, every data centre " +
				"that checks it counts, so that a long outage stays visible. Down everywhere it matters: " +
				"`sum without (state) (cloudflare_magic_edge_tunnel_active_colos{state!=\"down\"}) == 0`. " + edgeDoc,
			Type: exposition.Gauge, Labels: []string{"account_id", "tunnel_name", "state"},
			Samples: func(s Sampler, c *tunnelColos) { s.Add(float64(c.active), c.account, c.tunnel, c.state) },
		})...)
	out = append(out, bind(SourceEdge, func(p *page) []of[poll.TunnelState] { return p.edge.tunnels },
		&Family[of[poll.TunnelState]]{
			Name: namespace + "_edge_tunnel_info",
			Help: "The Magic WAN site of the tunnel, by name; always 1.",
			Doc: "From the health checks' `siteName` (empty where the account's schema lacks it). Joins onto the sites endpoint's " +
				"`cloudflare_magic_site_info` by `site_name`.",
			Type: exposition.Gauge, Labels: []string{"account_id", "tunnel_name", "site_name"},
			Samples: func(s Sampler, o *of[poll.TunnelState]) { s.Add(1, o.account, o.r.TunnelName, o.r.SiteName) },
		})...)
	out = append(out, bind(SourceEdge, func(p *page) []siteTunnels { return p.edge.siteTunnels },
		&Family[siteTunnels]{
			Name: namespace + "_site_tunnels",
			Help: "Tunnels of the site by their state where Cloudflare routes them: healthy, degraded or down.",
			Doc: "A tunnel's state is the best one among the data centres that route it (see `cloudflare_magic_edge_tunnel_active_colos`); " +
				"a tunnel belongs to the listed site whose name its health checks carry (`siteName`). Present for listed sites with " +
				"at least one tunnel, with the edge view and the sites endpoint both on. `{state=\"healthy\"} == 0`: the site has no " +
				"healthy tunnel (`MagicWANSiteNoHealthyTunnel`).",
			Type: exposition.Gauge, Labels: []string{"account_id", "site_id", "state"},
			Samples: func(s Sampler, c *siteTunnels) { s.Add(float64(c.n), c.account, c.site, c.state) },
		})...)
	out = append(out, bind(SourceEdge, func(p *page) []of[poll.TrafficSeries] { return p.edge.traffic },
		edgeGauge("tunnel_traffic_bytes_per_second",
			"Average traffic of the tunnel over the newest five minutes, in bytes per second.",
			"The API's bits divided by 8. `direction` is as Cloudflare answers it: `inbound`, `outbound` or `lateral` per its schema, "+
				"`ingress` or `egress` per its documentation's examples. Where an account's `tunnelName` is empty, the tunnel is "+
				"named from `ingressTunnelName`, else `egressTunnelName`; rows naming no tunnel are left out and counted in "+
				"`cloudflare_magic_edge_rows_dropped`. "+edgeDoc,
			[]string{"tunnel_name", "direction"},
			func(r *poll.TrafficSeries) *float64 {
				if r.BitRate == nil {
					return nil
				}
				v := *r.BitRate / 8
				return &v
			},
			func(s Sampler, v float64, a string, r *poll.TrafficSeries) { s.Add(v, a, r.TunnelName, r.Direction) }),
		&Family[of[poll.TrafficSeries]]{
			Name: namespace + "_edge_tunnel_traffic_bytes_total",
			Help: "Bytes the tunnel carried over the complete five-minute buckets since the exporter started.",
			Doc:  "Counts each bucket once it is complete (a newer bucket has arrived); use `rate()` or `increase()` over 10 minutes or more.",
			Type: exposition.Counter, Labels: []string{"account_id", "tunnel_name", "direction"},
			Samples: func(s Sampler, o *of[poll.TrafficSeries]) {
				s.Add(o.r.BitsTotal/8, o.account, o.r.TunnelName, o.r.Direction)
			},
		})...)
	out = append(out, bind(SourceEdge, func(p *page) []of[api.ConnectorSnapshotRow] { return p.edge.snapshots },
		connectorGaugeOf("connector_snapshot_timestamp_seconds",
			"Unix time of the start of the connector's newest telemetry bucket.",
			"Older than a few minutes beyond the data lag, the connector stopped reporting telemetry.",
			func(r *api.ConnectorSnapshotRow) *float64 { v := unixSeconds(r.Time); return &v }),
		connectorGaugeOf("connector_cpu_cores", "Number of CPU cores of the connector.", edgeDoc,
			func(r *api.ConnectorSnapshotRow) *float64 { return r.CPUCount }),
		connectorGaugeOf("connector_load1", "One-minute load average of the connector.", "Compare with `cloudflare_magic_edge_connector_cpu_cores`.",
			func(r *api.ConnectorSnapshotRow) *float64 { return r.Load1 }),
		connectorGaugeOf("connector_load5", "Five-minute load average of the connector.", "Compare with `cloudflare_magic_edge_connector_cpu_cores`.",
			func(r *api.ConnectorSnapshotRow) *float64 { return r.Load5 }),
		connectorGaugeOf("connector_memory_total_bytes", "Usable RAM of the connector, in bytes.", edgeDoc,
			func(r *api.ConnectorSnapshotRow) *float64 { return r.MemoryTotalBytes }),
		connectorGaugeOf("connector_memory_available_bytes", "Memory available to start new work on the connector, in bytes.", edgeDoc,
			func(r *api.ConnectorSnapshotRow) *float64 { return r.MemoryAvailableBytes }),
	)...)
	out = append(out, bind(SourceEdge, func(p *page) []of[api.MountRow] { return p.edge.mounts },
		edgeGauge("connector_filesystem_size_bytes", "Size of the connector's filesystem, in bytes.", edgeDoc,
			[]string{"connector_id", "mountpoint"},
			func(r *api.MountRow) *float64 { return r.TotalBytes },
			func(s Sampler, v float64, a string, r *api.MountRow) { s.Add(v, a, r.ConnectorID, r.MountPoint) }),
		edgeGauge("connector_filesystem_avail_bytes", "Free space of the connector's filesystem, in bytes.",
			"A full filesystem stops logging and software upgrades. "+edgeDoc,
			[]string{"connector_id", "mountpoint"},
			func(r *api.MountRow) *float64 { return r.AvailableBytes },
			func(s Sampler, v float64, a string, r *api.MountRow) { s.Add(v, a, r.ConnectorID, r.MountPoint) }),
	)...)
	out = append(out, bind(SourceEdge, func(p *page) []of[api.ThermalRow] { return p.edge.thermals },
		edgeGauge("connector_temperature_celsius", "Temperature of the connector's sensor, in degrees Celsius.", edgeDoc,
			[]string{"connector_id", "sensor"},
			func(r *api.ThermalRow) *float64 { return r.CurrentCelsius },
			func(s Sampler, v float64, a string, r *api.ThermalRow) { s.Add(v, a, r.ConnectorID, r.Label) }),
		edgeGauge("connector_temperature_critical_celsius",
			"Temperature at which the connector's sensor reports a critical failure, in degrees Celsius.", edgeDoc,
			[]string{"connector_id", "sensor"},
			func(r *api.ThermalRow) *float64 { return r.CriticalCelsius },
			func(s Sampler, v float64, a string, r *api.ThermalRow) { s.Add(v, a, r.ConnectorID, r.Label) }),
	)...)
	out = append(out, bind(SourceEdge, func(p *page) []of[api.ConnectorTunnelRow] { return p.edge.connTunnels },
		edgeGauge("connector_tunnel_health",
			"Health of the tunnel as the connector sees it: 0 unknown, 1 healthy, 2 degraded, 3 down.",
			"The worst state of the bucket. "+edgeDoc,
			[]string{"connector_id", "tunnel_id", "interface_name"},
			func(r *api.ConnectorTunnelRow) *float64 { return r.HealthValue },
			func(s Sampler, v float64, a string, r *api.ConnectorTunnelRow) {
				s.Add(v, a, r.ConnectorID, r.TunnelID, r.InterfaceName)
			}),
	)...)
	out = append(out, bind(SourceEdge, func(p *page) []of[api.HAStateRow] { return p.edge.ha },
		edgeGauge("connector_ha_state",
			"HA state of the connector: 0 disabled, 1 active, 2 standby, 3 stopped, 4 fault.",
			"An HA site needs exactly one active connector. "+edgeDoc,
			[]string{"connector_id"},
			func(r *api.HAStateRow) *float64 { return r.HAState },
			func(s Sampler, v float64, a string, r *api.HAStateRow) { s.Add(v, a, r.ConnectorID) }),
	)...)
	out = append(out, bind(SourceEdge, func(p *page) []of[poll.EventSeries] { return p.edge.events },
		&Family[of[poll.EventSeries]]{
			Name: namespace + "_edge_connector_events_total",
			Help: "Lifecycle events of the connector, by type, since the exporter started.",
			Doc:  "Types such as `Init`, `Leave`, attestation and key rotation successes and failures; counted per complete five-minute bucket.",
			Type: exposition.Counter, Labels: []string{"account_id", "connector_id", "event"},
			Samples: func(s Sampler, o *of[poll.EventSeries]) {
				s.Add(o.r.Total, o.account, o.r.ConnectorID, o.r.EventType)
			},
		})...)
	datasetLabels := []string{"account_id", "dataset"}
	out = append(out, bind(SourceEdge, func(p *page) []edgeDatasetRow { return p.edge.datasets },
		&Family[edgeDatasetRow]{
			Name: namespace + "_edge_data_age_seconds",
			Help: "Age of the newest bucket of the dataset, in seconds, computed when scraped.",
			Doc:  "Cloudflare's analytics lag real time by a few minutes; much more means the data stopped. Absent before the first row.",
			Type: exposition.Gauge, Labels: datasetLabels,
			Samples: func(s Sampler, d *edgeDatasetRow) {
				if !d.Newest.IsZero() {
					s.Add(max(d.now.Sub(d.Newest).Seconds(), 0), d.account, d.Name)
				}
			},
		},
		&Family[edgeDatasetRow]{
			Name: namespace + "_edge_dataset_queried",
			Help: "Whether the account offers the dataset and the fields it needs, so it is queried (1), or not (0).",
			Doc: "Learnt from the account's GraphQL settings node, and introspection where settings does not answer, at start, " +
				"hourly, and after the server rejects a field. 0: not enabled for the account, absent from its schema, or lacking a " +
				"field the dataset cannot be read without; the log says which, once. Absent before the first discovery.",
			Type: exposition.Gauge, Labels: datasetLabels,
			Samples: func(s Sampler, d *edgeDatasetRow) {
				if d.Fields != nil {
					s.Add(boolToFloat(d.Queried), d.account, d.Name)
				}
			},
		},
		&Family[edgeDatasetRow]{
			Name: namespace + "_edge_rows_truncated",
			Help: "Whether the dataset's latest answer held its row limit (1), so may lack rows, or not (0).",
			Doc:  "The limit is the dataset's `maxPageSize` in the account's settings, 10,000 where it does not say.",
			Type: exposition.Gauge, Labels: datasetLabels,
			Samples: func(s Sampler, d *edgeDatasetRow) {
				if d.Queried {
					s.Add(boolToFloat(d.Truncated), d.account, d.Name)
				}
			},
		},
		&Family[edgeDatasetRow]{
			Name: namespace + "_edge_rows_dropped",
			Help: "Rows of the dataset's latest answer left out, by reason.",
			Doc: "`unusable_value` (null, NaN, a string where a number belongs, or a value out of its range such as a tunnel state " +
				"outside 0 to 1), `empty_tunnel_name`, `duplicate` (the same series and bucket twice), `past_limit` (rows beyond the " +
				"limit asked for), `outside_window` (a bucket outside the window asked for, one in the future among them).",
			Type: exposition.Gauge, Labels: []string{"account_id", "dataset", "reason"},
			Samples: func(s Sampler, d *edgeDatasetRow) {
				if !d.Queried {
					return
				}
				for _, reason := range poll.DropReasons {
					s.Add(d.Dropped[reason], d.account, d.Name, reason)
				}
			},
		})...)
	out = append(out, bind(SourceEdge, func(p *page) []edgeFieldRow { return p.edge.fields },
		&Family[edgeFieldRow]{
			Name: namespace + "_edge_field_available",
			Help: "Whether the account's GraphQL schema has the field an edge metric is read from (1) or not (0).",
			Doc: "One series per field name the exporter knows, in order of preference (`max.currentCelsius`, `max.currentCelcius`): " +
				"the query asks for the first one available. A metric whose every field is 0 is absent; see docs/edge.md.",
			Type: exposition.Gauge, Labels: []string{"account_id", "dataset", "field"},
			Samples: func(s Sampler, f *edgeFieldRow) { s.Add(boolToFloat(f.available), f.account, f.dataset, f.field) },
		})...)
	out = append(out, bind(SourceEdge, func(p *page) []edgeAccountRow { return p.edge.accounts },
		&Family[edgeAccountRow]{
			Name: namespace + "_edge_series_evicted_total",
			Help: "Edge series dropped, the oldest first, to stay within --collector.edge.max-series.",
			Type: exposition.Counter, Labels: []string{"account_id"},
			Samples: func(s Sampler, a *edgeAccountRow) { s.Add(a.evicted, a.account) },
		})...)
	return out
}
