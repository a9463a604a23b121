package simulator

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator"
)

// The simulated GraphQL Analytics schema: Cloudflare's datasets as its own
// introspection describes them (shared/cloudflare/GRAPHQL.md, "Field
// evidence"), with the real types and nullability (a required filter,
// limit: uint64!, accounts: [account!]!, tunnelState: float32!), the
// settings node and introspection. It is generated per SchemaVariant, so
// that tests meet the shapes real accounts do, and every query is
// validated against it: a field the account does not have fails the whole
// query, as on Cloudflare.

// SchemaVariant is one shape of the GraphQL schema and of the data, as
// accounts meet them. The zero value is the newest, fullest schema.
type SchemaVariant struct {
	// DocsCelsius spells the thermal fields as Cloudflare's docs example
	// does, with currentCelsius only; otherwise as the fields generated
	// from its introspection (2026-03) do: currentCelcius, criticalCelcius.
	DocsCelsius bool
	// NoHA leaves haState and mconnConnectorID out of
	// MagicWANConnectorMetricsAdaptiveGroups, as in 2024.
	NoHA bool
	// Disabled datasets (GraphQL names) answer enabled: false in the
	// settings node, and an error when queried anyway.
	Disabled []string
	// NotInSettings datasets are missing from the settings node, so that
	// only introspection tells their fields.
	NotInSettings []string
	// EmptyTunnelNames answers tunnelName "" in every traffic row, the
	// name in ingressTunnelName or egressTunnelName, as on some accounts.
	EmptyTunnelNames bool
	// DocsDirection answers the traffic direction as the docs' examples do
	// (ingress, egress) rather than as the schema describes it (inbound,
	// outbound, lateral).
	DocsDirection bool
	// MaxPageSize, MaxNumberOfFields, NotOlderThan and MaxDuration, when
	// set, replace every dataset's settings.
	MaxPageSize, MaxNumberOfFields int
	NotOlderThan, MaxDuration      time.Duration
}

// WithSchema sets the GraphQL schema variant the server speaks.
func WithSchema(v SchemaVariant) Option { return func(s *Server) { s.variant = v } }

// dsDef is one dataset of the schema.
type dsDef struct {
	name   string
	count  bool
	groups []groupDef
	// The dataset's settings.
	maxPageSize, maxFields    int
	notOlderThan, maxDuration time.Duration
}

type groupDef struct {
	name   string
	fields []fieldDef
}

type fieldDef struct{ name, typ string }

func fields(typ string, names ...string) []fieldDef {
	out := make([]fieldDef, len(names))
	for i, n := range names {
		out[i] = fieldDef{n, typ}
	}
	return out
}

// timeDims are the time dimensions every adaptive dataset has.
var timeDims = append(fields("Time!", "datetime", "datetimeMinute", "datetimeFiveMinutes", "datetimeFifteenMinutes",
	"datetimeHalfOfHour", "datetimeHour"), fieldDef{"date", "Date!"})

func dims(extra ...fieldDef) groupDef {
	return groupDef{"dimensions", append(extra, timeDims...)}
}

// Cloudflare's retention: tunnel health three months, connector telemetry
// 30 days; adaptive groups answer a few days at a time.
const (
	day             = 24 * time.Hour
	retentionTunnel = 92 * day
	retentionMconn  = 31 * day
)

