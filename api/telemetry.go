package api

import (
	"context"
	"net/url"
)

// EndpointTelemetry names the connector telemetry snapshot endpoint in
// errors, RequestInfo and metric labels.
const EndpointTelemetry = "telemetry"

// Snapshot is the part of a connector's telemetry snapshot that the exporter
// exports, as returned by
// GET /accounts/{account_id}/magic/connectors/{connector_id}/telemetry/snapshots/latest
// (operation mconn-connector-telemetry-snapshots-latest-get, schema
// mconn_snapshot).
//
// The schema has about two hundred more fields; they are not decoded. Above
// all, dhcp_leases is not a field: the hostnames, MAC and IP addresses of the
// devices at a site are personal data, and what is never decoded can never
// leak.
//
// Pointer fields are nil when the snapshot does not carry them (absent or
// null), so that a missing value is never mistaken for zero.
type Snapshot struct {
	// T is when the connector recorded the snapshot, in Unix seconds.
	T float64 `json:"t"`

	Tunnels []SnapshotTunnel `json:"tunnels"`
	// HAValue is the high-availability state: 0 disabled, 1 active,
	// 2 standby, 3 stopped, 4 fault.
	HAValue    *float64            `json:"ha_value"`
	Interfaces []SnapshotInterface `json:"interfaces"`
	Netdevs    []SnapshotNetdev    `json:"netdevs"`
	Mounts     []SnapshotMount     `json:"mounts"`
	Thermals   []SnapshotThermal   `json:"thermals"`

	CPUCount             *float64 `json:"cpu_count"`
	LoadAverage1m        *float64 `json:"load_average_1m"`
	LoadAverage5m        *float64 `json:"load_average_5m"`
	LoadAverage15m       *float64 `json:"load_average_15m"`
	MemoryTotalBytes     *float64 `json:"memory_total_bytes"`
	MemoryAvailableBytes *float64 `json:"memory_available_bytes"`
	// SystemBootTimeS is when the connector booted, in Unix seconds.
	SystemBootTimeS *float64 `json:"system_boot_time_s"`
}

// SnapshotTunnel is one tunnel from the connector to Cloudflare.
type SnapshotTunnel struct {
	TunnelID string `json:"tunnel_id"`
	// InterfaceName is the tunnel's interface, such as xfrm1.
	InterfaceName string `json:"interface_name"`
	// HealthValue is 0 unknown, 1 healthy, 2 degraded, 3 down.
	HealthValue float64 `json:"health_value"`
	// ProbedMTU is the MTU measured between the two ends of the tunnel.
	ProbedMTU *float64 `json:"probed_mtu"`
}

// SnapshotInterface is one network interface of the connector.
type SnapshotInterface struct {
	Name string `json:"name"`
	// Operstate is the interface's operational state, such as "up" or
	// "down".
	Operstate string `json:"operstate"`
	// Speed is the link speed in bits per second.
	Speed *float64 `json:"speed"`
}

// SnapshotNetdev holds the kernel's counters of one network device. The
// schema requires every counter.
type SnapshotNetdev struct {
	Name      string  `json:"name"`
	RecvBytes float64 `json:"recv_bytes"`
	SentBytes float64 `json:"sent_bytes"`
	RecvErrs  float64 `json:"recv_errs"`
	SentErrs  float64 `json:"sent_errs"`
	RecvDrop  float64 `json:"recv_drop"`
	SentDrop  float64 `json:"sent_drop"`
}

// SnapshotMount is one mounted filesystem of the connector.
type SnapshotMount struct {
	MountPoint     string   `json:"mount_point"`
	TotalBytes     *float64 `json:"total_bytes"`
	AvailableBytes *float64 `json:"available_bytes"`
}

// SnapshotThermal is one temperature sensor. The field names keep the API's
// own spelling, "celcius".
type SnapshotThermal struct {
	Label           string   `json:"label"`
	CurrentCelcius  *float64 `json:"current_celcius"`
	CriticalCelcius *float64 `json:"critical_celcius"`
}

// snapshotList is the result of the latest snapshot endpoint.
type snapshotList struct {
	Count float64    `json:"count"`
	Items []Snapshot `json:"items"`
}

// LatestSnapshot returns the connector's latest telemetry snapshot
// (GET /accounts/{account_id}/magic/connectors/{connector_id}/telemetry/snapshots/latest).
//
// A connector that has not sent a snapshot yet has none: the API answers
// count 0 and no items, and LatestSnapshot returns nil and no error. Should
// the answer ever carry several items, the most recent one is returned.
func (c *Client) LatestSnapshot(ctx context.Context, accountID, connectorID string) (*Snapshot, error) {
	path := accountPath(accountID, "/magic/connectors/"+url.PathEscape(connectorID)+"/telemetry/snapshots/latest")
	list, err := get[snapshotList](ctx, c, EndpointTelemetry, path)
	if err != nil {
		return nil, err
	}
	var latest *Snapshot
	for i := range list.Items {
		if latest == nil || list.Items[i].T > latest.T {
			latest = &list.Items[i]
		}
	}
	return latest, nil
}
