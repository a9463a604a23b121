package api

import (
	"reflect"
	"strings"
	"time"
)

// Cloudflare's edge view: the GraphQL Analytics datasets the exporter reads,
// each declared once below. A declaration names the dataset's alias (its
// name in this package, in errors and in results), its GraphQL name, and a
// wire struct whose JSON tags ARE the fields asked for: the query is built
// from them (see EdgeQueryDocument), so a field Cloudflare renames is a
// one-line fix in its tag and breaks only its own dataset. The time
// dimension is the wire struct's field of type bucket; rows are ordered by
// it, newest first.
//
// The DHCP leases dataset (mconnTelemetrySnapshotDhcpLeasesAdaptiveGroups)
// holds personal data and is deliberately not declared: it can never be
// asked for.

// Dataset names, the aliases under which each dataset is asked for.
const (
	DatasetTunnelHealth       = "tunnel_health"
	DatasetTunnelTraffic      = "tunnel_traffic"
	DatasetConnectorSnapshots = "connector_snapshots"
	DatasetConnectorMounts    = "connector_mounts"
	DatasetConnectorThermals  = "connector_thermals"
	DatasetConnectorTunnels   = "connector_tunnels"
	DatasetConnectorHA        = "connector_ha"
	DatasetConnectorEvents    = "connector_events"
)

// edgeDatasets declares every dataset, in the order they are queried and
// reported.
var edgeDatasets = []edgeDataset{
	declare(DatasetTunnelHealth, "magicTransitTunnelHealthChecksAdaptiveGroups",
		func(r *EdgeResult) *DatasetRows[TunnelHealthRow] { return &r.TunnelHealth },
		func(w *tunnelHealthWire, v *rowValues) TunnelHealthRow {
			v.emptyTunnelName = w.Dimensions.TunnelName == ""
			return TunnelHealthRow{
				TunnelName: string(w.Dimensions.TunnelName),
				Colo:       string(w.Dimensions.EdgeColoName),
				Time:       v.at(w.Dimensions.Time),
				State:      v.get(w.Avg.TunnelState),
				Count:      v.get(w.Count),
			}
		}),
	declare(DatasetTunnelTraffic, "magicTransitTunnelTrafficAdaptiveGroups",
		func(r *EdgeResult) *DatasetRows[TunnelTrafficRow] { return &r.TunnelTraffic },
		func(w *tunnelTrafficWire, v *rowValues) TunnelTrafficRow {
			v.emptyTunnelName = w.Dimensions.TunnelName == ""
			return TunnelTrafficRow{
				TunnelName: string(w.Dimensions.TunnelName),
				Direction:  string(w.Dimensions.Direction),
				Time:       v.at(w.Dimensions.Time),
				BitRate:    v.get(w.Avg.BitRateFiveMinutes),
				Bits:       v.get(w.Sum.Bits),
				Packets:    v.get(w.Sum.Packets),
			}
		}),
	declare(DatasetConnectorSnapshots, "mconnTelemetrySnapshotsAdaptiveGroups",
		func(r *EdgeResult) *DatasetRows[ConnectorSnapshotRow] { return &r.ConnectorSnapshots },
		func(w *connectorSnapshotWire, v *rowValues) ConnectorSnapshotRow {
			return ConnectorSnapshotRow{
				ConnectorID:          string(w.Dimensions.ConnectorID),
				Time:                 v.at(w.Dimensions.Time),
				CPUCount:             v.get(w.Max.CPUCount),
				Load1:                v.get(w.Max.LoadAverage1m),
				Load5:                v.get(w.Max.LoadAverage5m),
				MemoryTotalBytes:     v.get(w.Max.MemoryTotalBytes),
				MemoryAvailableBytes: v.get(w.Max.MemoryAvailableBytes),
			}
		}),
	declare(DatasetConnectorMounts, "mconnTelemetrySnapshotMountsAdaptiveGroups",
		func(r *EdgeResult) *DatasetRows[MountRow] { return &r.ConnectorMounts },
		func(w *mountWire, v *rowValues) MountRow {
			return MountRow{
				ConnectorID:    string(w.Dimensions.ConnectorID),
				MountPoint:     string(w.Dimensions.MountPoint),
				Time:           v.at(w.Dimensions.Time),
				AvailableBytes: v.get(w.Max.AvailableBytes),
				TotalBytes:     v.get(w.Max.TotalBytes),
			}
		}),
	declare(DatasetConnectorThermals, "mconnTelemetrySnapshotThermalsAdaptiveGroups",
		func(r *EdgeResult) *DatasetRows[ThermalRow] { return &r.ConnectorThermals },
		func(w *thermalWire, v *rowValues) ThermalRow {
			return ThermalRow{
				ConnectorID:     string(w.Dimensions.ConnectorID),
				Label:           string(w.Dimensions.Label),
				Time:            v.at(w.Dimensions.Time),
				CurrentCelsius:  v.get(w.Max.CurrentCelsius),
				CriticalCelsius: v.get(w.Max.CriticalCelsius),
			}
		}),
	declare(DatasetConnectorTunnels, "mconnTelemetrySnapshotTunnelsAdaptiveGroups",
		func(r *EdgeResult) *DatasetRows[ConnectorTunnelRow] { return &r.ConnectorTunnels },
		func(w *connectorTunnelWire, v *rowValues) ConnectorTunnelRow {
			return ConnectorTunnelRow{
				ConnectorID:   string(w.Dimensions.ConnectorID),
				TunnelID:      string(w.Dimensions.TunnelID),
				InterfaceName: string(w.Dimensions.InterfaceName),
				Time:          v.at(w.Dimensions.Time),
				HealthValue:   v.get(w.Max.HealthValue),
			}
		}),
	declare(DatasetConnectorHA, "MagicWANConnectorMetricsAdaptiveGroups",
		func(r *EdgeResult) *DatasetRows[HAStateRow] { return &r.ConnectorHA },
		func(w *haWire, v *rowValues) HAStateRow {
			return HAStateRow{
				ConnectorID: string(w.Dimensions.ConnectorID),
				Time:        v.at(w.Dimensions.Time),
				HAState:     v.get(w.Max.HAState),
			}
		}),
	declare(DatasetConnectorEvents, "mconnTelemetryEventsAdaptiveGroups",
		func(r *EdgeResult) *DatasetRows[EventRow] { return &r.ConnectorEvents },
		func(w *eventWire, v *rowValues) EventRow {
			return EventRow{
				ConnectorID: string(w.Dimensions.ConnectorID),
				EventType:   string(w.Dimensions.EventType),
				Time:        v.at(w.Dimensions.Time),
				Count:       v.get(w.Count),
			}
		}),
}

