package collector

import (
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/exposition"
)

// connectorRow is one connector of one account, with what is computed
// from it at scrape time. It is kept small: a page holds one per
// connector.
type connectorRow struct {
	account string
	*api.Connector
	// memo holds what is computed of the record once: the upgrade
	// window, the rendered labels.
	memo *connectorMemo
	// age is the seconds since the last heartbeat.
	age float64
	// The upgrade window at scrape time: windowOK is false when its
	// configuration cannot be computed; windowNext is 0 when no window
	// opens within the horizon.
	windowActive, windowOK    bool
	windowNext, windowSeconds float64
}

// newConnectorRow computes a connector's row at now from what is
// remembered of its record.
func newConnectorRow(account string, c *api.Connector, m *connectorMemo, now time.Time) connectorRow {
	// A heartbeat stamped ahead of our clock is "just now", not a negative
	// age.
	row := connectorRow{account: account, Connector: c, memo: m, age: max(now.Sub(c.LastHeartbeat).Seconds(), 0)}
	if m.windowErr == nil {
		st := m.window.at(now)
		row.windowOK, row.windowActive, row.windowSeconds = true, st.Active, st.Duration.Seconds()
		if !st.NextStart.IsZero() {
			row.windowNext = unixSeconds(st.NextStart)
		}
	}
	return row
}

// maxHeartbeatLead is how far ahead of the exporter's clock a heartbeat
// may be stamped before a clock is taken to be wrong: clocks drift by
// seconds, and Cloudflare stamps a heartbeat when it arrives.
const maxHeartbeatLead = time.Minute

// clockSkewRow is how many of an account's connectors have a heartbeat
// stamped more than maxHeartbeatLead ahead of the exporter's clock, and
// the largest lead among them, in seconds.
type clockSkewRow struct {
	account string
	ahead   int
	lead    float64
}

// clockSkew counts the account's connectors whose heartbeat is ahead.
func clockSkew(account string, rows []connectorRow, now time.Time) clockSkewRow {
	r := clockSkewRow{account: account}
	for i := range rows {
		if lead := rows[i].LastHeartbeat.Sub(now); lead > maxHeartbeatLead {
			r.ahead++
			r.lead = max(r.lead, lead.Seconds())
		}
	}
	return r
}

// configErrorRow is one connector's count of invalid data found.
type configErrorRow struct {
	// key is Family.Static's: 0 when the connector cannot vouch.
	key                uint64
	account, connector string
	count              float64
}

var (
	connectorLabels    = []string{"account_id", "connector_id"}
	connectorInfoNames = []string{"account_id", "connector_id", "device_id", "serial_number", "device_type", "site_id", "version", "timezone", "notes"}
	connectorIDLabels  = exposition.NewLabelNames(connectorLabels...)
)

// connectorGauge declares a gauge with one sample per connector, labelled
// with its account and ID, skipped where value reports false.
func connectorGauge(name, help, doc string, value func(c *connectorRow) (float64, bool)) *Family[connectorRow] {
	return &Family[connectorRow]{
		Name: namespace + "_connector_" + name, Help: help, Doc: doc, Type: exposition.Gauge, Labels: connectorLabels,
		Samples: func(s Sampler, c *connectorRow) {
			if v, ok := value(c); ok {
				s.AddLabels(v, c.memo.ids)
			}
		},
	}
}

// recordStatic is Family.Static of the families whose samples come from a
// connector's record alone, not from the time of the scrape.
func recordStatic(c *connectorRow) (uint64, bool) { return c.memo.static() }

// fromRecord marks a family as one of those.
func fromRecord(f *Family[connectorRow]) *Family[connectorRow] {
	f.Static = recordStatic
	return f
}

