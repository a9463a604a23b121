// Package exposition writes metric pages: the text format 0.0.4 and
// OpenMetrics 1.0, chosen by the scraper's Accept header, compressed by its
// Accept-Encoding, filtered by name[].
//
// It is the one writer of the exporter. Families arrive in name order and
// samples are written as they come, skipping client_golang's per-sample
// objects, checks and sorting: at tens of thousands of connectors those
// cost several times the API call (docs/performance.md). The page is never
// held in memory whole. Families gathered from a client_golang registry
// (Go runtime, process, build info) are encoded by expfmt in their place in
// the same order and format.
package exposition

import (
	"fmt"
	"slices"
	"strings"

	"github.com/prometheus/common/model"
)

// Type is a family's metric type.
type Type int

const (
	Gauge Type = iota
	Counter
)

func (t Type) String() string {
	if t == Counter {
		return "counter"
	}
	return "gauge"
}

// Family is one metric family as the writer needs it, prepared once.
type Family struct {
	Name   string
	Help   string
	Type   Type
	Labels []string
	LabelNames

	textHeader, omHeader string
}

// LabelNames are the label names of a family, prepared to write label
// values in their order: families with the same names share rendered
// Labels.
type LabelNames struct {
	// names are the label names joined, to match rendered Labels.
	names string
	// order lists label indexes by label name, and keys the text put before
	// each value in that order (`{name="`, `,name="`), as client_golang
	// writes them.
	order []int
	keys  []string
}

// NewLabelNames prepares label names; an invalid or repeated name panics.
func NewLabelNames(labels ...string) LabelNames {
	for i, l := range labels {
		if !model.LegacyValidation.IsValidLabelName(l) || slices.Contains(labels[:i], l) {
			panic(fmt.Sprintf("exposition: invalid or repeated label %q", l))
		}
	}
	n := LabelNames{names: strings.Join(labels, ","), order: make([]int, len(labels))}
	for i := range n.order {
		n.order[i] = i
	}
	slices.SortFunc(n.order, func(a, b int) int { return strings.Compare(labels[a], labels[b]) })
	for i, li := range n.order {
		sep := ","
		if i == 0 {
			sep = "{"
		}
		n.keys = append(n.keys, sep+labels[li]+`="`)
	}
	return n
}

// NewFamily prepares a family. An invalid name, label name, repeated
// label or a counter not named *_total is a programming error: it panics,
// so that the tests of the declarations catch it.
func NewFamily(name, help string, typ Type, labels ...string) *Family {
	if !model.LegacyValidation.IsValidMetricName(name) {
		panic(fmt.Sprintf("exposition: invalid metric name %q", name))
	}
	if typ == Counter && !strings.HasSuffix(name, "_total") {
		panic(fmt.Sprintf("exposition: counter %s must end in _total", name))
	}
	for i, l := range labels {
		if !model.LegacyValidation.IsValidLabelName(l) || slices.Contains(labels[:i], l) {
			panic(fmt.Sprintf("exposition: %s: invalid or repeated label %q", name, l))
		}
	}
	f := &Family{Name: name, Help: help, Type: typ, Labels: slices.Clip(labels), LabelNames: NewLabelNames(labels...)}
	f.textHeader = "# HELP " + name + " " + textHelpEscaper.Replace(help) + "\n# TYPE " + name + " " + typ.String() + "\n"
	// OpenMetrics names a counter's family without the _total of its
	// samples.
	omName := name
	if typ == Counter {
		omName = strings.TrimSuffix(name, "_total")
	}
	f.omHeader = "# HELP " + omName + " " + omEscaper.Replace(help) + "\n# TYPE " + omName + " " + typ.String() + "\n"
	return f
}

var (
	textHelpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	// omEscaper escapes HELP text and label values in OpenMetrics, and
	// label values in the text format.
	omEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)