// The wire structs: one row of each dataset as the API sends it. Their JSON
// tags are the fields the query asks for.

type tunnelHealthWire struct {
	Count number `json:"count"`
	Avg   struct {
		// 0 down, 0.5 degraded, 1 healthy.
		TunnelState number `json:"tunnelState"`
	} `json:"avg"`
	Dimensions struct {
		TunnelName   text   `json:"tunnelName"`
		EdgeColoName text   `json:"edgeColoName"`
		Time         bucket `json:"datetimeFiveMinutes"`
	} `json:"dimensions"`
}

type tunnelTrafficWire struct {
	Avg struct {
		BitRateFiveMinutes number `json:"bitRateFiveMinutes"`
	} `json:"avg"`
	Sum struct {
		Bits    number `json:"bits"`
		Packets number `json:"packets"`
	} `json:"sum"`
	Dimensions struct {
		// Public reports: tunnelName can be "" on some accounts.
		TunnelName text `json:"tunnelName"`
		// GRAPHQL.md: "filter or dimension direction"; asked as a
		// dimension so one query holds both directions.
		Direction text   `json:"direction"`
		Time      bucket `json:"datetimeFiveMinutes"`
	} `json:"dimensions"`
}

type connectorSnapshotWire struct {
	Max struct {
		CPUCount      number `json:"cpuCount"`
		LoadAverage1m number `json:"loadAverage1m"`
		// Seen in public code only, not in Cloudflare's example; it
		// matches the REST snapshot's load_average_5m.
		LoadAverage5m    number `json:"loadAverage5m"`
		MemoryTotalBytes number `json:"memoryTotalBytes"`
		// Doubt: Cloudflare's example asks for memoryFreeBytes; public
		// code for memoryAvailableBytes, which is what the REST snapshot
		// exports (memory_available_bytes) and what matters for alerting.
		// Should the server not know it, switch the tag to
		// memoryFreeBytes.
		MemoryAvailableBytes number `json:"memoryAvailableBytes"`
	} `json:"max"`
	Dimensions struct {
		ConnectorID text   `json:"connectorId"`
		Time        bucket `json:"datetimeFiveMinutes"`
	} `json:"dimensions"`
}

