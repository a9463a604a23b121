package collector

import (
	"hash/maphash"
	"slices"
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/exposition"
)

// DefaultSiteHeartbeatTimeout is how recent a connector's heartbeat must be
// to count as heartbeating for its site: connectors heartbeat about every
// 10 seconds, and the stale-heartbeat alert fires past 5 minutes.
const DefaultSiteHeartbeatTimeout = 5 * time.Minute

// siteRow is one site of one account, with its connectors counted.
type siteRow struct {
	account string
	*api.Site
	expected int
	// heartbeating is -1 when the connectors of the account are unknown
	// (their call failed): no count is better than a false zero.
	heartbeating int
}

// connectorSiteRow ties a connector to the site its site_id names.
type connectorSiteRow struct {
	account, connector, site string
	// name is the site's name; listed is false when no listed site has
	// the connector's site_id.
	name   string
	listed bool
	// key is Family.Static's: the connector's record and the site's name;
	// 0 when the connector cannot vouch.
	key uint64
}

func siteFamilies() []renderer {
	siteLabels := []string{"account_id", "site_id"}
	out := bind(SourceSites, func(p *page) []siteRow { return p.sites },
		&Family[siteRow]{
			Name: namespace + "_site_info",
			Help: "Magic WAN site attributes as labels; always 1.",
			Doc: "`ha_mode` is `true` for a site that runs two connectors, one active; `latitude` and `longitude` are empty when " +
				"the site has no location. Join the site name onto connector series through `cloudflare_magic_connector_site_info`.",
			Type:   exposition.Gauge,
			Labels: []string{"account_id", "site_id", "site_name", "ha_mode", "latitude", "longitude"},
			Samples: func(s Sampler, r *siteRow) {
				var lat, lon string
				if r.Location != nil {
					lat, lon = r.Location.Lat, r.Location.Lon
				}
				ha := "false"
				if r.HAMode {
					ha = "true"
				}
				s.Add(1, r.account, r.ID, r.Name, ha, lat, lon)
			},
		},
		&Family[siteRow]{
			Name:    namespace + "_site_connectors_expected",
			Help:    "Connectors the site names: 0, 1, or 2 for a high-availability site.",
			Type:    exposition.Gauge,
			Labels:  siteLabels,
			Samples: func(s Sampler, r *siteRow) { s.Add(float64(r.expected), r.account, r.ID) },
		},
		&Family[siteRow]{
			Name: namespace + "_site_connectors_heartbeating",
			Help: "Connectors of the site that heartbeated within --collector.sites.heartbeat-timeout.",
			Doc:  "Absent when the account's connectors could not be listed. 0 with connectors expected: the site is down.",
			Type: exposition.Gauge, Labels: siteLabels,
			Samples: func(s Sampler, r *siteRow) {
				if r.heartbeating >= 0 {
					s.Add(float64(r.heartbeating), r.account, r.ID)
				}
			},
		},
	)
	return append(out, bind(SourceSites, func(p *page) []connectorSiteRow { return p.connectorSites },
		&Family[connectorSiteRow]{
			Name: namespace + "_connector_site_info",
			Help: "The site of the connector, with its name as a label; always 1.",
			Doc: "Present for connectors whose `site_id` names a listed site. Adds the site name to any connector series: " +
				"`cloudflare_magic_connector_heartbeat_age_seconds * on(account_id, connector_id) group_left(site_id, site_name) cloudflare_magic_connector_site_info`.",
			Type: exposition.Gauge, Labels: []string{"account_id", "connector_id", "site_id", "site_name"},
			Samples: func(s Sampler, r *connectorSiteRow) {
				if r.listed {
					s.Add(1, r.account, r.connector, r.site, r.name)
				}
			},
			Static: connectorSiteStatic,
		},
		&Family[connectorSiteRow]{
			Name: namespace + "_connector_site_listed",
			Help: "Whether the site the connector's site_id names is listed (1) or not (0).",
			Doc:  "Absent for connectors without a `site_id`. 0 points at a deleted site or a typo in the connector's configuration.",
			Type: exposition.Gauge, Labels: []string{"account_id", "connector_id", "site_id"},
			Samples: func(s Sampler, r *connectorSiteRow) {
				s.Add(boolToFloat(r.listed), r.account, r.connector, r.site)
			},
			Static: connectorSiteStatic,
		})...)
}

func connectorSiteStatic(r *connectorSiteRow) (uint64, bool) { return r.key, r.key != 0 }

// siteKey is a connectorSiteRow's key.
func siteKey(c *connectorRow, name string, listed bool) uint64 {
	key, ok := c.memo.static()
	if !ok {
		return 0
	}
	if listed {
		key = mixKeys(key, 1)
	}
	return mixKeys(key, maphash.String(rowSeed, name))
}

// addSites adds an account's sites and the ties of its connectors to them.
// connectors is nil when their call failed; sites is nil when theirs did.
func (p *page) addSites(account string, sites []api.Site, connectors []connectorRow, heartbeatTimeout time.Duration, now time.Time) {
	if sites == nil {
		return
	}
	byID := make(map[string]*api.Site, len(sites))
	for i := range sites {
		byID[sites[i].ID] = &sites[i]
	}
	live := make(map[string]bool, len(connectors))
	// A site row per connector at most, laid out at once rather than grown.
	p.connectorSites = slices.Grow(p.connectorSites, len(connectors))
	p.sites = slices.Grow(p.sites, len(sites))
	for _, c := range connectors {
		if !c.LastHeartbeat.IsZero() && now.Sub(c.LastHeartbeat) <= heartbeatTimeout {
			live[c.ID] = true
		}
		if c.SiteID != "" {
			row := connectorSiteRow{account: account, connector: c.ID, site: c.SiteID}
			if s := byID[c.SiteID]; s != nil {
				row.name, row.listed = s.Name, true
			}
			row.key = siteKey(&c, row.name, row.listed)
			p.connectorSites = append(p.connectorSites, row)
		}
	}
	for i := range sites {
		s := &sites[i]
		row := siteRow{account: account, Site: s, heartbeating: -1}
		ids := s.ConnectorIDs()
		row.expected = len(ids)
		if connectors != nil {
			row.heartbeating = 0
			for _, id := range ids {
				if live[id] {
					row.heartbeating++
				}
			}
		}
		p.sites = append(p.sites, row)
	}
}
