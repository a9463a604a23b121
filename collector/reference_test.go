package collector

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/exposition"
)

// The metrics reference is generated from the declarations, between these
// markers of docs/metrics.md; the prose around them is written by hand.
const (
	referenceFile  = "../docs/metrics.md"
	referenceBegin = "<!-- BEGIN GENERATED METRICS -->\n"
	referenceEnd   = "<!-- END GENERATED METRICS -->\n"
)

// renderReference writes the metrics tables, one per source, in the order
// of sources, each family in name order.
func renderReference(refs []Reference) string {
	var b strings.Builder
	b.WriteString("\n<!-- Generated from the Family declarations in collector/ by\n     go test ./collector -run TestMetricsReference -update\n     Do not edit by hand. -->\n")
	for _, source := range Sources {
		fmt.Fprintf(&b, "\n### From the %s\n\n| Metric | Type | Labels | Meaning |\n|---|---|---|---|\n", source)
		for _, r := range refs {
			if r.Source != source {
				continue
			}
			labels := "-"
			if len(r.Labels) > 0 {
				labels = strings.Join(r.Labels, ", ")
			}
			meaning := r.Help
			if r.Doc != "" {
				meaning += " " + r.Doc
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", r.Name, r.Type, labels, strings.ReplaceAll(meaning, "|", `\|`))
		}
	}
	b.WriteString("\n")
	return b.String()
}

// spliceReference puts tables between the markers of doc.
func spliceReference(t *testing.T, doc, tables string) string {
	t.Helper()
	begin, end := strings.Index(doc, referenceBegin), strings.Index(doc, referenceEnd)
	if begin < 0 || end < begin {
		t.Fatalf("%s lacks the markers %q and %q", referenceFile, referenceBegin, referenceEnd)
	}
	return doc[:begin+len(referenceBegin)] + tables + doc[end:]
}

// TestMetricsReference keeps docs/metrics.md true to the declarations:
// run with -update to regenerate it.
func TestMetricsReference(t *testing.T) {
	doc, err := os.ReadFile(referenceFile)
	if err != nil {
		t.Fatal(err)
	}
	want := spliceReference(t, string(doc), renderReference(References()))
	if *update {
		if err := os.WriteFile(referenceFile, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if string(doc) != want {
		t.Errorf("%s is out of date with the metric declarations: run go test ./collector -run TestMetricsReference -update", referenceFile)
	}
}

// TestHelpIsOneShortSentence holds every declaration to the HELP rule:
// one sentence of at most about 100 characters; the detail goes to Doc.
func TestHelpIsOneShortSentence(t *testing.T) {
	for _, r := range References() {
		if len(r.Help) > 100 {
			t.Errorf("%s: HELP is %d characters, more than 100: move the detail to Doc", r.Name, len(r.Help))
		}
		if !strings.HasSuffix(r.Help, ".") || strings.Contains(strings.TrimSuffix(r.Help, "."), ". ") {
			t.Errorf("%s: HELP is not one sentence: %q", r.Name, r.Help)
		}
		if !slices.Contains(Sources, r.Source) {
			t.Errorf("%s: source %q is not in Sources, so not in the reference", r.Name, r.Source)
		}
	}
}

// TestNewMetricIsOneDeclaration shows what adding a metric takes: one
// Family, bound to the rows it reads. It then appears in both page formats
// and in the generated reference, with nothing else changed.
func TestNewMetricIsOneDeclaration(t *testing.T) {
	e := newStack(t, 0).exp
	extra := bind(SourceConnectors, func(p *page) []connectorRow { return p.connectors },
		&Family[connectorRow]{
			Name: namespace + "_connector_notes_bytes", Help: "Length of the connector's notes, in bytes.",
			Type: exposition.Gauge, Labels: connectorLabels,
			Samples: func(s Sampler, c *connectorRow) { s.Add(float64(len(c.Notes)), c.account, c.ID) },
		})
	e.families = append(e.families, extra...)
	sortRenderers(e.families)

	for _, format := range []exposition.Format{exposition.Text, exposition.OpenMetrics} {
		var buf bytes.Buffer
		w := exposition.NewWriter(&buf, format, nil, nil)
		e.Scrape(context.Background(), nil).Write(w)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		page := buf.String()
		for _, want := range []string{
			"# TYPE cloudflare_magic_connector_notes_bytes gauge\n",
			`cloudflare_magic_connector_notes_bytes{account_id="`,
		} {
			if !strings.Contains(page, want) {
				t.Errorf("OpenMetrics %v: the page lacks %q", format.IsOpenMetrics(), want)
			}
		}
	}
	refs := References()
	refs = append(refs, extra[0].reference())
	if !strings.Contains(renderReference(refs), "| `cloudflare_magic_connector_notes_bytes` | gauge | account_id, connector_id | Length of the connector's notes, in bytes. |") {
		t.Error("the generated reference lacks the new metric")
	}
}
