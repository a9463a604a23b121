package api

import (
	"errors"
	"math"
	"time"

	"github.com/go-json-experiment/json"
)

// Connector is one Magic WAN Connector as listed by
// GET /accounts/{account_id}/magic/connectors: its record, the same object
// in every answer where it did not change, and its heartbeat, which a live
// connector renews every few seconds. A fleet is held once, however many
// answers share it.
type Connector struct {
	*ConnectorRecord
	// LastHeartbeat is zero when the connector has never connected.
	LastHeartbeat time.Time `json:"last_heartbeat"`
	// InvalidFields names the fields whose value could not be read, such as
	// a timestamp that is not one, or not one between EarliestTimestamp
	// and LatestTimestamp. They are treated as absent: one odd connector
	// must not cost the whole fleet its metrics.
	InvalidFields []string `json:"-"`
}

// ConnectorRecord is what the listing says of a connector but its
// heartbeat. Shared between answers: never changed once made.
//
// The connector's license_key is deliberately not a field: it is a
// provisioning credential, and what is never decoded can never leak.
type ConnectorRecord struct {
	ID        string  `json:"id"`
	Activated bool    `json:"activated"`
	Device    *Device `json:"device,omitempty"`

	// InterruptWindowDaysOfWeek lists the days (Sunday..Saturday) on which a
	// software upgrade may interrupt traffic; empty means every day.
	InterruptWindowDaysOfWeek []string `json:"interrupt_window_days_of_week"`
	// InterruptWindowHourOfDay is the local hour (0-23, in Timezone) at which
	// the window opens.
	InterruptWindowHourOfDay float64 `json:"interrupt_window_hour_of_day"`
	// InterruptWindowDurationHours is the window length, 1-24.
	InterruptWindowDurationHours float64 `json:"interrupt_window_duration_hours"`
	// InterruptWindowEmbargoDates are local dates (YYYY-MM-DD) on which no
	// upgrade may start.
	InterruptWindowEmbargoDates []string `json:"interrupt_window_embargo_dates"`

	LastSeenVersion string    `json:"last_seen_version"`
	LastUpdated     time.Time `json:"last_updated"`
	Notes           string    `json:"notes"`
	// Primary is false for the secondary of a high-availability pair. The
	// API documents a default of true, which applies when the field is absent.
	Primary  bool   `json:"primary"`
	SiteID   string `json:"site_id"`
	Timezone string `json:"timezone"`

	// Rev identifies the connector's record but for its heartbeat (a hash
	// of its bytes): equal in two answers, the record is the same but for
	// last_heartbeat, so what was computed from it holds. 0 when unknown.
	Rev uint64 `json:"-"`
}

// Device describes the appliance a connector runs on.
type Device struct {
	ID           string `json:"id"`
	SerialNumber string `json:"serial_number"`
	// Type is "MANAGED", "LICENSED" or empty.
	Type string `json:"type"`
}

// wireConnector is the JSON shape of a connector. Timestamps are strings so
// that an empty string can mean "absent", and primary is a pointer so that an
// absent field can take the documented default. Unknown fields, license_key
// among them, are skipped by the decoder without being kept.
type wireConnector struct {
	ID                           string   `json:"id"`
	Activated                    bool     `json:"activated"`
	Device                       *Device  `json:"device"`
	InterruptWindowDaysOfWeek    []string `json:"interrupt_window_days_of_week"`
	InterruptWindowHourOfDay     float64  `json:"interrupt_window_hour_of_day"`
	InterruptWindowDurationHours float64  `json:"interrupt_window_duration_hours"`
	InterruptWindowEmbargoDates  []string `json:"interrupt_window_embargo_dates"`
	LastHeartbeat                string   `json:"last_heartbeat"`
	LastSeenVersion              string   `json:"last_seen_version"`
	LastUpdated                  string   `json:"last_updated"`
	Notes                        string   `json:"notes"`
	Primary                      *bool    `json:"primary"`
	SiteID                       string   `json:"site_id"`
	Timezone                     string   `json:"timezone"`
}

