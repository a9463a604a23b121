package api

//go:generate go test . -run TestEdgeEvidenceDoc -update

import "strings"

// Where each GraphQL field name the declarations read comes from
// (shared/cloudflare/GRAPHQL.md, "Field evidence"), strongest source
// first. Discovery decides what is asked; this says why a name is tried at
// all, and docs/edge.md is generated from it (TestEdgeEvidenceDoc).
const (
	evIntrospection = "Cloudflare's introspection, public dump (2024-06)"
	evRegistry      = "dataset registry generated from Cloudflare's introspection (2026-03)"
	evDocs          = "Cloudflare's docs example (2026-12)"
	evReport        = "public report (2026)"
	evNone          = "no source: the REST snapshot's name, tried where discovery finds it"
)

// fieldEvidence is the evidence for each name, by dataset alias and
// GraphQL path.
var fieldEvidence = map[string][]string{
	"tunnel_health count":                                {evIntrospection},
	"tunnel_health avg.tunnelState":                      {evIntrospection, evDocs},
	"tunnel_health dimensions.tunnelName":                {evIntrospection, evDocs},
	"tunnel_health dimensions.edgeColoCode":              {evIntrospection},
	"tunnel_health dimensions.edgeColoName":              {evIntrospection, evDocs},
	"tunnel_health dimensions.siteName":                  {evIntrospection},
	"tunnel_health dimensions.active":                    {evIntrospection},
	"tunnel_health dimensions.datetimeFiveMinutes":       {evIntrospection},
	"tunnel_traffic avg.bitRateFiveMinutes":              {evIntrospection, evDocs},
	"tunnel_traffic sum.bits":                            {evIntrospection},
	"tunnel_traffic sum.packets":                         {evIntrospection},
	"tunnel_traffic dimensions.tunnelName":               {evIntrospection, evDocs},
	"tunnel_traffic dimensions.ingressTunnelName":        {evIntrospection, evReport},
	"tunnel_traffic dimensions.egressTunnelName":         {evIntrospection, evReport},
	"tunnel_traffic dimensions.direction":                {evIntrospection, evDocs},
	"tunnel_traffic dimensions.datetimeFiveMinutes":      {evIntrospection},
	"connector_snapshots max.cpuCount":                   {evRegistry, evDocs},
	"connector_snapshots max.loadAverage1m":              {evRegistry, evDocs},
	"connector_snapshots max.loadAverage5m":              {evRegistry},
	"connector_snapshots max.memoryTotalBytes":           {evRegistry, evDocs},
	"connector_snapshots max.memoryAvailableBytes":       {evRegistry},
	"connector_snapshots dimensions.connectorId":         {evRegistry, evDocs},
	"connector_snapshots dimensions.datetimeFiveMinutes": {evDocs},
	"connector_mounts max.availableBytes":                {evRegistry, evDocs},
	"connector_mounts max.totalBytes":                    {evRegistry, evDocs},
	"connector_mounts dimensions.connectorId":            {evRegistry, evDocs},
	"connector_mounts dimensions.mountPoint":             {evRegistry},
	"connector_mounts dimensions.datetimeFiveMinutes":    {evDocs},
	"connector_thermals max.currentCelsius":              {evDocs},
	"connector_thermals max.currentCelcius":              {evRegistry},
	"connector_thermals max.criticalCelsius":             {"no source: the docs' spelling of criticalCelcius, tried where discovery finds it"},
	"connector_thermals max.criticalCelcius":             {evRegistry},
	"connector_thermals dimensions.connectorId":          {evRegistry, evDocs},
	"connector_thermals dimensions.label":                {evRegistry},
	"connector_thermals dimensions.datetimeFiveMinutes":  {evDocs},
	"connector_tunnels max.healthValue":                  {evNone},
	"connector_tunnels dimensions.connectorId":           {evRegistry},
	"connector_tunnels dimensions.tunnelId":              {evNone},
	"connector_tunnels dimensions.interfaceName":         {evNone},
	"connector_tunnels dimensions.datetimeFiveMinutes":   {evDocs},
	"connector_ha max.haState":                           {evRegistry + "; not in the 2024 introspection"},
	"connector_ha dimensions.mconnConnectorID":           {evRegistry + "; not in the 2024 introspection"},
	"connector_ha dimensions.datetimeFiveMinutes":        {evIntrospection},
	"connector_events count":                             {evRegistry},
	"connector_events dimensions.connectorId":            {evRegistry},
	"connector_events dimensions.eventType":              {"no source: the docs call it \"event type\" without its name"},
	"connector_events dimensions.datetimeFiveMinutes":    {evDocs},
}

// FieldEvidence is one GraphQL field name the exporter can read, and where
// the name comes from.
type FieldEvidence struct {
	// Dataset is the dataset's alias, GraphQL its GraphQL name.
	Dataset, GraphQL string
	// Field is the field as the exporter reads it; Name the GraphQL path
	// it can be read from; Preference its rank among Field's names, from 1.
	Field, Name string
	Preference  int
	Required    bool
	// Sources are the evidence, strongest first; nil when none is known.
	Sources []string
}

// EdgeFieldEvidence lists every GraphQL name the declarations can read, in
// declaration order, with its evidence.
func EdgeFieldEvidence() []FieldEvidence {
	var out []FieldEvidence
	for _, d := range edgeDatasets {
		for _, f := range d.fields() {
			for i, n := range f.names {
				p := joinPath(f.group, n)
				out = append(out, FieldEvidence{Dataset: d.alias(), GraphQL: d.graphQLName(), Field: f.path(), Name: p,
					Preference: i + 1, Required: f.required, Sources: fieldEvidence[d.alias()+" "+p]})
			}
		}
	}
	return out
}

// String is the evidence as a line of text.
func (e FieldEvidence) String() string { return strings.Join(e.Sources, "; ") }