// catalogue is every dataset of the variant.
func catalogue(v *SchemaVariant) []dsDef {
	ds := func(name string, count bool, retention time.Duration, groups ...groupDef) dsDef {
		return dsDef{name: name, count: count, groups: groups, maxPageSize: 10000, maxFields: 30,
			notOlderThan: retention, maxDuration: 3 * day}
	}
	edgeColo := fields("string!", "edgeColoCode", "edgeColoName", "edgeColoCity", "edgeColoCountry", "edgePopName")
	thermals := groupDef{"max", fields("float64!", "currentCelcius", "criticalCelcius")}
	if v.DocsCelsius {
		thermals = groupDef{"max", fields("float64!", "currentCelsius")}
	}
	ha := groupDef{"max", fields("uint32!", "interfaceCount")}
	haDims := dims(fields("string!", "mconnSiteID", "mconnInterfaceName", "mconnInterfaceType")...)
	if !v.NoHA {
		ha.fields = append(ha.fields, fieldDef{"haState", "uint8!"})
		haDims.fields = append([]fieldDef{{"mconnConnectorID", "string!"}}, haDims.fields...)
	}
	out := []dsDef{
		ds("magicTransitTunnelHealthChecksAdaptiveGroups", true, retentionTunnel,
			groupDef{"avg", []fieldDef{{"tunnelState", "float32!"}, {"sampleInterval", "float64!"}}},
			dims(append(append(fields("string!", "tunnelName", "siteName"), edgeColo...),
				append(fields("string!", "edgeColoRegion", "remoteTunnelIPv4", "resultStatus"), fieldDef{"active", "uint8!"})...)...)),
		ds("magicTransitTunnelHealthCheckSLOsAdaptiveGroups", true, retentionTunnel,
			dims(fields("string!", "tunnelId", "status")...)),
		ds("magicTransitTunnelTrafficAdaptiveGroups", false, retentionTunnel,
			groupDef{"avg", fields("uint64!", "bitRate", "bitRateFiveMinutes", "bitRateMinute", "packetRate", "packetRateFiveMinutes", "packetRateMinute")},
			groupDef{"sum", fields("uint64!", "bits", "packets")},
			dims(append(fields("string!", "tunnelName", "ingressTunnelName", "egressTunnelName", "ingressTunnelID", "egressTunnelID",
				"direction", "edgeColoGeohash"), edgeColo...)...)),
		ds("mconnTelemetrySnapshotsAdaptiveGroups", true, retentionMconn,
			groupDef{"max", append(append(fields("uint64!", "cpuCount"), fields("float64!", "loadAverage1m", "loadAverage5m")...),
				fields("uint64!", "memoryTotalBytes", "memoryAvailableBytes", "memoryFreeBytes")...)},
			dims(fieldDef{"connectorId", "string!"})),
		ds("mconnTelemetrySnapshotMountsAdaptiveGroups", true, retentionMconn,
			groupDef{"max", fields("uint64!", "availableBytes", "totalBytes")},
			dims(fields("string!", "connectorId", "mountPoint")...)),
		ds("mconnTelemetrySnapshotThermalsAdaptiveGroups", true, retentionMconn,
			thermals, dims(fields("string!", "connectorId", "label")...)),
		ds("mconnTelemetrySnapshotTunnelsAdaptiveGroups", true, retentionMconn,
			groupDef{"max", fields("uint8!", "healthValue")},
			dims(fields("string!", "connectorId", "tunnelId", "interfaceName")...)),
		ds("mconnTelemetrySnapshotNetdevsAdaptiveGroups", true, retentionMconn,
			groupDef{"sum", fields("uint64!", "recvBytes", "recvPackets", "sentBytes", "sentPackets")},
			dims(fields("string!", "connectorId", "name")...)),
		ds("mconnTelemetrySnapshotInterfacesAdaptiveGroups", true, retentionMconn,
			dims(fields("string!", "connectorId", "name", "operstate")...)),
		ds("mconnTelemetrySnapshotDisksAdaptiveGroups", true, retentionMconn,
			groupDef{"sum", fields("uint64!", "reads", "writes", "sectorsRead", "sectorsWritten")},
			dims(fields("string!", "connectorId", "name")...)),
		ds("mconnTelemetryEventsAdaptiveGroups", true, retentionMconn,
			dims(fields("string!", "connectorId", "eventType")...)),
		ds("mconnTelemetrySnapshotDhcpLeasesAdaptiveGroups", true, retentionMconn,
			dims(fieldDef{"connectorId", "string!"})),
		ds("MagicWANConnectorMetricsAdaptiveGroups", false, retentionMconn,
			groupDef{"avg", append(fields("float64!", "cpuLoadPercentage", "cpuTemperature", "diskUsagePercentage", "memoryUsagePercentage"),
				fields("uint64!", "rxBitrateMinute", "txBitrateMinute", "rxBitrateFiveMinute", "txBitrateFiveMinute")...)},
			ha, haDims),
	}
	for i := range out {
		d := &out[i]
		d.maxPageSize = cmpOr(v.MaxPageSize, d.maxPageSize)
		d.maxFields = cmpOr(v.MaxNumberOfFields, d.maxFields)
		d.notOlderThan = cmpOr(v.NotOlderThan, d.notOlderThan)
		d.maxDuration = cmpOr(v.MaxDuration, d.maxDuration)
	}
	return out
}

func cmpOr[T comparable](a, b T) T {
	var zero T
	if a != zero {
		return a
	}
	return b
}

// typeName is the GraphQL type of the dataset's rows, or of a group of
// theirs, as the schema names it (a renamed dataset's types are renamed).
func (d *dsDef) typeName(group string, unknown []string) string {
	return "Account" + upper(renamed(d.name, unknown)) + upper(group)
}

