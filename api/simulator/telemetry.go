package simulator

import (
	"math"
	"net/http"
	"slices"
	"time"
)

// EndpointTelemetry names the latest telemetry snapshot endpoint, matching
// the api package's.
const EndpointTelemetry = "telemetry"

// Snapshot is a connector's telemetry snapshot as the API sends it, with a
// subset of the schema's fields (mconn_snapshot): every field the exporter
// reads, the required ones, and dhcp_leases, so tests can prove the exporter
// never lets personal data out.
type Snapshot struct {
	T                     float64 `json:"t"`
	V                     string  `json:"v"`
	CountReclaimFailures  float64 `json:"count_reclaim_failures"`
	CountReclaimedPaths   float64 `json:"count_reclaimed_paths"`
	CountRecordFailed     float64 `json:"count_record_failed"`
	CountTransmitFailures float64 `json:"count_transmit_failures"`

	Tunnels    []SnapshotTunnel    `json:"tunnels,omitempty"`
	HAState    string              `json:"ha_state,omitempty"`
	HAValue    *float64            `json:"ha_value,omitempty"`
	Interfaces []SnapshotInterface `json:"interfaces,omitempty"`
	Netdevs    []SnapshotNetdev    `json:"netdevs,omitempty"`
	Mounts     []SnapshotMount     `json:"mounts,omitempty"`
	Thermals   []SnapshotThermal   `json:"thermals,omitempty"`
	DHCPLeases []DHCPLease         `json:"dhcp_leases,omitempty"`

	CPUCount             *float64 `json:"cpu_count,omitempty"`
	LoadAverage1m        *float64 `json:"load_average_1m,omitempty"`
	LoadAverage5m        *float64 `json:"load_average_5m,omitempty"`
	LoadAverage15m       *float64 `json:"load_average_15m,omitempty"`
	MemoryTotalBytes     *float64 `json:"memory_total_bytes,omitempty"`
	MemoryAvailableBytes *float64 `json:"memory_available_bytes,omitempty"`
	SystemBootTimeS      *float64 `json:"system_boot_time_s,omitempty"`

	// Every, when set, makes the snapshot live: each answer reports as t the
	// latest tick of Every at or before the server's clock, and netdev byte
	// counters grown at their rates since the T given here.
	Every time.Duration `json:"-"`
}

// SnapshotTunnel is a tunnel of a snapshot.
type SnapshotTunnel struct {
	TunnelID      string   `json:"tunnel_id"`
	InterfaceName string   `json:"interface_name"`
	HealthState   string   `json:"health_state"`
	HealthValue   float64  `json:"health_value"`
	ProbedMTU     *float64 `json:"probed_mtu,omitempty"`
}

// SnapshotInterface is a network interface of a snapshot.
type SnapshotInterface struct {
	Name      string   `json:"name"`
	Operstate string   `json:"operstate"`
	Speed     *float64 `json:"speed,omitempty"`
}

// SnapshotNetdev holds a network device's counters. RecvRate and SentRate,
// in bytes per second, make a live snapshot's byte counters grow.
type SnapshotNetdev struct {
	Name      string  `json:"name"`
	RecvBytes float64 `json:"recv_bytes"`
	RecvDrop  float64 `json:"recv_drop"`
	RecvErrs  float64 `json:"recv_errs"`
	RecvFifo  float64 `json:"recv_fifo"`
	RecvFrame float64 `json:"recv_frame"`
	RecvPkts  float64 `json:"recv_packets"`
	SentBytes float64 `json:"sent_bytes"`
	SentDrop  float64 `json:"sent_drop"`
	SentErrs  float64 `json:"sent_errs"`
	SentFifo  float64 `json:"sent_fifo"`
	SentPkts  float64 `json:"sent_packets"`

	RecvRate float64 `json:"-"`
	SentRate float64 `json:"-"`
}

// SnapshotMount is a mounted filesystem of a snapshot.
type SnapshotMount struct {
	Name           string   `json:"name"`
	MountPoint     string   `json:"mount_point"`
	FileSystem     string   `json:"file_system"`
	Kind           string   `json:"kind"`
	TotalBytes     *float64 `json:"total_bytes,omitempty"`
	AvailableBytes *float64 `json:"available_bytes,omitempty"`
}