// DecodeConnectors decodes the result of the connectors list endpoint (a
// JSON array of connectors), as ListConnectors does.
func DecodeConnectors(data []byte) ([]Connector, error) {
	wire, err := decodeList[wireConnector](data)
	if err != nil {
		return nil, err
	}
	return connectorsFrom(wire, memoState[Connector]{}, nil), nil
}

// DecodeApps decodes the result of the apps list endpoint (a JSON array of
// apps of either shape), as ListApps does.
func DecodeApps(data []byte) ([]App, error) {
	wire, err := decodeList[wireApp](data)
	if err != nil {
		return nil, err
	}
	return appsFrom(wire, memoState[App]{}, nil), nil
}

// decodeList decodes a JSON array of W, with no memo and no bound.
func decodeList[W any](data []byte) ([]memoEntry[W], error) {
	var wire []memoEntry[W]
	items := memoUnmarshaler[W, struct{}](memoState[struct{}]{}, "")(nil, (*inflightBody)(nil))
	err := json.Unmarshal(data, &wire, decodeOptions, json.WithUnmarshalers(items))
	return wire, err
}

// connectorsFrom converts the wire shapes: an item of the last answer is
// that answer's connector with the new heartbeat; the others are new, and
// their repeated strings interned (when in is set).
func connectorsFrom(wire []memoEntry[wireConnector], last memoState[Connector], in *interner) []Connector {
	out := make([]Connector, len(wire))
	for i := range wire {
		w := &wire[i]
		if w.memo.hit > 0 {
			c := last.answer[w.memo.hit-1]
			c.LastHeartbeat, c.InvalidFields = withHeartbeat(c.InvalidFields, w.volatile)
			out[i] = c
			continue
		}
		c := w.full.connector()
		c.Rev = w.memo.hash
		if in != nil {
			c.InterruptWindowDaysOfWeek = in.list(c.InterruptWindowDaysOfWeek)
			c.InterruptWindowEmbargoDates = in.list(c.InterruptWindowEmbargoDates)
			c.LastSeenVersion, c.SiteID, c.Timezone = in.string(c.LastSeenVersion), in.string(c.SiteID), in.string(c.Timezone)
			if c.Device != nil {
				c.Device.Type = in.string(c.Device.Type)
			}
		}
		out[i] = c
	}
	return out
}

// withHeartbeat reads a heartbeat, and says in invalid whether it is
// unreadable: the connector's other invalid fields stay as they were.
func withHeartbeat(invalid []string, heartbeat string) (time.Time, []string) {
	t, err := parseTimestamp(heartbeat)
	had := len(invalid) > 0 && invalid[0] == "last_heartbeat"
	switch {
	case err != nil && !had:
		return t, append([]string{"last_heartbeat"}, invalid...)
	case err == nil && had:
		return t, invalid[1:]
	}
	return t, invalid
}

// appsFrom converts the wire shapes, an item of the last answer being that
// answer's app.
func appsFrom(wire []memoEntry[wireApp], last memoState[App], in *interner) []App {
	out := make([]App, len(wire))
	for i := range wire {
		w := &wire[i]
		if w.memo.hit > 0 {
			out[i] = last.answer[w.memo.hit-1]
			continue
		}
		a := w.full.app()
		a.Rev = w.memo.hash
		if in != nil {
			a.Type = in.string(a.Type)
		}
		out[i] = a
	}
	return out
}

