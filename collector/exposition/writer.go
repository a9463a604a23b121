package exposition

import (
	"bufio"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// Format is a negotiated exposition format.
type Format struct {
	openMetrics bool
	contentType string
}

// Text is the text format 0.0.4, which every Prometheus reads.
var Text = Format{contentType: string(expfmt.NewFormat(expfmt.TypeTextPlain))}

// OpenMetrics is OpenMetrics 1.0.
var OpenMetrics = Format{openMetrics: true, contentType: string(expfmt.NewFormat(expfmt.TypeOpenMetrics))}

// Negotiate picks the format the Accept header prefers among OpenMetrics
// and text, text when it names neither. Protobuf is never offered: the
// writer does not speak it, and Prometheus falls back to text.
func Negotiate(h http.Header) Format {
	f := expfmt.NegotiateAccept(h, expfmt.FmtOpenMetrics_1_0_0, expfmt.FmtOpenMetrics_0_0_1, expfmt.FmtText)
	if f.FormatType() == expfmt.TypeOpenMetrics {
		return OpenMetrics
	}
	return Text
}

// ContentType is the Content-Type header of a page in f.
func (f Format) ContentType() string { return f.contentType }

// IsOpenMetrics reports whether f is OpenMetrics.
func (f Format) IsOpenMetrics() bool { return f.openMetrics }

// Writer writes one page. Call Sample for the samples of each family, the
// families in name order, then Close. Samples of a family the filter
// leaves out are dropped; callers can skip the work with Wants.
type Writer struct {
	w      *bufio.Writer
	format Format
	filter Filter
	err    error
	// current is the family whose samples are being written.
	current *Family
	// others are families gathered from a registry, by name; they are
	// written in their place among the declared families.
	others []*dto.MetricFamily
	line   []byte
	// escaped caches, by label position, the last value escaped: a
	// connector's IDs recur in every one of its samples.
	escaped [maxCachedLabels]struct{ raw, esc string }
	limits  Limits
	// truncated and stripped count label values cut or cleaned.
	truncated, stripped int
	// series holds a hash of each series of the current family written,
	// so that none is written twice (keyed by seriesSeed).
	series map[uint64]struct{}
	// dropped are the samples left off the page, by family and reason.
	dropped []Dropped
	// gz is the gzip stream below w when the page is gzipped, for Segment.
	gz *gzipStream
}

// Reasons a sample is left off a page.
const (
	// DropLabelCount: the sample has not one value per label of its
	// family, a programming error that tests must catch.
	DropLabelCount = "label_count"
	// DropDuplicate: the page already holds the series, most likely
	// because two label values became equal once cleaned or cut
	// (Prometheus would keep one and fail the other).
	DropDuplicate = "duplicate"
)

// Dropped counts the samples of one family left off a page for one
// reason; Series is the first of them, as written on the page.
type Dropped struct {
	Family, Reason, Series string
	N                      int
}

// Limits bounds what a label value may carry into a page.
type Limits struct {
	// MaxLabelValueLength cuts longer label values, in bytes, at a rune
	// boundary; zero leaves them whole.
	MaxLabelValueLength int
}

// Keeps reports whether s is written as it is, neither cleaned nor cut:
// two different such values stay different on the page.
func (l Limits) Keeps(s string) bool {
	return plain(s) && (l.MaxLabelValueLength <= 0 || len(s) <= l.MaxLabelValueLength)
}

// maxCachedLabels is how many label positions the escape cache covers.
const maxCachedLabels = 4

// NewWriter returns a Writer of a page in format to w. others are written
// in name order among the declared families.
func NewWriter(w io.Writer, format Format, filter Filter, others []*dto.MetricFamily) *Writer {
	others = slices.DeleteFunc(slices.Clone(others), func(mf *dto.MetricFamily) bool { return !filter.Wants(mf.GetName()) })
	slices.SortFunc(others, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
	return &Writer{w: bufio.NewWriterSize(w, 64<<10), format: format, filter: filter, others: others,
		series: map[uint64]struct{}{}}
}

// SetLimits sets the bounds on label values.
func (t *Writer) SetLimits(l Limits) { t.limits = l }

// Wants reports whether the page includes family f.
func (t *Writer) Wants(f *Family) bool { return t.filter.Wants(f.Name) }

// Sample writes one sample of f; labelValues follow f.Labels.
func (t *Writer) Sample(f *Family, v float64, labelValues ...string) {
	if t.err != nil || !t.filter.Wants(f.Name) {
		return
	}
	if len(labelValues) != len(f.Labels) {
		// Not the values themselves: they would escape to the heap, and
		// every sample's with them.
		t.drop(f, DropLabelCount, fmt.Sprintf("%d values for %d labels", len(labelValues), len(f.Labels)))
		return
	}
	t.start(f)
	b := t.appendLabels(append(t.line[:0], f.Name...), &f.LabelNames, labelValues)
	// Label values are unique per row, but cleaning or cutting can make
	// two equal: the second would fail in Prometheus, whose page keeps
	// one. 64 bits of hash make a false match unlikely beyond reason (one
	// in 10^8 for a family of a million series).
	h := maphash.Bytes(seriesSeed, b[len(f.Name):])
	if _, dup := t.series[h]; dup {
		t.line = b
		t.drop(f, DropDuplicate, string(b[len(f.Name):]))
		return
	}
	t.series[h] = struct{}{}
	t.writeLine(b, v)
}

// writeLine writes a sample line: b, the series, then the value.
func (t *Writer) writeLine(b []byte, v float64) {
	b = append(b, ' ')
	b = appendFloat(b, v)
	b = append(b, '\n')
	if t.err == nil {
		_, t.err = t.w.Write(b)
	}
	t.line = b
}

// start begins f's samples, unless they are begun: the other families
// before it, then its header.
func (t *Writer) start(f *Family) {
	if f == t.current {
		return
	}
	clear(t.series)
	t.writeOthers(f.Name)
	header := f.textHeader
	if t.format.openMetrics {
		header = f.omHeader
	}
	if t.err == nil {
		_, t.err = t.w.WriteString(header)
	}
	t.current = f
}

// Labels are the label values of a series, rendered once for a family's
// label names ({name="value",...}, cleaned by the limits, escaped) and
// written as they are by SampleLabels, page after page: a connector whose
// record did not change keeps its rendered labels.
type Labels struct {
	text  string
	hash  uint64
	names string
	// truncated and stripped are the values the limits cut or cleaned.
	truncated, stripped int
}

// RenderLabels renders labelValues, in the order of the names, as Sample
// would write them under limits.
func RenderLabels(f *LabelNames, limits Limits, labelValues ...string) Labels {
	if len(labelValues) != len(f.order) {
		return Labels{names: "(wrong number of values)"}
	}
	r := Writer{limits: limits}
	b := r.appendLabels(make([]byte, 0, 64), f, labelValues)
	return Labels{text: string(b), hash: maphash.Bytes(seriesSeed, b), names: f.names, truncated: r.truncated, stripped: r.stripped}
}

// Kept reports whether every value was written as given, neither cleaned
// nor cut.
func (l Labels) Kept() bool { return l.truncated == 0 && l.stripped == 0 && l.names != "" }

// appendLabels appends {name="value",...} to b, the values escaped and
// cleaned, in the order of the names.
func (t *Writer) appendLabels(b []byte, f *LabelNames, labelValues []string) []byte {
	for i, li := range f.order {
		b = append(b, f.keys[i]...)
		b = append(b, t.escape(li, labelValues[li])...)
		b = append(b, '"')
	}
	if len(f.order) > 0 {
		b = append(b, '}')
	}
	return b
}

// SampleLabels writes one sample of f with labels RenderLabels rendered
// for a family of the same label names.
func (t *Writer) SampleLabels(f *Family, v float64, l Labels) {
	if t.err != nil || !t.filter.Wants(f.Name) {
		return
	}
	if l.names != f.names {
		t.drop(f, DropLabelCount, "labels rendered for "+l.names)
		return
	}
	t.start(f)
	if _, dup := t.series[l.hash]; dup {
		t.drop(f, DropDuplicate, l.text)
		return
	}
	t.series[l.hash] = struct{}{}
	t.truncated += l.truncated
	t.stripped += l.stripped
	t.writeLine(append(append(t.line[:0], f.Name...), l.text...), v)
}

// seriesSeed keys the hashes of series, the same for every page so that
// rendered Labels keep theirs.
var seriesSeed = maphash.MakeSeed()

// writeOthers writes the other families that sort before name.
func (t *Writer) writeOthers(name string) {
	for len(t.others) > 0 && t.others[0].GetName() < name && t.err == nil {
		if t.format.openMetrics {
			_, t.err = expfmt.MetricFamilyToOpenMetrics(t.w, t.others[0])
		} else {
			_, t.err = expfmt.MetricFamilyToText(t.w, t.others[0])
		}
		t.others = t.others[1:]
	}
}

// drop counts a sample of f left off the page.
func (t *Writer) drop(f *Family, reason, series string) {
	for i := range t.dropped {
		if d := &t.dropped[i]; d.Family == f.Name && d.Reason == reason {
			d.N++
			return
		}
	}
	t.dropped = append(t.dropped, Dropped{Family: f.Name, Reason: reason, Series: series, N: 1})
}

// Dropped reports the samples left off the page so far, by family and
// reason, in the order first met.
func (t *Writer) Dropped() []Dropped { return t.dropped }

// Close writes the remaining other families, the OpenMetrics # EOF, and
// flushes the page.
func (t *Writer) Close() error {
	t.writeOthers("\U0010FFFF")
	if t.err == nil && t.format.openMetrics {
		_, t.err = expfmt.FinalizeOpenMetrics(t.w)
	}
	if t.err == nil {
		t.err = t.w.Flush()
	}
	return t.err
}

// Cleaned reports how many label values were cut to the length limit and
// how many had control characters removed.
func (t *Writer) Cleaned() (truncated, stripped int) { return t.truncated, t.stripped }

// escape returns the label value at position i made safe for a page.
func (t *Writer) escape(i int, s string) string {
	if i < maxCachedLabels && t.escaped[i].raw == s {
		return t.escaped[i].esc
	}
	if plain(s) && (t.limits.MaxLabelValueLength <= 0 || len(s) <= t.limits.MaxLabelValueLength) {
		return s // nearly every value: nothing to clean, escape or cache
	}
	esc := t.clean(s)
	if strings.ContainsAny(esc, "\\\"\n") {
		esc = omEscaper.Replace(esc)
	}
	if i < maxCachedLabels {
		t.escaped[i].raw, t.escaped[i].esc = s, esc
	}
	return esc
}

// clean makes s valid UTF-8 (Prometheus rejects a whole page for one
// invalid label value) and applies the limits.
func (t *Writer) clean(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if hasControl(s) {
		if clean := strings.Map(stripControl, s); clean != s {
			s = clean
			t.stripped++
		}
	}
	if max := t.limits.MaxLabelValueLength; max > 0 && len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
		t.truncated++
	}
	return s
}

// plain reports whether s is printable ASCII without a quote or a
// backslash: a value the page can carry as it is. One pass, for the common
// case; the rest take the slower path.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// hasControl is a quick scan for what Control may find: ASCII control
// bytes, the lead byte of the C1 controls (U+0080 to U+009F), and the lead
// byte of the U+2000 block that holds the bidirectional controls.
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == 0xc2 || c == 0xe2 {
			return true
		}
	}
	return false
}

// Control reports whether r is a character label values are cleaned of,
// and the log escapes: a control character, or a bidirectional formatting
// character, which makes text read differently from what it holds (U+202E
// reverses the text after it).
func Control(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) ||
		r == 0x200e || r == 0x200f || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
}

// stripControl drops the Control characters; tabs and line breaks become
// spaces.
func stripControl(r rune) rune {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return ' '
	case Control(r):
		return -1
	}
	return r
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

// Filter is the set of family names a scraper asked for with name[]; an
// empty Filter wants every family.
type Filter map[string]bool

// FilterFrom reads the name[] parameters of a request.
func FilterFrom(r *http.Request) Filter {
	names := r.URL.Query()["name[]"]
	if len(names) == 0 {
		return nil
	}
	f := make(Filter, len(names))
	for _, n := range names {
		f[n] = true
	}
	return f
}

// Wants reports whether the family named name is on the page.
func (f Filter) Wants(name string) bool { return len(f) == 0 || f[name] }
