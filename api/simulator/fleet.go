package simulator

import (
	"fmt"
	"math"
	"time"
)

// Credentials the simulated API accepts in tests and in the demo. They look
// like real ones so that tests can grep every output for them.
const (
	DemoToken = "demo-token-3c0ffee5ecre7d0n0t1eak"
	DemoEmail = "noc@acme.example"
	DemoKey   = "demo-global-key-5ecre7c0ffee1eak"
)

// Accounts of the demo fleet.
const (
	AccountRetail = "4e5c2a1b9d8f7e6a5b4c3d2e1f0a9b8c"
	AccountLabs   = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
)

// Connectors of the demo fleet that tests single out.
const (
	ConnectorStale        = "c0ffee0000000000000000000000be71" // Berlin: stopped heartbeating
	ConnectorNeverSeen    = "c0ffee0000000000000000000000ba75" // Paris: not activated, never connected
	ConnectorOldVersion   = "c0ffee0000000000000000000000a057" // Austin: runs an old version
	ConnectorSecondary    = "c0ffee0000000000000000000000e702" // New York: secondary of an HA pair
	ConnectorNoDevice     = "c0ffee0000000000000000000000516e" // Singapore: virtual, no device serial
	StaleHeartbeatAgo     = 2 * time.Hour
	DemoHeartbeatInterval = 10 * time.Second
)

// LicenseKeyPrefix begins every license_key of the demo fleet.
const LicenseKeyPrefix = "LK-SECRET-"

