package collector

import (
	"cmp"
	"hash/maphash"
	"slices"
	"strings"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/exposition"
)

const namespace = "cloudflare_magic"

// Family declares one metric family: everything about it is here, and
// nowhere else. Samples turns one object (a connector, an app, an endpoint
// of an account...) into the family's samples; one writer renders every
// family, in name order, in the format the scraper asked for. The metrics
// reference (docs/metrics.md) is generated from these declarations.
type Family[T any] struct {
	Name string
	// Help is the HELP text: one sentence, at most about 100 characters.
	Help string
	// Doc, optional, is what the metrics reference says beyond Help.
	Doc    string
	Type   exposition.Type
	Labels []string
	// Samples writes the samples of one object: s.Add once per sample,
	// label values in the order of Labels.
	Samples func(s Sampler, o *T)
	// Static, optional, says what an object's samples depend on: a key
	// equal in two pages means the same samples, so that a gzipped page
	// writes again the compressed bytes of the last (renderRuns). ok is
	// false for an object that cannot vouch for that, or whose identifying
	// labels the writer must clean or cut (two could become one series):
	// then the family is rendered in full.
	Static func(o *T) (key uint64, ok bool)
}

// Sampler receives the samples of one family.
type Sampler struct {
	w *exposition.Writer
	f *exposition.Family
}

// Add writes one sample; labelValues follow the family's Labels.
func (s Sampler) Add(v float64, labelValues ...string) { s.w.Sample(s.f, v, labelValues...) }

// AddLabels writes one sample with labels rendered once for the family's
// label names (exposition.RenderLabels).
func (s Sampler) AddLabels(v float64, l exposition.Labels) { s.w.SampleLabels(s.f, v, l) }

// Source names where a family's objects come from, for the reference.
type Source string

const (
	SourceConnectors Source = "connectors endpoint"
	SourceApps       Source = "apps endpoint"
	SourceSites      Source = "sites endpoint"
	SourceTelemetry  Source = "telemetry snapshots (opt-in)"
	SourceEdge       Source = "GraphQL Analytics API (the edge view)"
	SourceExporter   Source = "exporter"
)

// Sources lists every Source, in the order of the reference.
var Sources = []Source{SourceConnectors, SourceApps, SourceSites, SourceEdge, SourceTelemetry, SourceExporter}

// renderer is a declared family bound to the objects of a page.
type renderer interface {
	desc() *exposition.Family
	reference() Reference
	render(w *exposition.Writer, p *page)
}

// bound is a Family with the page rows its objects come from.
type bound[T any] struct {
	f      *Family[T]
	d      *exposition.Family
	source Source
	rows   func(*page) []T
	// seed starts the keys of the family's runs (renderRuns).
	seed uint64
}

// bind prepares families whose objects are rows(page).
func bind[T any](source Source, rows func(*page) []T, families ...*Family[T]) []renderer {
	out := make([]renderer, len(families))
	for i, f := range families {
		out[i] = &bound[T]{f: f, d: exposition.NewFamily(f.Name, f.Help, f.Type, f.Labels...), source: source, rows: rows,
			seed: maphash.String(rowSeed, f.Name)}
	}
	return out
}

func (b *bound[T]) desc() *exposition.Family { return b.d }

func (b *bound[T]) render(w *exposition.Writer, p *page) {
	if !w.Wants(b.d) {
		return
	}
	rows := b.rows(p)
	s := Sampler{w: w, f: b.d}
	if b.f.Static != nil && p.segments != nil && w.Segmented() && b.renderRuns(w, p.segments, rows, s) {
		return
	}
	for i := range rows {
		b.f.Samples(s, &rows[i])
	}
}

// A run of a static family ends after an object whose key is a multiple
// of runEvery (so that an object added or removed changes one run, not
// every one after it), or at maxRun objects.
const (
	runEvery = 64
	maxRun   = 256
)

// renderRuns writes the family in runs of objects, each written again
// from an earlier page's compressed bytes while its keys are the same. It
// returns false, having written nothing, when an object cannot vouch.
func (b *bound[T]) renderRuns(w *exposition.Writer, store *exposition.Segments, rows []T, s Sampler) bool {
	for i := range rows {
		if _, ok := b.f.Static(&rows[i]); !ok {
			return false
		}
	}
	h, start := b.seed, 0
	for i := range rows {
		k, _ := b.f.Static(&rows[i])
		h = mixKeys(h, k)
		if k%runEvery == 0 || i+1-start == maxRun || i == len(rows)-1 {
			run := rows[start : i+1]
			w.Segment(b.d, h, store, func() {
				for j := range run {
					b.f.Samples(s, &run[j])
				}
			})
			h, start = b.seed, i+1
		}
	}
	return true
}

// Reference describes one family for the metrics reference.
type Reference struct {
	Name, Help, Doc string
	Type            exposition.Type
	Labels          []string
	Source          Source
}

func (b *bound[T]) reference() Reference {
	return Reference{Name: b.f.Name, Help: b.f.Help, Doc: b.f.Doc, Type: b.f.Type, Labels: b.f.Labels, Source: b.source}
}

// declarations returns every family the exporter declares, in name order.
func declarations() []renderer {
	all := append(pageFamilies(), writtenFamilies()...)
	sortRenderers(all)
	return all
}

// pageFamilies returns the families written in name order: every one but
// writtenFamilies.
func pageFamilies() []renderer {
	var all []renderer
	all = append(all, connectorFamilies()...)
	all = append(all, appFamilies()...)
	all = append(all, siteFamilies()...)
	all = append(all, telemetryFamilies()...)
	all = append(all, edgeFamilies()...)
	all = append(all, exporterFamilies()...)
	all = append(all, apiFamilies()...)
	all = append(all, droppedFamilies()...)
	all = append(all, loginFamilies()...)
	sortRenderers(all)
	return all
}

// sortRenderers puts families in name order, the order of a page.
func sortRenderers(all []renderer) {
	slices.SortFunc(all, func(a, b renderer) int { return strings.Compare(a.desc().Name, b.desc().Name) })
}

// References describes every declared family, in name order.
func References() []Reference {
	decls := declarations()
	out := make([]Reference, len(decls))
	for i, d := range decls {
		out[i] = d.reference()
	}
	slices.SortStableFunc(out, func(a, b Reference) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

func boolToFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