// SnapshotThermal is a temperature sensor of a snapshot, in the API's own
// spelling.
type SnapshotThermal struct {
	Label           string   `json:"label"`
	CurrentCelcius  *float64 `json:"current_celcius,omitempty"`
	MaxCelcius      *float64 `json:"max_celcius,omitempty"`
	CriticalCelcius *float64 `json:"critical_celcius,omitempty"`
}

// DHCPLease is a lease the connector's DHCP server handed out: personal
// data that the exporter must never export.
type DHCPLease struct {
	ClientID      string  `json:"client_id"`
	ExpiryTime    float64 `json:"expiry_time"`
	Hostname      string  `json:"hostname"`
	InterfaceName string  `json:"interface_name"`
	IPAddress     string  `json:"ip_address"`
	MACAddress    string  `json:"mac_address"`
}

// PersonalData returns every client ID, hostname, IP and MAC address in the
// DHCP leases of the accounts' snapshots, for tests that grep outputs for
// them.
func PersonalData(accounts []Account) []string {
	var out []string
	for _, a := range accounts {
		for _, c := range a.Connectors {
			if c.Snapshot == nil {
				continue
			}
			for _, l := range c.Snapshot.DHCPLeases {
				out = append(out, l.ClientID, l.Hostname, l.IPAddress, l.MACAddress)
			}
		}
	}
	return out
}

// At returns the snapshot as the API answers it at now.
func (s Snapshot) At(now time.Time) Snapshot {
	if s.Every <= 0 {
		return s
	}
	recorded := now.Truncate(s.Every)
	elapsed := max(float64(recorded.UnixNano())/1e9-s.T, 0)
	s.T = float64(recorded.UnixNano()) / 1e9
	s.Netdevs = slices.Clone(s.Netdevs)
	for i := range s.Netdevs {
		n := &s.Netdevs[i]
		n.RecvBytes = math.Round(n.RecvBytes + n.RecvRate*elapsed)
		n.SentBytes = math.Round(n.SentBytes + n.SentRate*elapsed)
	}
	return s
}

// snapshotList is the result of the latest snapshot endpoint.
type snapshotList struct {
	Count int        `json:"count"`
	Items []Snapshot `json:"items"`
}

type connectorKey struct{ account, connector string }

// SetSnapshot makes the connector's latest snapshot s, in place of what the
// fleet defines; nil means the connector has none (count 0).
func (s *Server) SetSnapshot(accountID, connectorID string, snap *Snapshot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.snapshots[connectorKey{accountID, connectorID}] = snap
}

// SnapshotCalls returns how many telemetry requests asked for the
// connector's snapshot, faulted ones included.
func (s *Server) SnapshotCalls(connectorID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snapshotCalls[connectorID]
}

// MaxInFlight returns the largest number of requests to endpoint that the
// server was answering at the same time.
func (s *Server) MaxInFlight(endpoint string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxInFlight[endpoint]
}

// track counts a request to endpoint as in flight until the returned
// function is called.
func (s *Server) track(endpoint string) func() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inFlight[endpoint]++
	s.maxInFlight[endpoint] = max(s.maxInFlight[endpoint], s.inFlight[endpoint])
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.inFlight[endpoint]--
	}
}

func (s *Server) telemetry(w http.ResponseWriter, r *http.Request) {
	defer s.track(EndpointTelemetry)()
	connectorID := r.PathValue("connector_id")
	s.mu.Lock()
	s.snapshotCalls[connectorID]++
	s.mu.Unlock()

	a := s.handle(w, r, EndpointTelemetry)
	if a == nil {
		return
	}
	s.mu.Lock()
	snap, overridden := s.snapshots[connectorKey{a.ID, connectorID}]
	s.mu.Unlock()
	if !overridden {
		i := slices.IndexFunc(a.Connectors, func(c Connector) bool { return c.ID == connectorID })
		if i < 0 {
			writeEnvelope(w, http.StatusNotFound, nil, Message{Code: 1002, Message: "connector not found"})
			return
		}
		snap = a.Connectors[i].Snapshot
	}
	list := snapshotList{Items: []Snapshot{}}
	if snap != nil {
		list.Items = append(list.Items, snap.At(s.now()))
		list.Count = 1
	}
	writeEnvelope(w, http.StatusOK, list)
}