// DemoFleet returns two accounts: a retailer with eight branch connectors
// (heartbeating, one stale since StaleHeartbeatAgo before start, one never
// activated, an HA pair, mixed versions and device types) and a lab with
// two, each with apps of several types and both sources. Live connectors
// heartbeat every DemoHeartbeatInterval on the server's clock.
//
// Every activated connector has a telemetry snapshot, recorded every
// DemoSnapshotInterval with growing network counters (the stale one's is as
// old as its heartbeat): healthy, degraded, down and unknown tunnels, an HA
// pair active and standby, a /data filesystem 96% full in Manchester, a
// hot and overloaded connector in Cambridge (ConnectorHot), and
// DHCP leases with client hostnames and MAC addresses that must never be
// exported. The two virtual connectors have no temperature sensors and no
// link speed.
//
// The GraphQL edge view (Account.Edge) holds the same connector telemetry,
// plus tunnels health-checked from three
// data centres each: TunnelDegraded degraded, TunnelDown down everywhere,
// the others healthy, with traffic both ways, and a few recurring
// lifecycle events.
func DemoFleet(start time.Time) []Account {
	start = start.UTC()
	ts := func(d time.Duration) string { return start.Add(-d).Format(time.RFC3339) }
	tsFrac := func(d time.Duration) string {
		return start.Add(-d).Add(123456 * time.Microsecond).Format(time.RFC3339Nano)
	}
	live := func(c Connector, phase time.Duration) Connector {
		c.HeartbeatEvery, c.HeartbeatPhase = DemoHeartbeatInterval, phase
		return c
	}
	weekend := []string{"Saturday", "Sunday"}

	retail := Account{
		ID:   AccountRetail,
		Name: "Acme Retail",
		Connectors: []Connector{
			live(Connector{
				ID: "c0ffee00000000000000000000001042", Activated: true,
				Device:                    &Device{ID: "dev-lon-1", SerialNumber: "MC1000-LON-0001", Type: "MANAGED"},
				InterruptWindowDaysOfWeek: []string{"Sunday"}, InterruptWindowHourOfDay: 2, InterruptWindowDurationHours: 4,
				InterruptWindowEmbargoDates: []string{"2026-12-24", "2026-12-31"},
				LastSeenVersion:             "2026.10.2", LastUpdated: tsFrac(72 * time.Hour),
				LicenseKey: LicenseKeyPrefix + "LON-7f3a", Notes: "London - Oxford Street flagship",
				Primary: true, SiteID: SiteLondonHA, Timezone: "Europe/London",
				Snapshot: demoSnapshot(start, 0, haDisabled, demoTunnels(1, healthy, healthy), 0.41, true, lease("Oxford-Street-Till-1", "3c:22:fb:10:42:01", "10.42.0.101"), lease("janes-iphone", "a4:83:e7:10:42:02", "10.42.0.102")),
			}, 3*time.Second),
			live(Connector{
				ID: "c0ffee00000000000000000000001161", Activated: true,
				Device:                    &Device{ID: "dev-man-1", SerialNumber: "MC1000-MAN-0001", Type: "MANAGED"},
				InterruptWindowDaysOfWeek: []string{"Sunday"}, InterruptWindowHourOfDay: 3, InterruptWindowDurationHours: 2,
				InterruptWindowEmbargoDates: []string{},
				LastSeenVersion:             "2026.10.2", LastUpdated: ts(240 * time.Hour),
				LicenseKey: LicenseKeyPrefix + "MAN-91c2", Notes: "Manchester - Arndale store",
				Primary: true, SiteID: "site-man-arndale", Timezone: "Europe/London",
				Snapshot: demoSnapshot(start, 1, haDisabled, demoTunnels(2, healthy, degraded), 0.96, true, lease("arndale-backoffice-pc", "f0:18:98:11:61:01", "10.61.0.23")),
			}, 7*time.Second),
			live(Connector{
				ID: "c0ffee0000000000000000000000e701", Activated: true,
				Device:                    &Device{ID: "dev-nyc-1", SerialNumber: "MC2000-NYC-0001", Type: "MANAGED"},
				InterruptWindowDaysOfWeek: weekend, InterruptWindowHourOfDay: 23, InterruptWindowDurationHours: 3,
				InterruptWindowEmbargoDates: []string{},
				LastSeenVersion:             "2026.10.2", LastUpdated: ts(30 * time.Hour),
				LicenseKey: LicenseKeyPrefix + "NYC-a001", Notes: "New York - 5th Avenue (HA primary)",
				Primary: true, SiteID: SiteNewYorkHA, Timezone: "America/New_York",
				Snapshot: demoSnapshot(start, 2, haActive, demoTunnels(3, healthy, healthy), 0.35, true, lease("5th-ave-pos-07", "00:1b:63:e7:01:07", "10.70.0.57")),
			}, 1*time.Second),
			live(Connector{
				ID: ConnectorSecondary, Activated: true,
				Device:                    &Device{ID: "dev-nyc-2", SerialNumber: "MC2000-NYC-0002", Type: "MANAGED"},
				InterruptWindowDaysOfWeek: weekend, InterruptWindowHourOfDay: 1, InterruptWindowDurationHours: 3,
				InterruptWindowEmbargoDates: []string{},
				LastSeenVersion:             "2026.10.2", LastUpdated: ts(30 * time.Hour),
				LicenseKey: LicenseKeyPrefix + "NYC-a002", Notes: "New York - 5th Avenue (HA secondary)",
				Primary: false, SiteID: SiteNewYorkHA, Timezone: "America/New_York",
				Snapshot: demoSnapshot(start, 3, haStandby, demoTunnels(4, healthy, healthy), 0.33, true),
			}, 2*time.Second),
			{
				ID: ConnectorStale, Activated: true,
				Device:                    &Device{ID: "dev-ber-1", SerialNumber: "MC1000-BER-0001", Type: "MANAGED"},
				InterruptWindowDaysOfWeek: []string{}, InterruptWindowHourOfDay: 4, InterruptWindowDurationHours: 1,
				InterruptWindowEmbargoDates: []string{},
				LastHeartbeat:               ts(StaleHeartbeatAgo), LastSeenVersion: "2026.10.2",
				LastUpdated: ts(500 * time.Hour), LicenseKey: LicenseKeyPrefix + "BER-0b0e",
				Notes: "Berlin - Alexanderplatz", Primary: true, SiteID: SiteBerlin, Timezone: "Europe/Berlin",
				Snapshot: staleSnapshot(demoSnapshot(start.Add(-StaleHeartbeatAgo), 4, haDisabled, demoTunnels(5, down, degraded), 0.52, true, lease("alex-laptop", "8c:85:90:be:71:01", "10.71.0.40"))),
			},
			live(Connector{
				ID: ConnectorOldVersion, Activated: true,
				Device:                    &Device{ID: "dev-aus-1", Type: "LICENSED"},
				InterruptWindowDaysOfWeek: []string{"Tuesday", "Thursday"}, InterruptWindowHourOfDay: 22, InterruptWindowDurationHours: 4,
				InterruptWindowEmbargoDates: []string{"2026-11-26"},
				LastSeenVersion:             "2026.8.0", LastUpdated: tsFrac(2000 * time.Hour),
				LicenseKey: LicenseKeyPrefix + "AUS-5e11", Notes: "Austin - distribution centre (virtual)",
				Primary: true, SiteID: "5173000000000000000000000000a057", Timezone: "America/Chicago",
				Snapshot: demoSnapshot(start, 5, haDisabled, demoTunnels(6, healthy), 0.12, false),
			}, 5*time.Second),
			{
				ID: ConnectorNeverSeen, Activated: false,
				Device:                    &Device{ID: "dev-par-1", SerialNumber: "MC1000-PAR-0001", Type: "MANAGED"},
				InterruptWindowDaysOfWeek: []string{}, InterruptWindowHourOfDay: 2, InterruptWindowDurationHours: 4,
				InterruptWindowEmbargoDates: []string{},
				LastUpdated:                 ts(20 * time.Hour), LicenseKey: LicenseKeyPrefix + "PAR-dead",
				Notes: "Paris - Rivoli (awaiting installation)", Primary: true, SiteID: SiteParis,
				Timezone: "Europe/Paris",
			},
			live(Connector{
				ID: ConnectorNoDevice, Activated: true,
				Device:                    &Device{ID: "dev-sin-1", Type: "LICENSED"},
				InterruptWindowDaysOfWeek: []string{"Wednesday"}, InterruptWindowHourOfDay: 0, InterruptWindowDurationHours: 24,
				InterruptWindowEmbargoDates: []string{},
				LastSeenVersion:             "2026.9.1", LastUpdated: ts(400 * time.Hour),
				LicenseKey: LicenseKeyPrefix + "SIN-c0de", Notes: "Singapore - Marina Bay office",
				Primary: true, Timezone: "Asia/Singapore",
				Snapshot: demoSnapshot(start, 6, haDisabled, demoTunnels(7, healthy, unknown), 0.20, false),
			}, 9*time.Second),
		},
		Apps: []App{
			{AccountAppID: "a9f1c3e5b7d9f1a3c5e7b9d1f3a5c7e9", Name: "Internal Git", Type: "Development",
				Hostnames: []string{"git.acme.example"}, IPSubnets: []string{"10.20.0.0/24"}},
			{AccountAppID: "b1a3c5e7f9b1d3f5a7c9e1b3d5f7a9c1", Name: "Build Farm", Type: "Development",
				IPSubnets: []string{"10.20.8.0/22"}, SourceSubnets: []string{"10.0.0.0/8"}},
			{AccountAppID: "c3e5a7b9d1f3b5c7e9a1c3e5b7d9f1a3", Name: "Intranet", Type: "Collaboration",
				Hostnames: []string{"intranet.acme.example", "wiki.acme.example"}},
			{AccountAppID: "d5b7c9e1a3f5d7b9c1e3a5f7b9d1c3e5", Name: "Legacy ERP",
				IPSubnets: []string{"192.168.50.10/32"}},
			{ManagedAppID: "zoom", Name: "Zoom", Type: "Collaboration", Hostnames: []string{"zoom.us"}},
			{ManagedAppID: "microsoft-365", Name: "Microsoft 365", Type: "Collaboration",
				Hostnames: []string{"outlook.office.com", "teams.microsoft.com"}},
			{ManagedAppID: "github", Name: "GitHub", Type: "Development", Hostnames: []string{"github.com"}},
			{ManagedAppID: "salesforce", Name: "Salesforce", Type: "Sales", Hostnames: []string{"salesforce.com"}},
		},
	}

	retail.Sites = demoSites()

	labs := Account{
		ID:   AccountLabs,
		Name: "Acme Labs",
		Sites: []Site{
			{ID: "5173000000000000000000000000cab1", Name: "Cambridge research lab", ConnectorID: "c0ffee0000000000000000000000cab1",
				Location: &Location{Lat: "52.2053", Lon: "0.1218"}},
			{ID: "5173000000000000000000000000cab2", Name: "San Francisco lab annex", ConnectorID: "c0ffee0000000000000000000000cab2",
				Location: &Location{Lat: "37.7749", Lon: "-122.4194"}},
		},
		Connectors: []Connector{
			live(Connector{
				ID: "c0ffee0000000000000000000000cab1", Activated: true,
				Device:                    &Device{ID: "dev-cam-1", SerialNumber: "MC1000-CAM-0001", Type: "MANAGED"},
				InterruptWindowDaysOfWeek: []string{"Saturday"}, InterruptWindowHourOfDay: 2, InterruptWindowDurationHours: 4,
				InterruptWindowEmbargoDates: []string{},
				LastSeenVersion:             "2026.10.2", LastUpdated: ts(100 * time.Hour),
				LicenseKey: LicenseKeyPrefix + "CAM-1ab5", Notes: "Cambridge - research lab",
				Primary: true, SiteID: "5173000000000000000000000000cab1", Timezone: "Europe/London",
				Snapshot: demoSnapshot(start, 7, haDisabled, demoTunnels(8, healthy, healthy), 0.58, true, lease("gpu-rig-03", "b8:ca:3a:ca:b1:03", "10.99.1.3")),
			}, 4*time.Second),
			live(Connector{
				ID: "c0ffee0000000000000000000000cab2", Activated: true,
				Device:                    &Device{ID: "dev-sfo-1", SerialNumber: "MC1000-SFO-0001", Type: "MANAGED"},
				InterruptWindowDaysOfWeek: []string{"Saturday"}, InterruptWindowHourOfDay: 2, InterruptWindowDurationHours: 4,
				InterruptWindowEmbargoDates: []string{},
				LastSeenVersion:             "2026.9.1", LastUpdated: ts(150 * time.Hour),
				LicenseKey: LicenseKeyPrefix + "SFO-2ab5", Notes: "San Francisco - lab annex",
				Primary: true, SiteID: "5173000000000000000000000000cab2", Timezone: "America/Los_Angeles",
				Snapshot: demoSnapshot(start, 8, haDisabled, demoTunnels(9, healthy, healthy), 0.47, true),
			}, 6*time.Second),
		},
		Apps: []App{
			{AccountAppID: "e7c9a1b3d5f7e9a1c3b5d7f9a1c3e5b7", Name: "GPU Cluster", Type: "Development",
				IPSubnets: []string{"10.99.0.0/16"}},
			{ManagedAppID: "slack", Name: "Slack", Type: "Collaboration", Hostnames: []string{"slack.com"}},
		},
	}
	retail.Edge = demoRetailEdge(start, retail.Connectors)
	labs.Edge = demoLabsEdge(start, labs.Connectors)
	// Cambridge runs hot, as its edge telemetry says (ConnectorHot).
	hot := labs.Connectors[0].Snapshot
	hot.LoadAverage1m, hot.LoadAverage5m, hot.LoadAverage15m = num(6.3), num(5.8), num(5.1)
	hot.Thermals[0].CurrentCelcius = num(92)
	return []Account{retail, labs}
}

