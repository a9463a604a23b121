package collector

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
)

// textPage is what /metrics writes for the exporter's own families.
func textPage(t *testing.T, e *Exporter, only *api.Account) []byte {
	t.Helper()
	var b bytes.Buffer
	out := newTextSink(&b, nil)
	e.scrape(context.Background(), only).emit(out)
	if err := out.close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestTextPathEqualsCollector checks the text written for /metrics says
// exactly what the prometheus.Collector path does, series for series: the
// golden files and lint tests exercise the Collector path, this test ties
// the two together. The text is also parsed strictly by the text parser.
func TestTextPathEqualsCollector(t *testing.T) {
	withTelemetry := func() *Exporter {
		client := newFakeClient()
		clk := simulator.NewClock(testNow)
		e, tel := newTelemetryExporter(t, client, clk, nil)
		testutil.CollectAndCount(e) // tells telemetry the connectors
		refreshDue(tel)
		return e
	}
	partial := func() *Exporter {
		client := newFakeClient()
		client.errs[simulator.AccountRetail+"/connectors"] = errors.New("boom")
		labs := client.accounts[simulator.AccountLabs]
		labs.Connectors = slices.Clone(labs.Connectors)
		labs.Connectors[1].Timezone = "Mars/Olympus_Mons"
		labs.Connectors[0].Notes = "a \"quoted\", back\\slashed\nmulti-line note: é"
		client.accounts[simulator.AccountLabs] = labs
		return newTestExporter(t, client, nil)
	}
	for name, build := range map[string]func() *Exporter{
		"demo fleet":                          func() *Exporter { return newTestExporter(t, newFakeClient(), nil) },
		"partial failure, odd labels, errors": partial,
		"telemetry":                           withTelemetry,
	} {
		t.Run(name, func(t *testing.T) {
			e := build()
			page := textPage(t, e, nil)
			if len(page) == 0 {
				t.Fatal("empty page")
			}
			var names []string
			reg := prometheus.NewPedanticRegistry()
			reg.MustRegister(e)
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			for _, mf := range mfs {
				// Durations differ between the two scrapes.
				if mf.GetName() != "cloudflare_magic_scrape_duration_seconds" {
					names = append(names, mf.GetName())
				}
			}
			if len(names) < 10 {
				t.Fatalf("only %d families", len(names))
			}
			if err := testutil.CollectAndCompare(e, bytes.NewReader(page), names...); err != nil {
				t.Errorf("text path and Collector differ:\n%v", err)
			}
		})
	}
}

func TestTextPathProbe(t *testing.T) {
	e := newTestExporter(t, newFakeClient(), nil)
	page := string(textPage(t, e, &api.Account{ID: simulator.AccountLabs, Name: "Acme Labs"}))
	if strings.Contains(page, simulator.AccountRetail) || !strings.Contains(page, `account_name="Acme Labs"`) {
		t.Errorf("probe page:\n%s", page)
	}
}

func TestAcceptsGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"":                        false,
		"gzip":                    true,
		"GZIP":                    true,
		"deflate, gzip;q=1.0":     true,
		"gzip;q=0":                false,
		"gzip; q=0.0, identity":   false,
		"*":                       true,
		"identity, *;q=0":         false,
		"br;q=1.0, gzip;q=0.5, *": true,
		"gzip;q=0, *":             false,
		"*;q=0":                   false,
		"br, *;q=0.1":             true,
	} {
		if got := acceptsGzip(header); got != want {
			t.Errorf("acceptsGzip(%q) = %v", header, got)
		}
	}
}

func TestTextPathKeepsUTF8Valid(t *testing.T) {
	e := newTestExporter(t, newFakeClient(), nil)
	var b bytes.Buffer
	out := newTextSink(&b, nil)
	out.sample(e.appInfo, 1, simulator.AccountLabs, "id", "account", "bad \xff name", "")
	if err := out.close(); err != nil {
		t.Fatal(err)
	}
	if !utf8.Valid(b.Bytes()) || !strings.Contains(b.String(), "name=\"bad \uFFFD name\"") {
		t.Errorf("page:\n%q", b.String())
	}
}
