package simulator

import (
	"fmt"
	"time"
)

// AccountLarge is the account of LargeFleet.
const AccountLarge = "1a2b3c4d5e6f708192a3b4c5d6e7f801"

// LargeFleet returns one account with connectors connectors and apps apps,
// shaped like the demo fleet (every field set, license keys included) and
// varied the way a real fleet is: versions, device types, time zones,
// windows, a few connectors stale or never seen. It is deterministic, for
// benchmarks at fleet scale. Its edge view (LargeEdge) has two tunnels per
// connector.
func LargeFleet(start time.Time, connectors, apps int) Account {
	start = start.UTC()
	zones := []string{"Europe/London", "America/New_York", "America/Chicago", "Europe/Berlin", "Asia/Singapore", "Australia/Sydney", "America/Los_Angeles", "Asia/Kolkata"}
	versions := []string{"2026.10.2", "2026.10.2", "2026.10.2", "2026.9.1", "2026.8.0"}
	days := [][]string{{"Sunday"}, {"Saturday", "Sunday"}, {}, {"Tuesday", "Thursday"}}
	types := []string{"Development", "Collaboration", "Sales", "Security", "Streaming", ""}
	a := Account{ID: AccountLarge, Name: "Acme Global"}
	a.Connectors = make([]Connector, connectors)
	for i := range a.Connectors {
		c := Connector{
			ID:                           fmt.Sprintf("c0ffee%026x", i),
			Activated:                    i%50 != 49,
			Device:                       &Device{ID: fmt.Sprintf("dev-%06d", i), SerialNumber: fmt.Sprintf("MC1000-%06d", i), Type: "MANAGED"},
			InterruptWindowDaysOfWeek:    days[i%len(days)],
			InterruptWindowHourOfDay:     float64(i % 24),
			InterruptWindowDurationHours: float64(1 + i%6),
			InterruptWindowEmbargoDates:  []string{"2026-12-24", "2026-12-31"},
			LastSeenVersion:              versions[i%len(versions)],
			LastUpdated:                  start.Add(-time.Duration(i) * time.Minute).Format(time.RFC3339Nano),
			LicenseKey:                   fmt.Sprintf("%s%06d", LicenseKeyPrefix, i),
			Notes:                        fmt.Sprintf("Branch %d - %s store", i, zones[i%len(zones)]),
			Primary:                      i%10 != 9,
			SiteID:                       fmt.Sprintf("site-%06d", i/2),
			Timezone:                     zones[i%len(zones)],
			HeartbeatEvery:               DemoHeartbeatInterval,
			HeartbeatPhase:               time.Duration(i%10) * time.Second,
		}
		switch {
		case i%7 == 3:
			c.Device.Type, c.Device.SerialNumber = "LICENSED", ""
		case i%200 == 17:
			c.HeartbeatEvery, c.LastHeartbeat = 0, start.Add(-2*time.Hour).Format(time.RFC3339)
		case !c.Activated:
			c.HeartbeatEvery, c.LastSeenVersion = 0, ""
		}
		a.Connectors[i] = c
	}
	a.Apps = make([]App, apps)
	for i := range a.Apps {
		app := App{Name: fmt.Sprintf("App %d", i), Type: types[i%len(types)],
			Hostnames: []string{fmt.Sprintf("app%d.example.com", i)}, IPSubnets: []string{fmt.Sprintf("10.%d.%d.0/24", i/256%256, i%256)}}
		if i%3 == 0 {
			app.ManagedAppID = fmt.Sprintf("managed-%d", i)
		} else {
			app.AccountAppID = fmt.Sprintf("%032x", i)
		}
		a.Apps[i] = app
	}
	a.Edge = LargeEdge(a.Connectors, 2*connectors)
	return a
}

// BranchGroups returns n accounts of one demo connector and the demo apps
// each, with IDs 1 to n in hex: enough to list over several pages.
func BranchGroups(start time.Time, n int) []Account {
	demo := DemoFleet(start)[1]
	out := make([]Account, n)
	for i := range out {
		out[i] = Account{ID: fmt.Sprintf("%032x", i+1), Name: fmt.Sprintf("Branch group %d", i+1),
			Connectors: demo.Connectors[:1], Apps: demo.Apps}
	}
	return out
}

// ManyAccounts returns n accounts, each with one heartbeating connector and
// no apps or sites: a credential that sees a great many accounts, as a
// managed service provider's does. Their IDs sort in the order they are
// numbered.
func ManyAccounts(start time.Time, n int) []Account {
	out := make([]Account, n)
	for i := range out {
		id := fmt.Sprintf("acc0%028x", i)
		out[i] = Account{ID: id, Name: fmt.Sprintf("Tenant %d", i), Connectors: []Connector{{
			ID: fmt.Sprintf("c0ffee%026x", i), Activated: true, InterruptWindowDaysOfWeek: []string{},
			InterruptWindowDurationHours: 1, InterruptWindowEmbargoDates: []string{},
			LastUpdated: start.UTC().Format(time.RFC3339), Notes: fmt.Sprintf("Tenant %d office", i),
			Primary: true, Timezone: "UTC", HeartbeatEvery: DemoHeartbeatInterval,
		}}}
	}
	return out
}