// Tunnel health and HA states of the demo snapshots, as the API names and
// numbers them.
var (
	unknown  = SnapshotTunnel{HealthState: "unknown", HealthValue: 0}
	healthy  = SnapshotTunnel{HealthState: "healthy", HealthValue: 1}
	degraded = SnapshotTunnel{HealthState: "degraded", HealthValue: 2}
	down     = SnapshotTunnel{HealthState: "down", HealthValue: 3}

	haDisabled = haState{"disabled", 0}
	haActive   = haState{"active", 1}
	haStandby  = haState{"standby", 2}
)

type haState struct {
	name  string
	value float64
}

// DemoSnapshotInterval is how often the demo connectors record a snapshot.
const DemoSnapshotInterval = time.Minute

func num(v float64) *float64 { return &v }

// demoTunnels returns one tunnel per state, over the connector's two WAN
// uplinks in turn; site numbers the tunnel IDs.
func demoTunnels(site int, states ...SnapshotTunnel) []SnapshotTunnel {
	out := make([]SnapshotTunnel, len(states))
	for i, t := range states {
		t.TunnelID = fmt.Sprintf("%02x%030x", site, i+1)
		t.InterfaceName = fmt.Sprintf("xfrm%d", i+1)
		if t.HealthValue != 0 {
			t.ProbedMTU = num(1450 - 8*float64(i))
		}
		out[i] = t
	}
	return out
}

