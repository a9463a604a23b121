package collector

import (
	"strings"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/exposition"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/poll"
)

// snapshotRow is the latest telemetry snapshot of one connector. Values the
// snapshot does not carry have no series; DHCP leases are never decoded.
type snapshotRow struct {
	account string
	poll.Snapshot
}

// snapshotGauge declares a gauge with at most one sample per snapshot.
func snapshotGauge(name, help, doc string, value func(s *api.Snapshot) *float64) *Family[snapshotRow] {
	return &Family[snapshotRow]{
		Name: namespace + "_connector_" + name, Help: help, Doc: doc, Type: exposition.Gauge, Labels: connectorLabels,
		Samples: func(s Sampler, r *snapshotRow) {
			if v := value(r.Snapshot.Snapshot); v != nil {
				s.Add(*v, r.account, r.ConnectorID)
			}
		},
	}
}

// snapshotItems declares a family with one sample per item of a list in
// the snapshot, labelled by the item. A list naming an item twice gives one
// series, the first: a duplicate series would fail the whole page.
func snapshotItems[I any](name, help, doc string, typ exposition.Type, labels []string,
	items func(s *api.Snapshot) []I, sample func(it *I) (v float64, ok bool, labelValues []string)) *Family[snapshotRow] {
	return &Family[snapshotRow]{
		Name: namespace + "_connector_" + name, Help: help, Doc: doc, Type: typ,
		Labels: append(append([]string{}, connectorLabels...), labels...),
		Samples: func(s Sampler, r *snapshotRow) {
			list := items(r.Snapshot.Snapshot)
			var seen []string
			for i := range list {
				v, ok, lv := sample(&list[i])
				if !ok {
					continue
				}
				key := strings.Join(lv, "\xff")
				if contains(seen, key) {
					continue
				}
				seen = append(seen, key)
				s.Add(v, append([]string{r.account, r.ConnectorID}, lv...)...)
			}
		},
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

func netdevCounter(name, help, doc string, value func(n *api.SnapshotNetdev) float64) *Family[snapshotRow] {
	return snapshotItems(name, help, doc, exposition.Counter, []string{"device"},
		func(s *api.Snapshot) []api.SnapshotNetdev { return s.Netdevs },
		func(n *api.SnapshotNetdev) (float64, bool, []string) { return value(n), true, []string{n.Name} })
}

func telemetryFamilies() []renderer {
	const restarts = "Counted by the connector; it restarts from zero when the connector reboots."
	return bind(SourceTelemetry, func(p *page) []snapshotRow { return p.snapshots },
		snapshotGauge("snapshot_timestamp_seconds",
			"Unix time the connector recorded its latest telemetry snapshot.",
			"Every other telemetry metric comes from that snapshot. Older than a few refresh intervals, the connector stopped sending telemetry or the exporter cannot fetch it (see `cloudflare_magic_up{endpoint=\"telemetry\"}`).",
			func(s *api.Snapshot) *float64 {
				if s.T > 0 { // t is required; without it there is no time to tell
					return &s.T
				}
				return nil
			}),
		snapshotItems("tunnel_health",
			"Health of the connector's tunnel: 0 unknown, 1 healthy, 2 degraded, 3 down.",
			"A degraded or down tunnel loses traffic; check the site's uplink behind `interface_name`.",
			exposition.Gauge, []string{"tunnel_id", "interface_name"},
			func(s *api.Snapshot) []api.SnapshotTunnel { return s.Tunnels },
			func(t *api.SnapshotTunnel) (float64, bool, []string) {
				return t.HealthValue, true, []string{t.TunnelID, t.InterfaceName}
			}),
		snapshotItems("tunnel_probed_mtu_bytes",
			"MTU measured between the two ends of the tunnel, in bytes.",
			"A drop points at a path that fragments or blackholes large packets.",
			exposition.Gauge, []string{"tunnel_id"},
			func(s *api.Snapshot) []api.SnapshotTunnel { return s.Tunnels },
			func(t *api.SnapshotTunnel) (float64, bool, []string) {
				if t.ProbedMTU == nil {
					return 0, false, nil
				}
				return *t.ProbedMTU, true, []string{t.TunnelID}
			}),
		snapshotGauge("ha_state",
			"HA state of the connector: 0 disabled, 1 active, 2 standby, 3 stopped, 4 fault.",
			"A pair needs exactly one active member; 3 or 4 needs attention.",
			func(s *api.Snapshot) *float64 { return s.HAValue }),
		snapshotItems("interface_up",
			"Whether the connector's network interface is operationally up (1) or not (0).",
			"A WAN interface down means the site runs on its other uplinks.",
			exposition.Gauge, []string{"interface"},
			func(s *api.Snapshot) []api.SnapshotInterface { return s.Interfaces },
			func(i *api.SnapshotInterface) (float64, bool, []string) {
				return boolToFloat(strings.EqualFold(i.Operstate, "up")), true, []string{i.Name}
			}),
		snapshotItems("interface_speed_bytes",
			"Link speed of the connector's network interface, in bytes per second.",
			"The API's bits per second divided by 8. A drop points at a cable or port negotiating a lower speed; an unknown speed (-1) has no sample.",
			exposition.Gauge, []string{"interface"},
			func(s *api.Snapshot) []api.SnapshotInterface { return s.Interfaces },
			func(i *api.SnapshotInterface) (float64, bool, []string) {
				// Linux reports an unknown speed as -1.
				if i.Speed == nil || *i.Speed < 0 {
					return 0, false, nil
				}
				return *i.Speed / 8, true, []string{i.Name}
			}),
		netdevCounter("network_receive_bytes_total", "Bytes received by the connector's network device.", restarts,
			func(n *api.SnapshotNetdev) float64 { return n.RecvBytes }),
		netdevCounter("network_transmit_bytes_total", "Bytes sent by the connector's network device.", restarts,
			func(n *api.SnapshotNetdev) float64 { return n.SentBytes }),
		netdevCounter("network_receive_errors_total", "Bad packets received by the connector's network device.",
			"A steady rise points at a faulty cable, port or duplex mismatch. "+restarts,
			func(n *api.SnapshotNetdev) float64 { return n.RecvErrs }),
		netdevCounter("network_transmit_errors_total", "Transmission errors of the connector's network device.",
			"A steady rise points at a faulty cable, port or duplex mismatch. "+restarts,
			func(n *api.SnapshotNetdev) float64 { return n.SentErrs }),
		netdevCounter("network_receive_drop_total", "Received packets the connector's network device dropped.",
			"A steady rise means the connector cannot keep up with its traffic. "+restarts,
			func(n *api.SnapshotNetdev) float64 { return n.RecvDrop }),
		netdevCounter("network_transmit_drop_total", "Packets the connector's network device dropped while sending.",
			"A steady rise means the uplink is saturated. "+restarts,
			func(n *api.SnapshotNetdev) float64 { return n.SentDrop }),
		snapshotGauge("cpu_cores", "Number of CPU cores of the connector.",
			"Load averages above it mean the connector is overloaded.",
			func(s *api.Snapshot) *float64 { return s.CPUCount }),
		snapshotGauge("load1", "One-minute load average of the connector.",
			"Compare with `cloudflare_magic_connector_cpu_cores`.",
			func(s *api.Snapshot) *float64 { return s.LoadAverage1m }),
		snapshotGauge("load5", "Five-minute load average of the connector.",
			"Compare with `cloudflare_magic_connector_cpu_cores`.",
			func(s *api.Snapshot) *float64 { return s.LoadAverage5m }),
		snapshotGauge("load15", "Fifteen-minute load average of the connector.",
			"Compare with `cloudflare_magic_connector_cpu_cores`.",
			func(s *api.Snapshot) *float64 { return s.LoadAverage15m }),
		snapshotGauge("memory_total_bytes", "Usable RAM of the connector, in bytes.", "",
			func(s *api.Snapshot) *float64 { return s.MemoryTotalBytes }),
		snapshotGauge("memory_available_bytes", "Memory available to start new work on the connector, in bytes.",
			"Near zero, the connector is about to swap or kill processes.",
			func(s *api.Snapshot) *float64 { return s.MemoryAvailableBytes }),
		snapshotItems("filesystem_size_bytes", "Size of the connector's filesystem, in bytes.", "",
			exposition.Gauge, []string{"mountpoint"},
			func(s *api.Snapshot) []api.SnapshotMount { return s.Mounts },
			func(m *api.SnapshotMount) (float64, bool, []string) {
				if m.TotalBytes == nil {
					return 0, false, nil
				}
				return *m.TotalBytes, true, []string{m.MountPoint}
			}),
		snapshotItems("filesystem_avail_bytes", "Free space of the connector's filesystem, in bytes.",
			"A full filesystem stops logging and software upgrades; act before it falls below a tenth of its size.",
			exposition.Gauge, []string{"mountpoint"},
			func(s *api.Snapshot) []api.SnapshotMount { return s.Mounts },
			func(m *api.SnapshotMount) (float64, bool, []string) {
				if m.AvailableBytes == nil {
					return 0, false, nil
				}
				return *m.AvailableBytes, true, []string{m.MountPoint}
			}),
		snapshotItems("temperature_celsius", "Current temperature of the connector's sensor, in degrees Celsius.",
			"Compare with `cloudflare_magic_connector_temperature_critical_celsius` and check the appliance's airflow.",
			exposition.Gauge, []string{"sensor"},
			func(s *api.Snapshot) []api.SnapshotThermal { return s.Thermals },
			func(t *api.SnapshotThermal) (float64, bool, []string) {
				if t.CurrentCelcius == nil {
					return 0, false, nil
				}
				return *t.CurrentCelcius, true, []string{t.Label}
			}),
		snapshotItems("temperature_critical_celsius",
			"Temperature at which the connector's sensor reports a critical failure, in degrees Celsius.", "",
			exposition.Gauge, []string{"sensor"},
			func(s *api.Snapshot) []api.SnapshotThermal { return s.Thermals },
			func(t *api.SnapshotThermal) (float64, bool, []string) {
				if t.CriticalCelcius == nil {
					return 0, false, nil
				}
				return *t.CriticalCelcius, true, []string{t.Label}
			}),
		snapshotGauge("boot_time_seconds", "Unix time the connector last booted.", "A change means it rebooted.",
			func(s *api.Snapshot) *float64 { return s.SystemBootTimeS }),
	)
}
