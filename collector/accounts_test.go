package collector

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/exportertest"
)

// Account discovery and /probe through the whole stack. How the listing
// itself is kept (a failed listing keeps the last good one, pruning, the
// name lookup logged once) is tested in package poll.

func TestDiscoveryScrapesEveryAccount(t *testing.T) {
	fleet := simulator.BranchGroups(testNow, 57) // two pages of 50
	s := newStackWith(t, stackConfig{fleet: fleet, discover: true})
	s.sim.Deny(fleet[7].ID) // the token lacks Magic WAN Read there
	s.runAccounts(t)

	page := s.scrape(t, 0)
	if n := strings.Count(page, "cloudflare_magic_account_info{"); n != 57 {
		t.Errorf("%d account_info series, want 57", n)
	}
	for _, want := range []string{
		`cloudflare_magic_account_info{account_id="` + fleet[56].ID + `",account_name="Branch group 57"} 1`,
		`cloudflare_magic_up{account_id="",endpoint="accounts"} 1`,
		upLine(fleet[7].ID, "connectors", 0),
		upLine(fleet[7].ID, "apps", 0),
		upLine(fleet[8].ID, "connectors", 1),
	} {
		if !strings.Contains(page, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if n := strings.Count(page, `cloudflare_magic_up{`); n != 57*3+1 {
		t.Errorf("%d up series, want 3 per account and 1 for the listing", n)
	}
	if strings.Contains(page, `cloudflare_magic_scrape_duration_seconds{account_id="",endpoint="accounts"}`) {
		t.Error("the background listing has a scrape duration")
	}
	if !strings.Contains(page, `cloudflare_magic_last_success_timestamp_seconds{account_id="",endpoint="accounts"} `) {
		t.Error("no last success for the listing")
	}
	if calls := s.sim.Calls(simulator.EndpointAccounts); calls != 2 {
		t.Errorf("%d listing calls, want 2 pages", calls)
	}
}

// TestFailedFirstListing: before any listing succeeds there is nothing to
// scrape, and the page says why.
func TestFailedFirstListing(t *testing.T) {
	s := newStackWith(t, stackConfig{discover: true})
	s.sim.SetFault("", simulator.EndpointAccounts, simulator.Fault{Status: 403, Errors: []simulator.Message{{Code: 9109, Message: "Unauthorized to access requested resource"}}})
	s.runAccounts(t)
	page := s.scrape(t, 0)
	if !strings.Contains(page, `cloudflare_magic_up{account_id="",endpoint="accounts"} 0`) || strings.Contains(page, "account_info") {
		t.Errorf("page:\n%s", page)
	}
}

func TestProbe(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fixed     []string
		probeOnly bool
		query     string
		code      int
		want      string
	}{
		{"one account", nil, true, "?account=" + simulator.AccountLabs, 200, `cloudflare_magic_account_info{account_id="` + simulator.AccountLabs + `",account_name="Acme Labs"} 1`},
		{"upper-case ID", nil, true, "?account=" + strings.ToUpper(simulator.AccountLabs), 200, upLine(simulator.AccountLabs, "apps", 1)},
		{"allow-listed", []string{simulator.AccountLabs}, false, "?account=" + simulator.AccountLabs, 200, upLine(simulator.AccountLabs, "connectors", 1)},
		{"not allow-listed", []string{simulator.AccountLabs}, false, "?account=" + simulator.AccountRetail, 403, "not one of the exporter's --cloudflare.account-id"},
		{"not among the listed accounts", nil, true, "?account=0123456789abcdef0123456789abcdef", 403, "not among the accounts the exporter's credential can list"},
		{"missing", nil, true, "", 400, "missing parameter"},
		{"too short", nil, true, "?account=4e5c2a1b", 400, "32 hex characters"},
		{"not hex", nil, true, "?account=../../accounts/4e5c2a1b9d8f7e6a5b4c3d2e1f0a9b", 400, "32 hex characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStackWith(t, stackConfig{fixed: tc.fixed, discover: tc.fixed == nil, probeOnly: tc.probeOnly})
			s.runAccounts(t)
			callsBefore := s.sim.Calls(simulator.EndpointConnectors)
			code, page := s.get(t, "/probe"+tc.query)
			if code != tc.code || !strings.Contains(page, tc.want) {
				t.Errorf("answered %d %q, want %d with %q", code, page, tc.code, tc.want)
			}
			if tc.code != 200 {
				if n := s.sim.Calls(simulator.EndpointConnectors); n != callsBefore {
					t.Error("a refused probe reached the API")
				}
				return
			}
			if strings.Contains(page, simulator.AccountRetail) || strings.Contains(page, "cloudflare_magic_api_requests_total") {
				t.Error("the probe carries more than its account")
			}
		})
	}
}

func TestProbeOnlyMetricsPage(t *testing.T) {
	s := newStackWith(t, stackConfig{discover: true, probeOnly: true})
	s.runAccounts(t)
	page := s.scrape(t, 0)
	if strings.Contains(page, "cloudflare_magic_up{") || strings.Contains(page, "account_info") {
		t.Errorf("/metrics scrapes accounts in probe-only mode:\n%s", page)
	}
	if n := s.sim.Calls(simulator.EndpointConnectors); n != 0 {
		t.Errorf("%d connectors calls from /metrics", n)
	}
	if code, _ := s.get(t, "/probe?account="+simulator.AccountLabs); code != http.StatusOK {
		t.Errorf("probe answered %d", code)
	}
}

func TestFixedAccountsGetNames(t *testing.T) {
	s := newStackWith(t, stackConfig{fixed: []string{simulator.AccountRetail}})
	s.runAccounts(t)
	exportertest.Eventually(t, "the name lookup", 10*time.Second, func() bool { return s.accounts.Name(simulator.AccountRetail) != "" })
	page := s.scrape(t, 0)
	want := `cloudflare_magic_account_info{account_id="` + simulator.AccountRetail + `",account_name="Acme Retail"} 1`
	if !strings.Contains(page, want) || strings.Contains(page, simulator.AccountLabs) {
		t.Errorf("/metrics lacks %q or has the other account", want)
	}
	if strings.Contains(page, `cloudflare_magic_up{account_id="",endpoint="accounts"}`) {
		t.Error("a name lookup is reported as discovery")
	}

	// Without permission to list accounts, names are empty and nothing
	// else changes.
	s = newStackWith(t, stackConfig{fixed: []string{simulator.AccountRetail}})
	s.sim.SetFault("", simulator.EndpointAccounts, simulator.Fault{Status: 403, Errors: []simulator.Message{{Code: 9109, Message: "Unauthorized to access requested resource"}}})
	runUntilCleanup(t, s.accounts.Run)
	s.logs.Wait(t, "looking up account names failed", 10*time.Second)
	page = s.scrape(t, 0)
	for _, want := range []string{
		`cloudflare_magic_account_info{account_id="` + simulator.AccountRetail + `",account_name=""} 1`,
		upLine(simulator.AccountRetail, "connectors", 1),
	} {
		if !strings.Contains(page, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
