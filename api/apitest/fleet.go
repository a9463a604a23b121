package apitest

import (
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
				Primary: true, SiteID: "site-lon-oxford", Timezone: "Europe/London",
			}, 3*time.Second),
			live(Connector{
				ID: "c0ffee00000000000000000000001161", Activated: true,
				Device:                    &Device{ID: "dev-man-1", SerialNumber: "MC1000-MAN-0001", Type: "MANAGED"},
				InterruptWindowDaysOfWeek: []string{"Sunday"}, InterruptWindowHourOfDay: 3, InterruptWindowDurationHours: 2,
				InterruptWindowEmbargoDates: []string{},
				LastSeenVersion:             "2026.10.2", LastUpdated: ts(240 * time.Hour),
				LicenseKey: LicenseKeyPrefix + "MAN-91c2", Notes: "Manchester - Arndale store",
				Primary: true, SiteID: "site-man-arndale", Timezone: "Europe/London",
			}, 7*time.Second),
			live(Connector{
				ID: "c0ffee0000000000000000000000e701", Activated: true,
				Device:                    &Device{ID: "dev-nyc-1", SerialNumber: "MC2000-NYC-0001", Type: "MANAGED"},
				InterruptWindowDaysOfWeek: weekend, InterruptWindowHourOfDay: 23, InterruptWindowDurationHours: 3,
				InterruptWindowEmbargoDates: []string{},
				LastSeenVersion:             "2026.10.2", LastUpdated: ts(30 * time.Hour),
				LicenseKey: LicenseKeyPrefix + "NYC-a001", Notes: "New York - 5th Avenue (HA primary)",
				Primary: true, SiteID: "site-nyc-5th", Timezone: "America/New_York",
			}, 1*time.Second),
			live(Connector{
				ID: ConnectorSecondary, Activated: true,
				Device:                    &Device{ID: "dev-nyc-2", SerialNumber: "MC2000-NYC-0002", Type: "MANAGED"},
				InterruptWindowDaysOfWeek: weekend, InterruptWindowHourOfDay: 1, InterruptWindowDurationHours: 3,
				InterruptWindowEmbargoDates: []string{},
				LastSeenVersion:             "2026.10.2", LastUpdated: ts(30 * time.Hour),
				LicenseKey: LicenseKeyPrefix + "NYC-a002", Notes: "New York - 5th Avenue (HA secondary)",
				Primary: false, SiteID: "site-nyc-5th", Timezone: "America/New_York",
			}, 2*time.Second),
			{
				ID: ConnectorStale, Activated: true,
				Device:                    &Device{ID: "dev-ber-1", SerialNumber: "MC1000-BER-0001", Type: "MANAGED"},
				InterruptWindowDaysOfWeek: []string{}, InterruptWindowHourOfDay: 4, InterruptWindowDurationHours: 1,
				InterruptWindowEmbargoDates: []string{},
				LastHeartbeat:               ts(StaleHeartbeatAgo), LastSeenVersion: "2026.10.2",
				LastUpdated: ts(500 * time.Hour), LicenseKey: LicenseKeyPrefix + "BER-0b0e",
				Notes: "Berlin - Alexanderplatz", Primary: true, SiteID: "site-ber-alex", Timezone: "Europe/Berlin",
			},
			live(Connector{
				ID: ConnectorOldVersion, Activated: true,
				Device:                    &Device{ID: "dev-aus-1", Type: "LICENSED"},
				InterruptWindowDaysOfWeek: []string{"Tuesday", "Thursday"}, InterruptWindowHourOfDay: 22, InterruptWindowDurationHours: 4,
				InterruptWindowEmbargoDates: []string{"2026-11-26"},
				LastSeenVersion:             "2026.8.0", LastUpdated: tsFrac(2000 * time.Hour),
				LicenseKey: LicenseKeyPrefix + "AUS-5e11", Notes: "Austin - distribution centre (virtual)",
				Primary: true, SiteID: "site-aus-dc", Timezone: "America/Chicago",
			}, 5*time.Second),
			{
				ID: ConnectorNeverSeen, Activated: false,
				Device:                    &Device{ID: "dev-par-1", SerialNumber: "MC1000-PAR-0001", Type: "MANAGED"},
				InterruptWindowDaysOfWeek: []string{}, InterruptWindowHourOfDay: 2, InterruptWindowDurationHours: 4,
				InterruptWindowEmbargoDates: []string{},
				LastUpdated:                 ts(20 * time.Hour), LicenseKey: LicenseKeyPrefix + "PAR-dead",
				Notes: "Paris - Rivoli (awaiting installation)", Primary: true, SiteID: "site-par-rivoli",
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

	labs := Account{
		ID:   AccountLabs,
		Name: "Acme Labs",
		Connectors: []Connector{
			live(Connector{
				ID: "c0ffee0000000000000000000000cab1", Activated: true,
				Device:                    &Device{ID: "dev-cam-1", SerialNumber: "MC1000-CAM-0001", Type: "MANAGED"},
				InterruptWindowDaysOfWeek: []string{"Saturday"}, InterruptWindowHourOfDay: 2, InterruptWindowDurationHours: 4,
				InterruptWindowEmbargoDates: []string{},
				LastSeenVersion:             "2026.10.2", LastUpdated: ts(100 * time.Hour),
				LicenseKey: LicenseKeyPrefix + "CAM-1ab5", Notes: "Cambridge - research lab",
				Primary: true, SiteID: "site-cam-lab", Timezone: "Europe/London",
			}, 4*time.Second),
			live(Connector{
				ID: "c0ffee0000000000000000000000cab2", Activated: true,
				Device:                    &Device{ID: "dev-sfo-1", SerialNumber: "MC1000-SFO-0001", Type: "MANAGED"},
				InterruptWindowDaysOfWeek: []string{"Saturday"}, InterruptWindowHourOfDay: 2, InterruptWindowDurationHours: 4,
				InterruptWindowEmbargoDates: []string{},
				LastSeenVersion:             "2026.9.1", LastUpdated: ts(150 * time.Hour),
				LicenseKey: LicenseKeyPrefix + "SFO-2ab5", Notes: "San Francisco - lab annex",
				Primary: true, SiteID: "site-sfo-lab", Timezone: "America/Los_Angeles",
			}, 6*time.Second),
		},
		Apps: []App{
			{AccountAppID: "e7c9a1b3d5f7e9a1c3b5d7f9a1c3e5b7", Name: "GPU Cluster", Type: "Development",
				IPSubnets: []string{"10.99.0.0/16"}},
			{ManagedAppID: "slack", Name: "Slack", Type: "Collaboration", Hostnames: []string{"slack.com"}},
		},
	}
	return []Account{retail, labs}
}