// connector converts the wire shape, treating an empty or unreadable
// timestamp as absent and an absent primary as true.
func (w *wireConnector) connector() Connector {
	var invalid []string
	heartbeat, err := parseTimestamp(w.LastHeartbeat)
	if err != nil {
		invalid = append(invalid, "last_heartbeat")
	}
	updated, err := parseTimestamp(w.LastUpdated)
	if err != nil {
		invalid = append(invalid, "last_updated")
	}
	return Connector{LastHeartbeat: heartbeat, InvalidFields: invalid, ConnectorRecord: &ConnectorRecord{
		ID:                           w.ID,
		Activated:                    w.Activated,
		Device:                       w.Device,
		InterruptWindowDaysOfWeek:    w.InterruptWindowDaysOfWeek,
		InterruptWindowHourOfDay:     w.InterruptWindowHourOfDay,
		InterruptWindowDurationHours: w.InterruptWindowDurationHours,
		InterruptWindowEmbargoDates:  w.InterruptWindowEmbargoDates,
		LastSeenVersion:              w.LastSeenVersion,
		LastUpdated:                  updated,
		Notes:                        w.Notes,
		Primary:                      w.Primary == nil || *w.Primary,
		SiteID:                       w.SiteID,
		Timezone:                     w.Timezone,
	}}
}

// Timestamps outside [EarliestTimestamp, LatestTimestamp] are invalid.
var (
	// EarliestTimestamp is when Cloudflare began: nothing it stamps can
	// be older.
	EarliestTimestamp = time.Date(2009, 1, 1, 0, 0, 0, 0, time.UTC)
	// LatestTimestamp is the last time of 64-bit Unix nanoseconds, the
	// exporter's timestamps: one later would wrap around, 9999-12-31
	// becoming 1816.
	LatestTimestamp = time.Unix(0, math.MaxInt64).UTC()
)

// parseTimestamp parses an RFC 3339 timestamp with or without fractional
// seconds; the empty string is the zero time. A time outside
// [EarliestTimestamp, LatestTimestamp] is an error.
func parseTimestamp(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	switch {
	case err != nil:
		// The value is not quoted: no error repeats what the API sent
		// beyond its error messages.
		return time.Time{}, errors.New("not an RFC 3339 timestamp")
	case t.Before(EarliestTimestamp) || t.After(LatestTimestamp):
		return time.Time{}, errors.New("a time before Cloudflare existed or past 2262")
	}
	return t, nil
}

// AppSource tells an account's own app from one Cloudflare manages.
type AppSource string

// The two app shapes of GET /accounts/{account_id}/magic/apps.
const (
	AppSourceAccount AppSource = "account"
	AppSourceManaged AppSource = "managed"
)

// App is one Magic WAN app as listed: its record, the same object in every
// answer where it did not change, as a connector's.
type App struct{ *AppRecord }

// AppRecord is what the listing says of an app. Shared between answers:
// never changed once made.
//
// Account apps carry account_app_id and managed apps managed_app_id; both
// are decoded into ID, with Source saying which. An item carrying neither
// has an empty Source: it is of a shape this client does not know, and
// callers should skip it.
type AppRecord struct {
	ID            string
	Source        AppSource
	Name          string
	Type          string
	Hostnames     []string
	IPSubnets     []string
	SourceSubnets []string
	// Rev identifies the app's record, as Connector.Rev does.
	Rev uint64
}

type wireApp struct {
	AccountAppID  string   `json:"account_app_id"`
	ManagedAppID  string   `json:"managed_app_id"`
	Name          string   `json:"name"`
	Type          string   `json:"type"`
	Hostnames     []string `json:"hostnames"`
	IPSubnets     []string `json:"ip_subnets"`
	SourceSubnets []string `json:"source_subnets"`
}

// app converts either wire shape.
func (w *wireApp) app() App {
	a := &AppRecord{
		Name:          w.Name,
		Type:          w.Type,
		Hostnames:     w.Hostnames,
		IPSubnets:     w.IPSubnets,
		SourceSubnets: w.SourceSubnets,
	}
	switch {
	case w.AccountAppID != "":
		a.ID, a.Source = w.AccountAppID, AppSourceAccount
	case w.ManagedAppID != "":
		a.ID, a.Source = w.ManagedAppID, AppSourceManaged
	}
	return App{a}
}
