package collector

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/exposition"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/poll"
)

func TestCredentialReloadErrorsAreCounted(t *testing.T) {
	m := NewAPIMetrics(nil)
	e := offlineExporter(t)
	family := namespace + "_credential_reload_errors_total"
	page := func() string {
		p := e.newPage(&poll.Result{})
		m.addTo(p)
		return writePage(t, &Page{e: e, p: p}, exposition.Filter{family: true})
	}

	// Present from the start, so that increase() sees the first failure.
	if got := page(); !strings.Contains(got, "# TYPE "+family+" counter\n"+family+" 0\n") {
		t.Errorf("page before any failure:\n%s", got)
	}
	m.CredentialError(errors.New("API token in /etc/token is empty"))
	m.CredentialError(errors.New("read API token file: stat /etc/token: no such file or directory"))
	got := page()
	if want := []string{family + " 2"}; !slices.Equal(samples(got, family), want) {
		t.Errorf("samples %q, want %q", samples(got, family), want)
	}
	lint(t, got)
}

// TestCutBodyIsCountedAsAnError: a 200 whose body was cut short is not a
// successful request.
func TestCutBodyIsCountedAsAnError(t *testing.T) {
	s := newStack(t, 0)
	body := `{"success":true,"errors":[],"result":[{"id":"c0ffee00000000000000000000000001","notes":"x"}]}`
	s.sim.SetFault("", simulator.EndpointConnectors, simulator.Fault{Body: body, CutAfter: 40})
	got := s.scrape(t, 10)
	family := namespace + "_api_requests_total"
	for _, l := range samples(got, family) {
		if strings.Contains(l, `endpoint="connectors"`) && !strings.HasPrefix(l, family+`{code="error",endpoint="connectors"} `) {
			t.Errorf("cut body counted as %s", l)
		}
	}
	if !slices.Contains(samples(got, family), family+`{code="error",endpoint="connectors"} 4`) {
		t.Errorf("no cut body counted as an error (two accounts, each tried twice):\n%s", strings.Join(samples(got, family), "\n"))
	}
}
