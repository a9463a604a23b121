package collector

import (
	"bufio"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// family is one metric family the exporter emits. It holds the Desc the
// prometheus.Collector path needs and, prepared once, what the text writer
// needs.
type family struct {
	desc   *prometheus.Desc
	name   string
	typ    prometheus.ValueType
	labels int
	// header is the family's # HELP and # TYPE lines.
	header string
	// order lists label indexes by label name, and keys the text put before
	// each value in that order (`{name="`, `,name="`), as client_golang
	// writes them.
	order []int
	keys  []string
	// fixedLen bounds what a sample takes beyond its label values.
	fixedLen int
}

func newFamily(name, help string, typ prometheus.ValueType, labels ...string) *family {
	f := &family{
		desc:   prometheus.NewDesc(name, help, labels, nil),
		name:   name,
		typ:    typ,
		labels: len(labels),
		order:  make([]int, len(labels)),
	}
	kind := "gauge"
	if typ == prometheus.CounterValue {
		kind = "counter"
	}
	f.header = "# HELP " + name + " " + helpEscaper.Replace(help) + "\n# TYPE " + name + " " + kind + "\n"
	for i := range f.order {
		f.order[i] = i
	}
	slices.SortFunc(f.order, func(a, b int) int { return strings.Compare(labels[a], labels[b]) })
	for i, li := range f.order {
		sep := ","
		if i == 0 {
			sep = "{"
		}
		f.keys = append(f.keys, sep+labels[li]+`="`)
		f.fixedLen += len(f.keys[i]) + 1 // and the closing quote
	}
	// The name, "}", " ", the longest float and "\n".
	f.fixedLen += len(name) + 1 + 1 + 32 + 1
	return f
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	valueEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

// sink receives the samples of one scrape, family after family in name
// order. Every scrape function emits through it, so that the Collector path
// and the text path emit the same series.
type sink interface {
	// sample emits one sample; labelValues follow the family's labels.
	sample(f *family, value float64, labelValues ...string)
}

// chanSink turns samples into const metrics for prometheus.Collector.Collect.
type chanSink chan<- prometheus.Metric

func (c chanSink) sample(f *family, v float64, labelValues ...string) {
	m, err := prometheus.NewConstMetric(f.desc, f.typ, v, labelValues...)
	if err != nil {
		m = prometheus.NewInvalidMetric(f.desc, err)
	}
	c <- m
}

// textSink writes samples straight into the text exposition format, as they
// come, skipping client_golang's per-sample objects, checks and sorting: at
// tens of thousands of connectors those cost several times the API call
// (see README, "Performance"). Since families come in name order, nothing
// is held back: the page is never in memory whole. The families of others
// (the exporter's own metrics) are written in their place in that order.
type textSink struct {
	w       *bufio.Writer
	err     error
	current *family
	others  []*dto.MetricFamily
	line    []byte
	// escaped caches, by label position, the last value escaped: a
	// connector's IDs recur in every one of its samples.
	escaped [maxCachedLabels]struct{ raw, esc string }
}

// maxCachedLabels is how many label positions the escape cache covers.
const maxCachedLabels = 4

func newTextSink(w io.Writer, others []*dto.MetricFamily) *textSink {
	others = slices.Clone(others)
	slices.SortFunc(others, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
	return &textSink{w: bufio.NewWriterSize(w, 64<<10), others: others}
}

func (t *textSink) sample(f *family, v float64, labelValues ...string) {
	if t.err != nil {
		return
	}
	if f != t.current {
		t.writeOthers(f.name)
		_, t.err = t.w.WriteString(f.header)
		t.current = f
	}
	b := append(t.line[:0], f.name...)
	for i, li := range f.order {
		b = append(b, f.keys[i]...)
		b = append(b, t.escape(li, labelValues[li])...)
		b = append(b, '"')
	}
	if f.labels > 0 {
		b = append(b, '}')
	}
	b = append(b, ' ')
	b = appendFloat(b, v)
	b = append(b, '\n')
	if t.err == nil {
		_, t.err = t.w.Write(b)
	}
	t.line = b
}

// writeOthers writes the other families that sort before name.
func (t *textSink) writeOthers(name string) {
	for len(t.others) > 0 && t.others[0].GetName() < name && t.err == nil {
		_, t.err = expfmt.MetricFamilyToText(t.w, t.others[0])
		t.others = t.others[1:]
	}
}

// close writes the remaining other families and flushes the page.
func (t *textSink) close() error {
	t.writeOthers("\U0010FFFF")
	if t.err != nil {
		return t.err
	}
	return t.w.Flush()
}

// escape returns the label value at position i with backslash, double
// quote and newline escaped.
func (t *textSink) escape(i int, s string) string {
	if i < maxCachedLabels && t.escaped[i].raw == s {
		return t.escaped[i].esc
	}
	esc := s
	if !utf8.ValidString(esc) {
		// The decoder already replaces invalid UTF-8; a label value that is
		// not UTF-8 would make Prometheus reject the whole page.
		esc = strings.ToValidUTF8(esc, "\uFFFD")
	}
	if strings.ContainsAny(esc, "\\\"\n") {
		esc = valueEscaper.Replace(esc)
	}
	if i < maxCachedLabels {
		t.escaped[i].raw, t.escaped[i].esc = s, esc
	}
	return esc
}

// appendFloat formats a value as client_golang's text encoder does.
func appendFloat(b []byte, v float64) []byte {
	switch {
	case v == 0:
		return append(b, '0')
	case v == 1:
		return append(b, '1')
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	case math.IsNaN(v):
		return append(b, "NaN"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}