type mountWire struct {
	Max struct {
		AvailableBytes number `json:"availableBytes"`
		TotalBytes     number `json:"totalBytes"`
	} `json:"max"`
	Dimensions struct {
		ConnectorID text `json:"connectorId"`
		// Seen in public code only.
		MountPoint text   `json:"mountPoint"`
		Time       bucket `json:"datetimeFiveMinutes"`
	} `json:"dimensions"`
}

type thermalWire struct {
	Max struct {
		// Doubt: Cloudflare's example spells it currentCelsius; public
		// code (like the REST snapshot's current_celcius) currentCelcius.
		// One of the two is wrong: Cloudflare's own spelling is used.
		// Should the server not know it, switch both tags to "Celcius".
		CurrentCelsius  number `json:"currentCelsius"`
		CriticalCelsius number `json:"criticalCelsius"`
	} `json:"max"`
	Dimensions struct {
		ConnectorID text `json:"connectorId"`
		// Seen in public code only.
		Label text   `json:"label"`
		Time  bucket `json:"datetimeFiveMinutes"`
	} `json:"dimensions"`
}

type connectorTunnelWire struct {
	Max struct {
		// Doubt: the value's name is not documented; healthValue follows
		// the REST snapshot's health_value (0 unknown, 1 healthy,
		// 2 degraded, 3 down). max is the worst state in the bucket.
		HealthValue number `json:"healthValue"`
	} `json:"max"`
	Dimensions struct {
		ConnectorID text `json:"connectorId"`
		// Doubt: "tunnel id, interface name" are documented without
		// their GraphQL names.
		TunnelID      text   `json:"tunnelId"`
		InterfaceName text   `json:"interfaceName"`
		Time          bucket `json:"datetimeFiveMinutes"`
	} `json:"dimensions"`
}

// haWire reads the HA state from MagicWANConnectorMetricsAdaptiveGroups, the
// only dataset documented to carry it. Cloudflare is deprecating that
// dataset in favour of the mconnTelemetry* ones, none of which is
// documented with an HA field yet: when it goes, this declaration is the one
// to move.
type haWire struct {
	Max struct {
		// 0 disabled, 1 active, 2 standby, 3 stopped, 4 fault, as the
		// REST snapshot's ha_value.
		HAState number `json:"haState"`
	} `json:"max"`
	Dimensions struct {
		ConnectorID text `json:"mconnConnectorID"`
		// Doubt: the time dimension of this older dataset is not
		// documented; datetimeFiveMinutes as the others.
		Time bucket `json:"datetimeFiveMinutes"`
	} `json:"dimensions"`
}

type eventWire struct {
	Count      number `json:"count"`
	Dimensions struct {
		ConnectorID text `json:"connectorId"`
		// Doubt: documented as "event type" without its GraphQL name.
		EventType text   `json:"eventType"`
		Time      bucket `json:"datetimeFiveMinutes"`
	} `json:"dimensions"`
}

// TunnelHealthRow is Cloudflare's health check of one tunnel from one data
// centre over one five-minute bucket.
type TunnelHealthRow struct {
	// TunnelName may be empty; see DatasetStatus.EmptyTunnelNames.
	TunnelName string
	// Colo is the data centre (edgeColoName), such as "LHR".
	Colo string
	// Time is the start of the bucket.
	Time time.Time
	// State is the average tunnel state: 0 down, 0.5 degraded, 1 healthy.
	State *float64
	// Count is how many health checks the bucket holds.
	Count *float64
}

// TunnelTrafficRow is one tunnel's traffic in one direction over one
// five-minute bucket.
type TunnelTrafficRow struct {
	// TunnelName may be empty; see DatasetStatus.EmptyTunnelNames.
	TunnelName string
	// Direction is "ingress" or "egress".
	Direction string
	Time      time.Time
	// BitRate is the average rate over the bucket, in bits per second.
	BitRate *float64
	// Bits and Packets are the totals of the bucket.
	Bits    *float64
	Packets *float64
}

// ConnectorSnapshotRow is the system state of one connector over one
// five-minute bucket (the maximum of its snapshots).
type ConnectorSnapshotRow struct {
	ConnectorID          string
	Time                 time.Time
	CPUCount             *float64
	Load1                *float64
	Load5                *float64
	MemoryTotalBytes     *float64
	MemoryAvailableBytes *float64
}

// MountRow is one filesystem of one connector over one bucket.
type MountRow struct {
	ConnectorID    string
	MountPoint     string
	Time           time.Time
	AvailableBytes *float64
	TotalBytes     *float64
}

