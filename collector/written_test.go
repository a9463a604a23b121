package collector

import (
	"strings"
	"testing"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/exposition"
)

// noLabelCountDrops fails the test if page, or the writer's record,
// shows a sample left off for a wrong number of label values: a
// declaration whose Samples does not match its Labels. Every page the
// tests write or scrape goes through it.
func noLabelCountDrops(t *testing.T, page string, dropped []exposition.Dropped) {
	t.Helper()
	for _, d := range dropped {
		if d.Reason == exposition.DropLabelCount {
			t.Errorf("%s: %d samples without one value per label, such as %s", d.Family, d.N, d.Series)
		}
	}
	if line := `cloudflare_magic_series_dropped_total{reason="label_count"} `; strings.Contains(page, line) && !strings.Contains(page, line+"0\n") {
		t.Errorf("the page counts samples without one value per label:\n%s", grep(page, "series_dropped_total"))
	}
}

// TestCleaningCountsItsOwnPage: label values cleaned and series that
// become equal once cleaned are counted on the very page they are
// cleaned on, through real HTTP; the duplicate is written once and
// logged.
func TestCleaningCountsItsOwnPage(t *testing.T) {
	fleet := []simulator.Account{{ID: simulator.AccountLabs, Apps: []simulator.App{
		{AccountAppID: "crm", Name: "CRM", Type: "SaaS"},
		// The same app once its ID is cleaned: the page can hold one.
		{AccountAppID: "crm\u202e", Name: "CRM", Type: "SaaS"},
	}}}
	s := newStackWith(t, stackConfig{fleet: fleet, fixed: []string{simulator.AccountLabs}, noSites: true})
	page := s.scrape(t, 0)
	for _, want := range []string{
		// The second app's ID, on this very page.
		"cloudflare_magic_label_values_stripped_total 1\n",
		`cloudflare_magic_series_dropped_total{reason="duplicate"} 1` + "\n",
		`cloudflare_magic_series_dropped_total{reason="label_count"} 0` + "\n",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the first page lacks %q:\n%s", want, grep(page, "stripped|dropped_total"))
		}
	}
	if got := samples(page, "cloudflare_magic_app_info"); len(got) != 1 {
		t.Errorf("app_info written %d times, want once:\n%s", len(got), strings.Join(got, "\n"))
	}
	parse(t, page) // a series twice would fail
	logs := s.logs.String()
	if !strings.Contains(logs, `family=cloudflare_magic_app_info reason=duplicate series="{account_id=\"`+simulator.AccountLabs+`\",app_id=\"crm\"`) {
		t.Errorf("the duplicate is not logged:\n%s", logs)
	}
	// A second page counts its own cleaning on top; the log line is not
	// repeated within the minute.
	page = s.scrape(t, 0)
	if !strings.Contains(page, "cloudflare_magic_label_values_stripped_total 2\n") ||
		!strings.Contains(page, `cloudflare_magic_series_dropped_total{reason="duplicate"} 2`+"\n") {
		t.Errorf("the second page:\n%s", grep(page, "stripped|dropped_total"))
	}
	if n := strings.Count(s.logs.String(), "series left off the page"); n != 1 {
		t.Errorf("logged %d times in two pages, want once", n)
	}
}
