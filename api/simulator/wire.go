package simulator

import "time"

// Connector is a connector as the API sends it, license_key included, so
// tests can prove the exporter never lets it out.
type Connector struct {
	ID                           string   `json:"id"`
	Activated                    bool     `json:"activated"`
	Device                       *Device  `json:"device,omitempty"`
	InterruptWindowDaysOfWeek    []string `json:"interrupt_window_days_of_week"`
	InterruptWindowHourOfDay     float64  `json:"interrupt_window_hour_of_day"`
	InterruptWindowDurationHours float64  `json:"interrupt_window_duration_hours"`
	InterruptWindowEmbargoDates  []string `json:"interrupt_window_embargo_dates"`
	LastHeartbeat                string   `json:"last_heartbeat,omitempty"`
	LastSeenVersion              string   `json:"last_seen_version,omitempty"`
	LastUpdated                  string   `json:"last_updated"`
	LicenseKey                   string   `json:"license_key,omitempty"`
	Notes                        string   `json:"notes"`
	Primary                      bool     `json:"primary"`
	SiteID                       string   `json:"site_id,omitempty"`
	Timezone                     string   `json:"timezone"`

	// HeartbeatEvery, when set, makes the connector heartbeat live: each
	// answer reports as last_heartbeat the latest tick of HeartbeatEvery,
	// shifted by HeartbeatPhase, at or before the server's clock.
	HeartbeatEvery time.Duration `json:"-"`
	HeartbeatPhase time.Duration `json:"-"`

	// Snapshot is the connector's latest telemetry snapshot; nil means it
	// has none.
	Snapshot *Snapshot `json:"-"`
}

// Device is the device object of a connector.
type Device struct {
	ID           string `json:"id"`
	SerialNumber string `json:"serial_number,omitempty"`
	Type         string `json:"type,omitempty"`
}

// At returns the connector as the API answers it at now.
func (c Connector) At(now time.Time) Connector {
	if c.HeartbeatEvery > 0 {
		beat := now.Add(-c.HeartbeatPhase).Truncate(c.HeartbeatEvery).Add(c.HeartbeatPhase)
		c.LastHeartbeat = beat.UTC().Format(time.RFC3339Nano)
	}
	return c
}

// App is an app as the API sends it: an account app sets AccountAppID, a
// managed app ManagedAppID.
type App struct {
	AccountAppID  string   `json:"account_app_id,omitempty"`
	ManagedAppID  string   `json:"managed_app_id,omitempty"`
	Name          string   `json:"name,omitempty"`
	Type          string   `json:"type,omitempty"`
	Hostnames     []string `json:"hostnames,omitempty"`
	IPSubnets     []string `json:"ip_subnets,omitempty"`
	SourceSubnets []string `json:"source_subnets,omitempty"`
}