// ThermalRow is one temperature sensor of one connector over one bucket.
type ThermalRow struct {
	ConnectorID     string
	Label           string
	Time            time.Time
	CurrentCelsius  *float64
	CriticalCelsius *float64
}

// ConnectorTunnelRow is one connector's own view of one of its tunnels over
// one bucket.
type ConnectorTunnelRow struct {
	ConnectorID   string
	TunnelID      string
	InterfaceName string
	Time          time.Time
	// HealthValue is the worst state in the bucket: 0 unknown, 1 healthy,
	// 2 degraded, 3 down.
	HealthValue *float64
}

// HAStateRow is one connector's high-availability state over one bucket.
type HAStateRow struct {
	ConnectorID string
	Time        time.Time
	// HAState is 0 disabled, 1 active, 2 standby, 3 stopped, 4 fault (the
	// highest of the bucket).
	HAState *float64
}

// EventRow counts one connector's lifecycle events of one type in one
// bucket.
type EventRow struct {
	ConnectorID string
	// EventType is the event's kind, such as "Init" or "Leave".
	EventType string
	Time      time.Time
	Count     *float64
}

// DatasetStatus is what became of one dataset of a query.
type DatasetStatus struct {
	// Dataset is the dataset's name, such as DatasetTunnelHealth.
	Dataset string
	// Queried is false when the dataset was not asked for.
	Queried bool
	// Truncated is true when the answer held as many rows as the query's
	// limit: there were more. Rows are newest first, so every bucket newer
	// than the oldest one among the rows is complete; the oldest may not be.
	// Fetch the rest by narrowing the window (see EdgeWindow).
	Truncated bool
	// Rejected counts rows that had an unusable value: null, a string such
	// as "NaN", a number out of range, or an unreadable time. The value is
	// nil in the row; a row left with no usable value, or no time, is
	// dropped.
	Rejected int
	// EmptyTunnelNames counts the rows kept whose tunnel name is empty
	// (tunnel datasets only); what to do with them is the caller's choice.
	EmptyTunnelNames int
	// Newest is the newest bucket among the rows; zero when there are none.
	Newest time.Time
	// Err is the error the server reported for the dataset, or why its rows
	// could not be read. With an error, Rows may still hold what the server
	// answered.
	Err *DatasetError
}

// DatasetRows is a dataset's status and typed rows. Rows are as the server
// sent them, newest bucket first; a duplicate row (same dimensions, same
// bucket) is kept as it came. A consumer that keeps the first row of each
// series keeps the newest and ignores duplicates.
type DatasetRows[R any] struct {
	DatasetStatus
	Rows []R
}

// EdgeResult is the answer to one QueryEdge: per dataset, its rows and
// status. A dataset that was not asked for has Queried false.
type EdgeResult struct {
	// Start and End are the window asked for.
	Start, End time.Time
	// Requests is how many GraphQL requests were made: 1, or 2 when the
	// server rejected the whole query for some datasets (an unknown field)
	// and the others were asked for again without them.
	Requests int

	TunnelHealth       DatasetRows[TunnelHealthRow]
	TunnelTraffic      DatasetRows[TunnelTrafficRow]
	ConnectorSnapshots DatasetRows[ConnectorSnapshotRow]
	ConnectorMounts    DatasetRows[MountRow]
	ConnectorThermals  DatasetRows[ThermalRow]
	ConnectorTunnels   DatasetRows[ConnectorTunnelRow]
	ConnectorHA        DatasetRows[HAStateRow]
	ConnectorEvents    DatasetRows[EventRow]
}

// Statuses returns the status of every declared dataset, in declaration
// order, whether queried or not.
func (r *EdgeResult) Statuses() []*DatasetStatus {
	out := make([]*DatasetStatus, len(edgeDatasets))
	for i, d := range edgeDatasets {
		out[i] = d.status(r)
	}
	return out
}

// Status returns the status of the named dataset, or nil for a name that
// is not declared.
func (r *EdgeResult) Status(dataset string) *DatasetStatus {
	if d := findDataset(dataset); d != nil {
		return d.status(r)
	}
	return nil
}

// EdgeDatasets returns the names of every declared dataset, in order.
func EdgeDatasets() []string {
	out := make([]string, len(edgeDatasets))
	for i, d := range edgeDatasets {
		out[i] = d.alias()
	}
	return out
}

func findDataset(name string) edgeDataset {
	for _, d := range edgeDatasets {
		if d.alias() == name {
			return d
		}
	}
	return nil
}