func connectorFamilies() []renderer {
	rows := func(p *page) []connectorRow { return p.connectors }
	out := bind(SourceConnectors, rows,
		&Family[connectorRow]{
			Name:   namespace + "_connector_info",
			Help:   "Magic WAN Connector attributes as labels; always 1.",
			Doc:    "Join on `account_id` and `connector_id` to add them to other connector metrics: `* on(account_id, connector_id) group_left(version) cloudflare_magic_connector_info`.",
			Type:   exposition.Gauge,
			Labels: connectorInfoNames,
			Samples: func(s Sampler, c *connectorRow) {
				var dev api.Device
				if c.Device != nil {
					dev = *c.Device
				}
				s.Add(1, c.account, c.ID, dev.ID, dev.SerialNumber, dev.Type, c.SiteID, c.LastSeenVersion, c.Timezone, c.Notes)
			},
			Static: recordStatic,
		},
		fromRecord(connectorGauge("activated",
			"Whether the connector is activated (1) or not (0).",
			"A connector that is not activated does not carry traffic.",
			func(c *connectorRow) (float64, bool) { return boolToFloat(c.Activated), true })),
		fromRecord(connectorGauge("primary",
			"Whether the connector is the primary (1) or the secondary (0) of its site.",
			"Single connectors are primary.",
			func(c *connectorRow) (float64, bool) { return boolToFloat(c.Primary), true })),
		connectorGauge("last_heartbeat_timestamp_seconds",
			"Unix time of the connector's last heartbeat to Cloudflare.",
			"Connectors heartbeat about every 10 seconds. Absent if the connector has never connected.",
			func(c *connectorRow) (float64, bool) { return unixSeconds(c.LastHeartbeat), !c.LastHeartbeat.IsZero() }),
		connectorGauge("heartbeat_age_seconds",
			"Seconds since the connector's last heartbeat, computed when scraped.",
			"Minutes mean the connector or its uplink is down. Absent if the connector has never connected; a heartbeat stamped ahead of the exporter's clock gives 0, and `cloudflare_magic_clock_skew_connectors` counts it.",
			func(c *connectorRow) (float64, bool) { return c.age, !c.LastHeartbeat.IsZero() }),
		fromRecord(connectorGauge("last_updated_timestamp_seconds",
			"Unix time the connector's configuration last changed.", "",
			func(c *connectorRow) (float64, bool) { return unixSeconds(c.LastUpdated), !c.LastUpdated.IsZero() })),
		connectorGauge("interrupt_window_active",
			"Whether the connector is inside one of its upgrade windows now (1) or not (0).",
			"Computed in the connector's own time zone. A connector may restart to upgrade inside one: a missed heartbeat then is expected.",
			func(c *connectorRow) (float64, bool) { return boolToFloat(c.windowActive), c.windowOK }),
		connectorGauge("interrupt_window_next_start_timestamp_seconds",
			"Unix time the connector's next allowed upgrade window opens.",
			"Skips disallowed days and embargo dates; absent if none opens within 400 days.",
			func(c *connectorRow) (float64, bool) { return c.windowNext, c.windowOK && c.windowNext != 0 }),
		connectorGauge("interrupt_window_duration_seconds",
			"Length of the connector's upgrade windows, in seconds.", "",
			func(c *connectorRow) (float64, bool) { return c.windowSeconds, c.windowOK }),
	)
	out = append(out, bind(SourceConnectors, func(p *page) []clockSkewRow { return p.clockSkew },
		&Family[clockSkewRow]{
			Name: namespace + "_clock_skew_connectors",
			Help: "Connectors whose last heartbeat is stamped more than a minute ahead of the exporter's clock.",
			Doc: "Above 0, the exporter's clock (or Cloudflare's) is wrong: heartbeat ages read 0 and a dead connector " +
				"looks alive until its heartbeat falls behind the clock. Check NTP on the exporter's host.",
			Type: exposition.Gauge, Labels: []string{"account_id"},
			Samples: func(s Sampler, r *clockSkewRow) { s.Add(float64(r.ahead), r.account) },
		},
		&Family[clockSkewRow]{
			Name:    namespace + "_clock_skew_max_seconds",
			Help:    "Seconds the account's most advanced heartbeat is ahead of the exporter's clock, when over a minute.",
			Type:    exposition.Gauge,
			Labels:  []string{"account_id"},
			Samples: func(s Sampler, r *clockSkewRow) { s.Add(r.lead, r.account) },
		})...)
	return append(out, bind(SourceConnectors, func(p *page) []configErrorRow { return p.configErrors },
		&Family[configErrorRow]{
			Name: namespace + "_connector_config_errors_total",
			Help: "Times the connector's data was found invalid; the exporter's log says which field.",
			Doc: "An upgrade window configuration that cannot be computed (unknown time zone, bad day name or hour), " +
				"whose window metrics are then not exported, or a timestamp that cannot be read, treated as absent. " +
				"The connector's other metrics are kept. 0 from the first scrape that lists the connector, so that `increase()` sees the first error.",
			Type:    exposition.Counter,
			Labels:  connectorLabels,
			Samples: func(s Sampler, c *configErrorRow) { s.Add(c.count, c.account, c.connector) },
			Static:  func(c *configErrorRow) (uint64, bool) { return c.key, c.key != 0 },
		})...)
}

// unixSeconds is t as float Unix seconds, sub-second precision kept.
func unixSeconds(t time.Time) float64 {
	return float64(t.UnixNano()) / 1e9
}