func upper(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// leaves are the dataset's fields as the settings node names them:
// "count", "avg_tunnelState", "dimensions_tunnelName".
func (d *dsDef) leaves(unknown []string) []string {
	var out []string
	if d.count {
		out = append(out, renamed("count", unknown))
	}
	for _, g := range d.groups {
		for _, f := range g.fields {
			out = append(out, g.name+"_"+renamed(f.name, unknown))
		}
	}
	return out
}

// renamed is name as the schema has it when the fault renames it.
func renamed(name string, unknown []string) string {
	if slices.Contains(unknown, name) {
		return name + "Renamed"
	}
	return name
}

// schemaSDL writes the variant's schema, with the names in unknown renamed
// (GraphQLFault.Unknown).
func schemaSDL(v *SchemaVariant, unknown []string) string {
	var b strings.Builder
	for _, s := range []string{"string", "bool", "int64", "uint64", "uint32", "uint8", "float32", "float64", "Time", "Date"} {
		fmt.Fprintf(&b, "scalar %s\n", s)
	}
	b.WriteString(`schema { query: Query }
type Query {
  viewer: viewer
  cost: uint64!
}
type viewer {
  accounts(filter: AccountFilter_InputObject!): [account!]!
  budget: uint64!
}
input AccountFilter_InputObject { accountTag: string! }
type Settings {
  availableFields: [string!]!
  enabled: bool!
  maxDuration: int64!
  maxNumberOfFields: int64!
  maxPageSize: int64!
  notOlderThan: int64!
}
`)
	cat := catalogue(v)
	b.WriteString("type AccountSettings {\n")
	for _, d := range cat {
		if !slices.Contains(v.NotInSettings, d.name) {
			fmt.Fprintf(&b, "  %s: Settings!\n", renamed(d.name, unknown))
		}
	}
	b.WriteString("}\ntype account {\n  settings: AccountSettings\n")
	for _, d := range cat {
		t := d.typeName("", unknown)
		fmt.Fprintf(&b, "  %s(filter: %sFilter_InputObject!, limit: uint64!, orderBy: [%sOrderBy!]): [%s!]\n",
			renamed(d.name, unknown), t, t, t)
	}
	b.WriteString("}\n")
	for _, d := range cat {
		t := d.typeName("", unknown)
		fmt.Fprintf(&b, "type %s {\n", t)
		if d.count {
			fmt.Fprintf(&b, "  %s: uint64!\n", renamed("count", unknown))
		}
		for _, g := range d.groups {
			fmt.Fprintf(&b, "  %s: %s\n", g.name, d.typeName(g.name, unknown))
		}
		b.WriteString("}\n")
		var filter, order []string
		if d.count {
			order = append(order, "count")
		}
		for _, g := range d.groups {
			fmt.Fprintf(&b, "type %s {\n", d.typeName(g.name, unknown))
			for _, f := range g.fields {
				fmt.Fprintf(&b, "  %s: %s\n", renamed(f.name, unknown), f.typ)
				if g.name == "dimensions" {
					filter = append(filter, f.name+": "+strings.TrimSuffix(f.typ, "!"))
					order = append(order, f.name)
				}
			}
			b.WriteString("}\n")
		}
		fmt.Fprintf(&b, "input %sFilter_InputObject {\n  AND: [%sFilter_InputObject!]\n  OR: [%sFilter_InputObject!]\n", t, t, t)
		b.WriteString("  datetime_geq: Time\n  datetime_gt: Time\n  datetime_lt: Time\n  datetime_leq: Time\n")
		for _, f := range filter {
			if !strings.HasPrefix(f, "datetime:") {
				fmt.Fprintf(&b, "  %s\n", f)
			}
		}
		fmt.Fprintf(&b, "  datetime: Time\n}\nenum %sOrderBy {\n", t)
		for _, o := range order {
			fmt.Fprintf(&b, "  %s_ASC\n  %s_DESC\n", o, o)
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// loadSchema parses the variant's schema, with the names in unknown
// renamed.
func loadSchema(v *SchemaVariant, unknown []string) (*ast.Schema, error) {
	return validator.LoadSchema(validator.Prelude, &ast.Source{Name: "schema.graphql", Input: schemaSDL(v, unknown)})
}

// SchemaSDL returns the GraphQL schema of a variant, as the simulated API
// validates queries against it.
func SchemaSDL(v SchemaVariant) string { return schemaSDL(&v, nil) }

// schemaFor returns the schema to validate against, cached per fault.
func (s *Server) schemaFor(unknown []string) (*ast.Schema, error) {
	key := strings.Join(unknown, ",")
	s.mu.Lock()
	sc, ok := s.schemas[key]
	v := s.variant
	s.mu.Unlock()
	if ok {
		return sc, nil
	}
	sc, err := loadSchema(&v, unknown)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.schemas[key] = sc
	s.mu.Unlock()
	return sc, nil
}