// edgeDataset is a declared dataset, whatever its row type.
type edgeDataset interface {
	alias() string
	graphQLName() string
	// selection is the dataset's fields, as GraphQL: "count avg { ... }
	// dimensions { ... }".
	selection() string
	// timeDimension is the field rows are ordered by.
	timeDimension() string
	// fields are every field name the selection holds.
	fields() []string
	status(r *EdgeResult) *DatasetStatus
	// reset clears the dataset's rows and what was counted of them, before
	// an answer is read into r.
	reset(r *EdgeResult)
	// decode reads the JSON array of rows into r.
	decode(raw []byte, limit int, r *EdgeResult) error
}

// rowValues collects, while one row is mapped, how many of its values were
// usable.
type rowValues struct {
	ok, bad         int
	emptyTunnelName bool
	time            time.Time
}

// at returns the bucket's time, zero when unreadable, and notes it as the
// row's time.
func (v *rowValues) at(b bucket) time.Time {
	v.time = b.t
	return b.t
}

// get returns the value, or nil when it is unusable.
func (v *rowValues) get(n number) *float64 {
	if !n.ok() {
		v.bad++
		return nil
	}
	v.ok++
	x := n.v
	return &x
}

// declaration is a dataset whose rows are W on the wire and R in results.
type declaration[W, R any] struct {
	name, graphQL string
	rows          func(*EdgeResult) *DatasetRows[R]
	row           func(*W, *rowValues) R

	sel, timeDim string
	fieldNames   []string
}

// declare builds a dataset's declaration; the selection and time dimension
// come from W's JSON tags. It panics on a malformed wire struct, which the
// package's tests catch.
func declare[W, R any](alias, graphQLName string, rows func(*EdgeResult) *DatasetRows[R], row func(*W, *rowValues) R) edgeDataset {
	d := &declaration[W, R]{name: alias, graphQL: graphQLName, rows: rows, row: row}
	var b strings.Builder
	d.walk(&b, reflect.TypeFor[W](), "")
	d.sel = strings.TrimSpace(b.String())
	if d.timeDim == "" {
		panic("api: dataset " + alias + " declares no time dimension")
	}
	return d
}

func (d *declaration[W, R]) walk(b *strings.Builder, t reflect.Type, parent string) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			panic("api: dataset " + d.name + ": field " + f.Name + " has no JSON name")
		}
		b.WriteString(" " + name)
		d.fieldNames = append(d.fieldNames, name)
		// The types are named here, not in package variables, which the
		// declarations would be initialised before.
		switch f.Type {
		case reflect.TypeFor[number](), reflect.TypeFor[text]():
		case reflect.TypeFor[bucket]():
			if d.timeDim != "" || parent != "dimensions" {
				panic("api: dataset " + d.name + ": one time dimension, under dimensions")
			}
			d.timeDim = name
		default:
			if f.Type.Kind() != reflect.Struct || parent != "" {
				panic("api: dataset " + d.name + ": field " + f.Name + " is neither a value nor a group")
			}
			b.WriteString(" {")
			d.walk(b, f.Type, name)
			b.WriteString(" }")
		}
	}
}

func (d *declaration[W, R]) alias() string         { return d.name }
func (d *declaration[W, R]) graphQLName() string   { return d.graphQL }
func (d *declaration[W, R]) selection() string     { return d.sel }
func (d *declaration[W, R]) timeDimension() string { return d.timeDim }
func (d *declaration[W, R]) fields() []string      { return d.fieldNames }
func (d *declaration[W, R]) status(r *EdgeResult) *DatasetStatus {
	return &d.rows(r).DatasetStatus
}

func (d *declaration[W, R]) reset(r *EdgeResult) {
	out := d.rows(r)
	*out = DatasetRows[R]{DatasetStatus: DatasetStatus{Dataset: out.Dataset, Queried: out.Queried}}
}

func (d *declaration[W, R]) decode(raw []byte, limit int, r *EdgeResult) error {
	var wire []W
	if err := unmarshalRows(raw, &wire); err != nil {
		return err
	}
	out := d.rows(r)
	out.Truncated = limit > 0 && len(wire) >= limit
	out.Rows = make([]R, 0, len(wire))
	for i := range wire {
		var v rowValues
		row := d.row(&wire[i], &v)
		t := v.time
		if v.bad > 0 || t.IsZero() {
			out.Rejected++
		}
		if v.ok == 0 || t.IsZero() {
			continue
		}
		if v.emptyTunnelName {
			out.EmptyTunnelNames++
		}
		if t.After(out.Newest) {
			out.Newest = t
		}
		out.Rows = append(out.Rows, row)
	}
	return nil
}
