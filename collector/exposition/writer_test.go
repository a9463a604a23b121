package exposition

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/proto"
)

// sample is one sample of a test family.
type sample struct {
	v      float64
	labels []string
}

// page writes the samples of each family, in the order given, and returns
// the page.
func page(t *testing.T, format Format, filter Filter, others []*dto.MetricFamily, families []*Family, samples [][]sample) string {
	t.Helper()
	var b bytes.Buffer
	w := NewWriter(&b, format, filter, others)
	for i, f := range families {
		for _, s := range samples[i] {
			w.Sample(f, s.v, s.labels...)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// toDTO is what client_golang would gather for the same samples.
func toDTO(f *Family, samples []sample) *dto.MetricFamily {
	typ := dto.MetricType_GAUGE
	if f.Type == Counter {
		typ = dto.MetricType_COUNTER
	}
	mf := &dto.MetricFamily{Name: proto.String(f.Name), Help: proto.String(f.Help), Type: &typ}
	for _, s := range samples {
		m := &dto.Metric{}
		for i, l := range f.Labels {
			m.Label = append(m.Label, &dto.LabelPair{Name: proto.String(l), Value: proto.String(s.labels[i])})
		}
		// client_golang sorts a metric's labels by name.
		for i := 1; i < len(m.Label); i++ {
			for j := i; j > 0 && m.Label[j].GetName() < m.Label[j-1].GetName(); j-- {
				m.Label[j], m.Label[j-1] = m.Label[j-1], m.Label[j]
			}
		}
		if f.Type == Counter {
			m.Counter = &dto.Counter{Value: proto.Float64(s.v)}
		} else {
			m.Gauge = &dto.Gauge{Value: proto.Float64(s.v)}
		}
		mf.Metric = append(mf.Metric, m)
	}
	return mf
}

// TestTextMatchesExpfmt checks the writer says, byte for byte, what
// client_golang's text encoder says for the same families: escaping of
// HELP and label values, label order, float formatting.
func TestTextMatchesExpfmt(t *testing.T) {
	families := []*Family{
		NewFamily("a_info", "Attributes as labels; a \\ backslash,\na newline and \"quotes\".", Gauge, "zone", "account_id", "notes"),
		NewFamily("b_total", "A counter.", Counter, "endpoint", "code"),
		NewFamily("c_values", "Floats of every kind.", Gauge, "kind"),
		NewFamily("d_single", "No labels.", Gauge),
	}
	samples := [][]sample{
		{
			// No control characters: the writer turns them into spaces
			// (TestLabelValuesAreCleaned), client_golang escapes a newline.
			{1, []string{"Europe/London", "4e5c", "a \"quoted\", back\\slashed note: é"}},
			{1, []string{"", "9f8e", ""}},
		},
		{{3, []string{"apps", "200"}}, {0, []string{"apps", "429"}}, {1e21, []string{"connectors", "error"}}},
		{
			{0, []string{"zero"}}, {1, []string{"one"}}, {-1, []string{"minus one"}},
			{0.1, []string{"tenth"}}, {1.7955216e+09, []string{"timestamp"}}, {1795521600.123, []string{"fractional"}},
			{27.8, []string{"celsius"}}, {1e-7, []string{"tiny"}}, {math.MaxFloat64, []string{"max"}},
			{math.Inf(1), []string{"+inf"}}, {math.Inf(-1), []string{"-inf"}}, {math.NaN(), []string{"nan"}},
			{math.Copysign(0, -1), []string{"negative zero"}},
		},
		{{42, nil}},
	}
	got := page(t, Text, nil, nil, families, samples)
	var want strings.Builder
	for i, f := range families {
		if _, err := expfmt.MetricFamilyToText(&want, toDTO(f, samples[i])); err != nil {
			t.Fatal(err)
		}
	}
	if got != want.String() {
		t.Errorf("writer and expfmt differ:\n--- writer\n%s\n--- expfmt\n%s", got, want.String())
	}
	// And the text parser reads it back.
	if _, err := textParser().TextToMetricFamilies(strings.NewReader(got)); err != nil {
		t.Errorf("the page does not parse: %v", err)
	}
}

// TestOthersInNameOrder: families gathered from a registry are written in
// their place among the declared ones, and name[] filters them too.
func TestOthersInNameOrder(t *testing.T) {
	b := NewFamily("b_gauge", "B.", Gauge)
	d := NewFamily("d_gauge", "D.", Gauge)
	other := func(name string) *dto.MetricFamily {
		return toDTO(NewFamily(name, "Other "+name+".", Gauge), []sample{{7, nil}})
	}
	others := []*dto.MetricFamily{other("e_other"), other("a_other"), other("c_other")}
	got := page(t, Text, nil, others, []*Family{b, d}, [][]sample{{{1, nil}}, {{2, nil}}})
	var names []string
	for _, l := range strings.Split(got, "\n") {
		if name, ok := strings.CutPrefix(l, "# TYPE "); ok {
			names = append(names, strings.Fields(name)[0])
		}
	}
	if strings.Join(names, " ") != "a_other b_gauge c_other d_gauge e_other" {
		t.Errorf("families in order %v:\n%s", names, got)
	}

	got = page(t, Text, Filter{"c_other": true, "d_gauge": true}, others, []*Family{b, d}, [][]sample{{{1, nil}}, {{2, nil}}})
	if strings.Contains(got, "a_other") || strings.Contains(got, "b_gauge") || strings.Contains(got, "e_other") ||
		!strings.Contains(got, "c_other 7") || !strings.Contains(got, "d_gauge 2") {
		t.Errorf("filtered page:\n%s", got)
	}
}

// TestOpenMetrics: a counter's family is named without _total, its samples
// keep it, and the page ends with # EOF.
func TestOpenMetrics(t *testing.T) {
	c := NewFamily("x_requests_total", "Requests with a \"quote\".", Counter, "code")
	g := NewFamily("y_up", "Up.", Gauge)
	got := page(t, OpenMetrics, nil, nil, []*Family{c, g}, [][]sample{{{3, []string{"200"}}}, {{1, nil}}})
	want := "# HELP x_requests Requests with a \\\"quote\\\".\n# TYPE x_requests counter\n" +
		"x_requests_total{code=\"200\"} 3\n# HELP y_up Up.\n# TYPE y_up gauge\ny_up 1\n# EOF\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestLabelValuesAreCleaned: invalid UTF-8 would make Prometheus reject the
// whole page; control characters are dropped and long values cut at a rune
// boundary.
func TestLabelValuesAreCleaned(t *testing.T) {
	f := NewFamily("app_info", "Apps.", Gauge, "name")
	var b bytes.Buffer
	w := NewWriter(&b, Text, nil, nil)
	w.SetLimits(Limits{MaxLabelValueLength: 8})
	w.Sample(f, 1, "bad \xff")
	w.Sample(f, 1, "tab\there\u202e")
	w.Sample(f, 1, "multi\nline")
	w.Sample(f, 1, "ééééé") // 10 bytes
	w.Sample(f, 1, "c1\u0085x")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	if !utf8.ValidString(got) {
		t.Fatalf("page is not valid UTF-8: %q", got)
	}
	for _, want := range []string{"app_info{name=\"bad \uFFFD\"} 1", `app_info{name="tab here"} 1`, `app_info{name="multi li"} 1`, `app_info{name="éééé"} 1`, `app_info{name="c1x"} 1`} {
		if !strings.Contains(got, want) {
			t.Errorf("page lacks %s:\n%s", want, got)
		}
	}
	if truncated, sanitized := w.Cleaned(); truncated != 2 || sanitized != 3 {
		t.Errorf("Cleaned() = %d, %d, want 2, 3", truncated, sanitized)
	}
}

// TestWrongLabelCount: a sample with the wrong number of label values is
// left out, the page stays whole, and Dropped says so.
func TestWrongLabelCount(t *testing.T) {
	f := NewFamily("a", "A.", Gauge, "x")
	var b bytes.Buffer
	w := NewWriter(&b, Text, nil, nil)
	w.Sample(f, 1, "one")
	w.Sample(f, 2)
	w.Sample(f, 3, "one", "two")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if b.String() != "# HELP a A.\n# TYPE a gauge\na{x=\"one\"} 1\n" {
		t.Errorf("page:\n%s", b.String())
	}
	if got, want := w.Dropped(), []Dropped{{Family: "a", Reason: DropLabelCount, Series: "0 values for 1 labels", N: 2}}; !slices.Equal(got, want) {
		t.Errorf("Dropped() = %+v, want %+v", got, want)
	}
}

// TestDuplicateSeriesWrittenOnce: two series that become equal once their
// label values are cleaned or cut are written once, and the second is
// counted; the same values in another family are another series.
func TestDuplicateSeriesWrittenOnce(t *testing.T) {
	f := NewFamily("app_info", "Apps.", Gauge, "id", "name")
	g := NewFamily("app_up", "Apps up.", Gauge, "id")
	var b bytes.Buffer
	w := NewWriter(&b, Text, nil, nil)
	w.SetLimits(Limits{MaxLabelValueLength: 4})
	w.Sample(f, 1, "a", "CRM")
	w.Sample(f, 1, "a", "CR\u202eM") // stripped: CRM
	w.Sample(f, 1, "b", "long-name") // cut: long
	w.Sample(f, 1, "b", "long-gone") // cut: long
	w.Sample(f, 1, "b", "lon")
	w.Sample(g, 1, "a")
	w.Sample(g, 2, "a")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := "# HELP app_info Apps.\n# TYPE app_info gauge\napp_info{id=\"a\",name=\"CRM\"} 1\napp_info{id=\"b\",name=\"long\"} 1\napp_info{id=\"b\",name=\"lon\"} 1\n" +
		"# HELP app_up Apps up.\n# TYPE app_up gauge\napp_up{id=\"a\"} 1\n"
	if b.String() != want {
		t.Errorf("page:\n%s\nwant\n%s", b.String(), want)
	}
	if got, want := w.Dropped(), []Dropped{
		{Family: "app_info", Reason: DropDuplicate, Series: `{id="a",name="CRM"}`, N: 2},
		{Family: "app_up", Reason: DropDuplicate, Series: `{id="a"}`, N: 1},
	}; !slices.Equal(got, want) {
		t.Errorf("Dropped() = %+v, want %+v", got, want)
	}
	if _, err := textParser().TextToMetricFamilies(strings.NewReader(b.String())); err != nil {
		t.Errorf("the page does not parse: %v", err)
	}
}

func TestNewFamilyRejectsProgrammingErrors(t *testing.T) {
	for name, build := range map[string]func(){
		"bad name":           func() { NewFamily("a-b", "", Gauge) },
		"counter sans total": func() { NewFamily("a", "", Counter) },
		"bad label":          func() { NewFamily("a", "", Gauge, "1x") },
		"repeated label":     func() { NewFamily("a", "", Gauge, "x", "x") },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			build()
		}()
	}
}

func textParser() *expfmt.TextParser {
	p := expfmt.NewTextParser(model.LegacyValidation)
	return &p
}
