package api

import (
	"cmp"
	"math"
	"reflect"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Cloudflare's edge view: the GraphQL Analytics datasets the exporter reads,
// each declared once below. A declaration names the dataset's alias (its
// name in this package, in errors and in results), its GraphQL name, and a
// wire struct whose tags name every field it reads and the GraphQL fields
// each can come from, in order of preference. Which of them an account has
// is not guessed: DiscoverEdge asks the account (its settings node, and
// introspection where settings does not answer), and the query is built
// only from fields the account has (see EdgeSchema). The time dimension is
// the wire struct's field of type bucket; rows are ordered by it, newest
// first.
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
				Colo:       string(w.Dimensions.Colo),
				SiteName:   string(w.Dimensions.SiteName),
				Active:     v.optWithin(w.Dimensions.Active, 0, 1),
				Time:       v.at(w.Dimensions.Time),
				State:      v.within(w.Avg.TunnelState, 0, 1),
				Count:      v.opt(w.Count),
			}
		}),
	declare(DatasetTunnelTraffic, "magicTransitTunnelTrafficAdaptiveGroups",
		func(r *EdgeResult) *DatasetRows[TunnelTrafficRow] { return &r.TunnelTraffic },
		func(w *tunnelTrafficWire, v *rowValues) TunnelTrafficRow {
			d := &w.Dimensions
			name := cmp.Or(d.TunnelName, d.IngressTunnelName, d.EgressTunnelName)
			v.emptyTunnelName = name == ""
			return TunnelTrafficRow{
				TunnelName:        string(name),
				IngressTunnelName: string(d.IngressTunnelName),
				EgressTunnelName:  string(d.EgressTunnelName),
				Direction:         string(d.Direction),
				Time:              v.at(d.Time),
				BitRate:           v.get(w.Avg.BitRateFiveMinutes),
				Bits:              v.get(w.Sum.Bits),
				Packets:           v.get(w.Sum.Packets),
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
				HealthValue:   v.within(w.Max.HealthValue, 0, 3),
			}
		}),
	declare(DatasetConnectorHA, "MagicWANConnectorMetricsAdaptiveGroups",
		func(r *EdgeResult) *DatasetRows[HAStateRow] { return &r.ConnectorHA },
		func(w *haWire, v *rowValues) HAStateRow {
			return HAStateRow{
				ConnectorID: string(w.Dimensions.ConnectorID),
				Time:        v.at(w.Dimensions.Time),
				HAState:     v.within(w.Max.HAState, 0, 4),
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

// The wire structs: one row of each dataset as the API sends it. A field's
// JSON tag is its key in the answer; the gql tag lists the GraphQL fields
// it can be read from, in order of preference (the JSON name alone when
// absent), and the query asks for the first one the account has, under
// the JSON name as its alias. edge:"required" marks what the dataset
// cannot be read without: when the account has none of its names, the
// dataset is not asked. A value's range is checked where the row is
// mapped (rowValues.within). The evidence for every name is in
// fieldEvidence.

type tunnelHealthWire struct {
	Count number `json:"count"`
	Avg   struct {
		// 0 down, 0.5 degraded, 1 healthy.
		TunnelState number `json:"tunnelState" edge:"required"`
	} `json:"avg"`
	Dimensions struct {
		TunnelName text `json:"tunnelName" edge:"required"`
		// The IATA code (LHR), else the data centre's name.
		Colo     text `json:"colo" gql:"edgeColoCode,edgeColoName"`
		SiteName text `json:"siteName"`
		// 1 if the data centre carried the tunnel's traffic in the last
		// six hours: it routes the tunnel.
		Active number `json:"active"`
		Time   bucket `json:"datetimeFiveMinutes"`
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
		// Public reports: tunnelName can be "" on some accounts, whose
		// rows carry the name in ingressTunnelName or egressTunnelName.
		TunnelName        text `json:"tunnelName" edge:"required"`
		IngressTunnelName text `json:"ingressTunnelName"`
		EgressTunnelName  text `json:"egressTunnelName"`
		// inbound, outbound or lateral (the schema); ingress or egress
		// (the docs' examples): exported as it comes.
		Direction text   `json:"direction" edge:"required"`
		Time      bucket `json:"datetimeFiveMinutes"`
	} `json:"dimensions"`
}

type connectorSnapshotWire struct {
	Max struct {
		CPUCount         number `json:"cpuCount"`
		LoadAverage1m    number `json:"loadAverage1m"`
		LoadAverage5m    number `json:"loadAverage5m"`
		MemoryTotalBytes number `json:"memoryTotalBytes"`
		// What the REST snapshot exports (memory_available_bytes) and
		// what matters for alerting; memoryFreeBytes, in Cloudflare's
		// example, is another quantity and no substitute.
		MemoryAvailableBytes number `json:"memoryAvailableBytes"`
	} `json:"max"`
	Dimensions struct {
		ConnectorID text   `json:"connectorId" edge:"required"`
		Time        bucket `json:"datetimeFiveMinutes"`
	} `json:"dimensions"`
}

type mountWire struct {
	Max struct {
		AvailableBytes number `json:"availableBytes"`
		TotalBytes     number `json:"totalBytes"`
	} `json:"max"`
	Dimensions struct {
		ConnectorID text   `json:"connectorId" edge:"required"`
		MountPoint  text   `json:"mountPoint" edge:"required"`
		Time        bucket `json:"datetimeFiveMinutes"`
	} `json:"dimensions"`
}

type thermalWire struct {
	Max struct {
		// Cloudflare's example spells it currentCelsius; the fields
		// generated from its introspection, currentCelcius (as the REST
		// snapshot's current_celcius).
		CurrentCelsius  number `json:"currentCelsius" gql:"currentCelsius,currentCelcius"`
		CriticalCelsius number `json:"criticalCelsius" gql:"criticalCelsius,criticalCelcius"`
	} `json:"max"`
	Dimensions struct {
		ConnectorID text   `json:"connectorId" edge:"required"`
		Label       text   `json:"label" edge:"required"`
		Time        bucket `json:"datetimeFiveMinutes"`
	} `json:"dimensions"`
}

type connectorTunnelWire struct {
	Max struct {
		// No source names this dataset's fields but connectorId: these
		// follow the REST snapshot's (health_value 0 unknown, 1 healthy,
		// 2 degraded, 3 down). max is the worst state in the bucket.
		HealthValue number `json:"healthValue" edge:"required"`
	} `json:"max"`
	Dimensions struct {
		ConnectorID   text   `json:"connectorId" edge:"required"`
		TunnelID      text   `json:"tunnelId" edge:"required"`
		InterfaceName text   `json:"interfaceName"`
		Time          bucket `json:"datetimeFiveMinutes"`
	} `json:"dimensions"`
}

// haWire reads the HA state from MagicWANConnectorMetricsAdaptiveGroups,
// the only dataset known to carry it, and only since 2026: accounts whose
// schema lacks haState or mconnConnectorID do not ask it.
type haWire struct {
	Max struct {
		// 0 disabled, 1 active, 2 standby, 3 stopped, 4 fault, as the
		// REST snapshot's ha_value.
		HAState number `json:"haState" edge:"required"`
	} `json:"max"`
	Dimensions struct {
		ConnectorID text   `json:"mconnConnectorID" edge:"required"`
		Time        bucket `json:"datetimeFiveMinutes"`
	} `json:"dimensions"`
}

type eventWire struct {
	Count      number `json:"count" edge:"required"`
	Dimensions struct {
		ConnectorID text `json:"connectorId" edge:"required"`
		// No source names the event type's field; eventType is a guess
		// that discovery confirms or rules out.
		EventType text   `json:"eventType" edge:"required"`
		Time      bucket `json:"datetimeFiveMinutes"`
	} `json:"dimensions"`
}

// TunnelHealthRow is Cloudflare's health check of one tunnel from one data
// centre over one five-minute bucket.
type TunnelHealthRow struct {
	// TunnelName may be empty; see DatasetStatus.EmptyTunnelNames.
	TunnelName string
	// Colo is the data centre: its IATA code (edgeColoCode), such as
	// "LHR", or its name where the account has no code.
	Colo string
	// SiteName is the Magic WAN site of the tunnel; "" when unknown.
	SiteName string
	// Active is 1 when the data centre carried the tunnel's traffic in
	// the last six hours, 0 when not, nil when the account does not say.
	Active *float64
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
	// TunnelName is the row's tunnelName, or where that is empty its
	// ingressTunnelName, else its egressTunnelName. It may be empty; see
	// DatasetStatus.EmptyTunnelNames.
	TunnelName                          string
	IngressTunnelName, EgressTunnelName string
	// Direction is as Cloudflare says it: "inbound", "outbound" or
	// "lateral" per its schema, "ingress" or "egress" per its docs.
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
	// Start and End are the window asked for, and Limit the most rows.
	Start, End time.Time
	Limit      int
	// Truncated is true when the answer held as many rows as the query's
	// limit: there were more. Rows are newest first, so every bucket newer
	// than the oldest one among the rows is complete; the oldest may not be.
	Truncated bool
	// PastLimit counts the rows sent beyond the limit asked for: they are
	// discarded.
	PastLimit int
	// OutsideWindow counts the rows whose bucket is outside the window
	// asked for, a bucket in the future among them: they are discarded.
	OutsideWindow int
	// Rejected counts rows that had an unusable value: null, a string such
	// as "NaN", a number out of range (a tunnel state outside 0 to 1), or
	// an unreadable time. The value is nil in the row; a row left with no
	// usable value, or no time, is dropped.
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
	// Requests is how many GraphQL requests were made: 1, or 2 when the
	// server rejected the whole query for fields the account's schema
	// does not have after all, and it was asked again without them.
	Requests int
	// Unknown are the fields the server said it does not know, as
	// FieldRefs: the schema the query was built from is out of date.
	Unknown []FieldRef

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
	// fields are every field the wire struct reads, in order.
	fields() []edgeField
	// timeDimension is the field rows are ordered by.
	timeDimension() string
	status(r *EdgeResult) *DatasetStatus
	// reset clears the dataset's rows and what was counted of them, before
	// an answer is read into r.
	reset(r *EdgeResult)
	// decode reads the JSON array of rows from dec into r, keeping at most
	// the status' Limit rows and those inside its window.
	decode(dec *jsontext.Decoder, r *EdgeResult) error
}

// edgeField is one field a dataset's wire struct reads.
type edgeField struct {
	// group is "avg", "sum", "max" or "dimensions"; "" at the top
	// (count).
	group string
	// key is the field's key in the answer (its JSON name), the alias it
	// is asked under.
	key string
	// names are the GraphQL fields it can be read from, in order of
	// preference.
	names []string
	// required: the dataset cannot be read without it.
	required bool
}

// path is the field's key under its group, as "avg.tunnelState".
func (f *edgeField) path() string { return joinPath(f.group, f.key) }

func joinPath(group, name string) string {
	if group == "" {
		return name
	}
	return group + "." + name
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

// get returns a value the row is read for: nil when it was not asked for
// or is unusable (which is counted).
func (v *rowValues) get(n number) *float64 {
	return v.within(n, math.Inf(-1), math.Inf(1))
}

// within is get for a value that must lie in [lo, hi].
func (v *rowValues) within(n number, lo, hi float64) *float64 {
	switch {
	case n.state == numberAbsent:
		return nil
	case !n.ok() || n.v < lo || n.v > hi:
		v.bad++
		return nil
	}
	v.ok++
	x := n.v
	return &x
}

// opt is get for a value that describes the row but does not make it
// worth keeping on its own.
func (v *rowValues) opt(n number) *float64 { return v.optWithin(n, math.Inf(-1), math.Inf(1)) }

func (v *rowValues) optWithin(n number, lo, hi float64) *float64 {
	ok := v.ok
	x := v.within(n, lo, hi)
	v.ok = ok
	return x
}

// declaration is a dataset whose rows are W on the wire and R in results.
type declaration[W, R any] struct {
	name, graphQL string
	rows          func(*EdgeResult) *DatasetRows[R]
	row           func(*W, *rowValues) R

	timeDim   string
	fieldList []edgeField
}

// declare builds a dataset's declaration from W's tags. It panics on a
// malformed wire struct, which the package's tests catch.
func declare[W, R any](alias, graphQLName string, rows func(*EdgeResult) *DatasetRows[R], row func(*W, *rowValues) R) edgeDataset {
	d := &declaration[W, R]{name: alias, graphQL: graphQLName, rows: rows, row: row}
	d.walk(reflect.TypeFor[W](), "")
	if d.timeDim == "" {
		panic("api: dataset " + alias + " declares no time dimension")
	}
	return d
}

func (d *declaration[W, R]) walk(t reflect.Type, group string) {
	for i := range t.NumField() {
		f := t.Field(i)
		key, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if key == "" || key == "-" {
			panic("api: dataset " + d.name + ": field " + f.Name + " has no JSON name")
		}
		// The types are named here, not in package variables, which the
		// declarations would be initialised before.
		switch f.Type {
		case reflect.TypeFor[number](), reflect.TypeFor[text](), reflect.TypeFor[bucket]():
			ef := edgeField{group: group, key: key, names: []string{key}}
			if gql := f.Tag.Get("gql"); gql != "" {
				ef.names = strings.Split(gql, ",")
			}
			ef.required = f.Tag.Get("edge") == "required"
			if f.Type == reflect.TypeFor[bucket]() {
				if d.timeDim != "" || group != "dimensions" {
					panic("api: dataset " + d.name + ": one time dimension, under dimensions")
				}
				d.timeDim, ef.required = key, true
			}
			d.fieldList = append(d.fieldList, ef)
		default:
			if f.Type.Kind() != reflect.Struct || group != "" {
				panic("api: dataset " + d.name + ": field " + f.Name + " is neither a value nor a group")
			}
			d.walk(f.Type, key)
		}
	}
}

func (d *declaration[W, R]) alias() string         { return d.name }
func (d *declaration[W, R]) graphQLName() string   { return d.graphQL }
func (d *declaration[W, R]) fields() []edgeField   { return d.fieldList }
func (d *declaration[W, R]) timeDimension() string { return d.timeDim }
func (d *declaration[W, R]) status(r *EdgeResult) *DatasetStatus {
	return &d.rows(r).DatasetStatus
}

func (d *declaration[W, R]) reset(r *EdgeResult) {
	out := d.rows(r)
	st := out.DatasetStatus
	*out = DatasetRows[R]{DatasetStatus: DatasetStatus{Dataset: st.Dataset, Queried: st.Queried, Start: st.Start, End: st.End, Limit: st.Limit}}
}

func (d *declaration[W, R]) decode(dec *jsontext.Decoder, r *EdgeResult) error {
	if _, err := dec.ReadToken(); err != nil { // [
		return err
	}
	out := d.rows(r)
	n := 0
	for dec.PeekKind() != ']' {
		if out.Limit > 0 && n >= out.Limit {
			// Past the limit asked for: a server that sends more is not
			// to be believed, nor kept in memory.
			out.PastLimit++
			if err := dec.SkipValue(); err != nil {
				return err
			}
			continue
		}
		n++
		// One row at a time: a row that is not an object is that row's
		// loss, not the dataset's.
		raw, err := dec.ReadValue()
		if err != nil {
			return err
		}
		var w W
		if json.Unmarshal(raw, &w, decodeOptions) != nil {
			out.Rejected++
			continue
		}
		var v rowValues
		row := d.row(&w, &v)
		t := v.time
		if v.bad > 0 || t.IsZero() {
			out.Rejected++
		}
		if v.ok == 0 || t.IsZero() {
			continue
		}
		if t.Before(out.Start) || !t.Before(out.End) {
			out.OutsideWindow++
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
	out.Truncated = out.Limit > 0 && n >= out.Limit
	_, err := dec.ReadToken() // ]
	return err
}