func lease(hostname, mac, ip string) DHCPLease {
	return DHCPLease{ClientID: "01:" + mac, Hostname: hostname, IPAddress: ip, MACAddress: mac, InterfaceName: "lan0"}
}

// demoSnapshot returns the live snapshot of a demo connector: n varies the
// numbers between connectors, dataUsed is the used fraction of its /data
// filesystem, and a physical appliance has temperature sensors and link
// speeds where a virtual one has neither.
func demoSnapshot(start time.Time, n int, ha haState, tunnels []SnapshotTunnel, dataUsed float64, physical bool, leases ...DHCPLease) *Snapshot {
	f := float64(n)
	boot := start.Add(-17*24*time.Hour - time.Duration(n)*time.Hour).Truncate(time.Second)
	const gib = 1 << 30
	s := &Snapshot{
		T: float64(start.Unix()), V: "2026.10.2", Every: DemoSnapshotInterval,
		Tunnels: tunnels, HAState: ha.name, HAValue: num(ha.value),
		Interfaces: []SnapshotInterface{
			{Name: "wan0", Operstate: "up"},
			{Name: "wan1", Operstate: "up"},
			{Name: "lan0", Operstate: "up"},
		},
		Netdevs: []SnapshotNetdev{
			{Name: "wan0", RecvBytes: 8.1e11 + f*1e10, SentBytes: 2.3e11 + f*1e9, RecvPkts: 6.2e8, SentPkts: 3.1e8,
				RecvErrs: f, RecvDrop: 12 * f, SentDrop: 2, RecvRate: 2.5e6, SentRate: 7.5e5},
			{Name: "wan1", RecvBytes: 1.2e11 + f*1e9, SentBytes: 4.4e10, RecvPkts: 9.8e7, SentPkts: 5.3e7,
				RecvRate: 3e5, SentRate: 1e5},
			{Name: "lan0", RecvBytes: 2.9e11, SentBytes: 9.2e11 + f*1e10, RecvPkts: 3.4e8, SentPkts: 6.6e8,
				SentErrs: f * 3, RecvRate: 8e5, SentRate: 2.7e6},
		},
		Mounts: []SnapshotMount{
			{Name: "/dev/sda2", MountPoint: "/", FileSystem: "ext4", Kind: "SSD", TotalBytes: num(16 * gib), AvailableBytes: num(9.5 * gib)},
			{Name: "/dev/sda3", MountPoint: "/data", FileSystem: "ext4", Kind: "SSD", TotalBytes: num(64 * gib),
				AvailableBytes: num(math.Round(64 * gib * (1 - dataUsed)))},
		},
		DHCPLeases: leases,
		CPUCount:   num(4),
		// Rounded as a connector reports them: 0.38 + 0.8 is
		// 1.1800000000000002 in binary floating point.
		LoadAverage1m:        num(hundredths(0.42 + f/10)),
		LoadAverage5m:        num(hundredths(0.38 + f/10)),
		LoadAverage15m:       num(hundredths(0.35 + f/10)),
		MemoryTotalBytes:     num(8 * gib),
		MemoryAvailableBytes: num(5.25*gib - f*0.25*gib),
		SystemBootTimeS:      num(float64(boot.Unix())),
	}
	for i := range leases {
		s.DHCPLeases[i].ExpiryTime = float64(start.Add(12 * time.Hour).Unix())
	}
	if physical {
		s.Interfaces[0].Speed, s.Interfaces[1].Speed, s.Interfaces[2].Speed = num(1e9), num(1e8), num(1e9)
		s.Thermals = []SnapshotThermal{
			{Label: "cpu_thermal", CurrentCelcius: num(47 + f), MaxCelcius: num(100), CriticalCelcius: num(105)},
			{Label: "nvme0", CurrentCelcius: num(39 + f/2), MaxCelcius: num(81.85), CriticalCelcius: num(84.85)},
			{Label: "board", CurrentCelcius: num(35)},
		}
	} else {
		s.CPUCount = num(2)
		s.Interfaces = s.Interfaces[:1]
		s.Interfaces[0].Name = "eth0"
		s.Netdevs = s.Netdevs[:1]
		s.Netdevs[0].Name = "eth0"
	}
	return s
}

// hundredths rounds x to two decimals.
func hundredths(x float64) float64 { return math.Round(x*100) / 100 }

// staleSnapshot freezes a snapshot: the connector stopped sending them.
func staleSnapshot(s *Snapshot) *Snapshot {
	s.Every = 0
	return s
}
