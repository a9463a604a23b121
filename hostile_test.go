// The exporter against a hostile Cloudflare API (issue 18): one test per
// attack, through the built binary against the simulated API, each
// asserting the bound or the signal the attack must meet, not only that
// the exporter survives. The figures are in docs/security.md.

package main

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
)

// hostileAPI serves accounts, as many as given, and returns the simulator,
// its URL and the environment of an exporter scraping them all by flag.
func hostileAPI(t *testing.T, accounts []simulator.Account, opts ...simulator.Option) (*simulator.Server, string, []string) {
	t.Helper()
	sim := simulator.NewServer(accounts, append([]simulator.Option{simulator.WithToken(simulator.DemoToken)}, opts...)...)
	ids := make([]string, len(accounts))
	for i, a := range accounts {
		ids[i] = a.ID
	}
	env := []string{"CLOUDFLARE_API_TOKEN=" + simulator.DemoToken, "CLOUDFLARE_ACCOUNT_ID=" + strings.Join(ids, ",")}
	return sim, sim.Start(t), env
}

// sampleValue returns the value of the series of page whose name and
// labels are exactly series (as `name{label="value"}`), and whether it is
// there.
func sampleValue(page, series string) (float64, bool) {
	v, ok := samples(page)[series]
	return v, ok
}

// samples reads every sample of a text page, by series.
func samples(page string) map[string]float64 {
	out := map[string]float64{}
	for _, line := range strings.Split(page, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		if i := strings.LastIndexByte(line, ' '); i > 0 {
			if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
				out[line[:i]] = v
			}
		}
	}
	return out
}

// peakRSS is the exporter's peak resident set (VmHWM), in MiB.
func (p *exporterProcess) peakRSS(t *testing.T) float64 {
	t.Helper()
	kb, err := procStatus(p.cmd.Process.Pid, "VmHWM")
	if err != nil {
		t.Fatal(err)
	}
	return float64(kb) / 1024
}

// endlessSpaces is an answer that opens its result and then sends
// whitespace for ever: valid JSON so far, whatever was read.
const endlessSpacesHead = `{"success":true,"errors":[],"messages":[],"result":[`

// TestHostileAnswersStayWithinMemory: five accounts at once, every one of
// their endpoints answering something that grows without end (whitespace,
// a gzip answer inflating a thousandfold, empty items, digits), scraped
// three times: the exporter's peak RSS stays under 128 MiB at default
// flags (before: 544 MiB, rising at every scrape), every such call fails
// with an error naming the limit, and is counted as code="error".
func TestHostileAnswersStayWithinMemory(t *testing.T) {
	accounts := make([]simulator.Account, 5)
	for i := range accounts {
		accounts[i] = simulator.Account{ID: fmt.Sprintf("%032x", 0xbad0+i), Name: fmt.Sprintf("Hostile %d", i)}
	}
	sim, apiURL, env := hostileAPI(t, accounts)
	for endpoint, f := range map[string]simulator.Fault{
		simulator.EndpointConnectors: {Body: endlessSpacesHead, Endless: " "},
		simulator.EndpointApps:       {Body: endlessSpacesHead, Endless: "\n\t  ", Gzip: true},
		simulator.EndpointSites:      {Body: endlessSpacesHead, Endless: "{},"},
		simulator.EndpointGraphQL:    {Body: `{"data":{"viewer":{"accounts":[{"tunnelHealth":[1`, Endless: "0"},
	} {
		sim.SetFault("", endpoint, f)
	}
	p := startExporter(t, env, "--cloudflare.api-url="+apiURL)
	start := time.Now()
	for scrape := range 3 {
		code, page := p.scrapeWithTimeout(t, 10)
		if code != http.StatusOK {
			t.Fatalf("scrape %d answered %d", scrape, code)
		}
		for _, a := range accounts {
			for _, endpoint := range []string{"connectors", "apps", "sites"} {
				series := `cloudflare_magic_up{account_id="` + a.ID + `",endpoint="` + endpoint + `"}`
				if v, ok := sampleValue(page, series); !ok || v != 0 {
					t.Errorf("scrape %d: %s = %v (present %v), want 0", scrape, series, v, ok)
				}
			}
		}
		t.Logf("scrape %d: peak RSS %.1f MiB", scrape, p.peakRSS(t))
	}
	took := time.Since(start)
	_, page := p.get(t, "/metrics")
	for _, endpoint := range []string{"connectors", "apps", "sites"} {
		series := `cloudflare_magic_api_requests_total{code="error",endpoint="` + endpoint + `"}`
		if v, _ := sampleValue(page, series); v < 3*5 {
			t.Errorf("%s = %v, want at least 15 (3 scrapes of 5 accounts)", series, v)
		}
	}
	logs := p.logs.String()
	if !strings.Contains(logs, "--cloudflare.max-response-bytes") {
		t.Errorf("the log never names the limit:\n%.3000s", logs)
	}
	assertNoSecret(t, "log", logs)
	peak := p.peakRSS(t)
	t.Logf("3 scrapes of 5 hostile accounts took %s; peak RSS %.1f MiB", took.Round(time.Millisecond), peak)
	if peak > 128 {
		t.Errorf("peak RSS %.1f MiB, want under 128 MiB", peak)
	}
}

// TestBodyMustEndWithItsJSON: an answer whose JSON is complete but whose
// body ends before its Content-Length (the rest lost on the way), or goes
// on after the JSON value, is a failed call: up 0, counted as
// code="error", and none of the connectors it seemed to list exported.
// Before, the first was up 1 with zero connectors.
func TestBodyMustEndWithItsJSON(t *testing.T) {
	sim, apiURL := startSimulatedAPI(t)
	complete := `{"success":true,"errors":[],"messages":[],"result":[]}`
	sim.SetFault(simulator.AccountRetail, simulator.EndpointConnectors,
		simulator.Fault{Body: complete + strings.Repeat(" ", 64) + `,{"id":"lost"}]}`, CutAfter: len(complete)})
	sim.SetFault(simulator.AccountLabs, simulator.EndpointConnectors,
		simulator.Fault{Body: complete + `{"success":true,"errors":[],"result":[{"id":"after"}]}`})
	p := startExporter(t, tokenEnv(apiURL), "--cloudflare.api-url="+apiURL, "--no-collector.edge")
	_, page := p.get(t, "/metrics")
	for _, account := range []string{simulator.AccountRetail, simulator.AccountLabs} {
		if v, ok := sampleValue(page, `cloudflare_magic_up{account_id="`+account+`",endpoint="connectors"}`); !ok || v != 0 {
			t.Errorf("account %s: connectors up %v (present %v), want 0", account, v, ok)
		}
		if v, ok := sampleValue(page, `cloudflare_magic_up{account_id="`+account+`",endpoint="apps"}`); !ok || v != 1 {
			t.Errorf("account %s: apps up %v, want 1: one endpoint's failure is its own", account, v)
		}
	}
	// The cut body is retried once, as any body the network cut short.
	if v, _ := sampleValue(page, `cloudflare_magic_api_requests_total{code="error",endpoint="connectors"}`); v != 3 {
		t.Errorf(`api_requests_total{code="error",endpoint="connectors"} = %v, want 3 (the cut body twice, the long one once)`, v)
	}
	if strings.Contains(page, `cloudflare_magic_connector_info{account_id="`+simulator.AccountLabs) {
		t.Error("a connector of the answer with bytes after its JSON is exported")
	}
	logs := p.logs.String()
	assertNoSecret(t, "log", logs)
	assertNoSecret(t, "/metrics", page)
	for _, want := range []string{"read response body: unexpected EOF", "response body holds more after its JSON value"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log does not say %q", want)
		}
	}
}

// TestBrokenAccountPaging: account discovery against a listing whose
// cursor repeats forever, and one that announces a page more at every
// page, each with new accounts. Before, 230 listing calls in 9 s, none
// spent from the budget, nothing detected. Now the listing stops at the
// page that shows it, says why, and up{endpoint="accounts"} is 0.
func TestBrokenAccountPaging(t *testing.T) {
	for _, tc := range []struct {
		name   string
		paging simulator.AccountPaging
		calls  float64
		want   string
	}{
		{"cursor repeats", simulator.PagingRepeat, 2, "every account of the page was listed before: a cursor that repeats, listing stopped"},
		{"pages without end", simulator.PagingEndless, 3, "the page count grew from 2 to 4 while the pages were read: listing stopped"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim, apiURL, _ := hostileAPI(t, simulator.ManyAccounts(time.Now(), 60))
			sim.SetAccountPaging(tc.paging)
			p := startExporter(t, []string{"CLOUDFLARE_API_TOKEN=" + simulator.DemoToken}, "--cloudflare.api-url="+apiURL, "--no-collector.edge")
			_, page := p.get(t, "/metrics")
			if v, ok := sampleValue(page, `cloudflare_magic_up{account_id="",endpoint="accounts"}`); !ok || v != 0 {
				t.Errorf(`up{endpoint="accounts"} = %v (present %v), want 0`, v, ok)
			}
			if v, _ := sampleValue(page, `cloudflare_magic_api_requests_total{code="200",endpoint="accounts"}`); v != tc.calls {
				t.Errorf("%v listing calls, want %v", v, tc.calls)
			}
			if strings.Contains(page, "cloudflare_magic_account_info{") {
				t.Error("accounts of the broken listing are scraped")
			}
			if line := logLine(p.logs.String(), "listing accounts failed"); !strings.Contains(line, tc.want) {
				t.Errorf("log line %q does not say %q", line, tc.want)
			}
		})
	}
}

// TestMoreAccountsThanTheBudget: a credential that sees 2,500 accounts, at
// default flags (the 10,000 list 200 pages, which the budget
// spreads over two minutes; 2,500 are listed within its first 30 s). The
// listing spends the budget; the log says at start that the budget cannot
// serve every account at every scrape, with the advice to shard, and so
// does cloudflare_magic_api_budget_round_seconds; a scrape serves whole
// accounts within the budget and the last answers (none yet) for the
// others; scrape after scrape, the log holds a line per failure, not per
// account. Before: 200 listing calls outside the guard, 18.4 MB of log in
// 50 s, nothing said.
func TestMoreAccountsThanTheBudget(t *testing.T) {
	const n = 2500
	sim, apiURL, _ := hostileAPI(t, simulator.ManyAccounts(time.Now(), n))
	start := time.Now()
	p := startExporter(t, []string{"CLOUDFLARE_API_TOKEN=" + simulator.DemoToken}, "--cloudflare.api-url="+apiURL, "--no-collector.edge")
	ready := time.Since(start)
	said := logLine(p.logs.String(), "the API budget cannot call every account at every scrape")
	for _, want := range []string{"accounts=2500", "calls_per_scrape=7500", "budget_calls_per_30s=60", "docs/sharding.md"} {
		if !strings.Contains(said, want) {
			t.Errorf("start line %q lacks %q", said, want)
		}
	}
	var page string
	var firstScrape time.Duration
	for i := range 5 {
		s := time.Now()
		_, page = p.get(t, "/metrics")
		if i == 0 {
			firstScrape = time.Since(s)
		}
	}
	if v, _ := sampleValue(page, `cloudflare_magic_api_budget_round_seconds{api="rest"}`); v != n*3*30/60 {
		t.Errorf("round %v s, want %d (7,500 calls at 60 per 30 s)", v, n*3*30/60)
	}
	listing, _ := sampleValue(page, `cloudflare_magic_api_requests_total{code="200",endpoint="accounts"}`)
	calls := 0.0
	for _, endpoint := range []string{"connectors", "apps", "sites"} {
		v, _ := sampleValue(page, `cloudflare_magic_api_requests_total{code="200",endpoint="`+endpoint+`"}`)
		calls += v
	}
	if listing != n/50 || listing+calls > 60 {
		t.Errorf("%v listing calls and %v list calls, want %d and at most 60 in all (the budget's 30 s)", listing, calls, n/50)
	}
	if sim.Calls(simulator.EndpointAccounts) != n/50 {
		t.Errorf("the simulator saw %d listing calls", sim.Calls(simulator.EndpointAccounts))
	}
	// Whole accounts are served: every endpoint of an account up, or none.
	served, values := 0, samples(page)
	for i := range n {
		id := fmt.Sprintf("acc0%028x", i)
		up := 0.0
		for _, endpoint := range []string{"connectors", "apps", "sites"} {
			up += values[`cloudflare_magic_up{account_id="`+id+`",endpoint="`+endpoint+`"}`]
		}
		switch up {
		case 3:
			served++
		case 0:
		default:
			t.Errorf("account %s served in part: %v endpoints up", id, up)
		}
	}
	if served == 0 || float64(served*3) != calls {
		t.Errorf("%d accounts served whole, for %v calls", served, calls)
	}
	logs := p.logs.String()
	assertNoSecret(t, "log", logs)
	if lines := strings.Count(logs, "\n"); lines > 20 || len(logs) > 16<<10 {
		t.Errorf("%d lines, %d bytes of log after 5 scrapes of %d accounts:\n%.3000s", lines, len(logs), n, logs)
	}
	t.Logf("%d accounts: ready after %s, first scrape %s, page %d bytes, %d accounts served, log %d bytes after 5 scrapes",
		n, ready.Round(time.Millisecond), firstScrape.Round(time.Millisecond), len(page), served, len(logs))
}

// TestTimestampsOutOfRange: heartbeats the exporter cannot represent or
// older than Cloudflare (before: exported as -4.85e9, -9.22e9 and +9.22e9
// through a 64-bit nanosecond overflow, nothing logged) are dropped,
// counted and logged once; a heartbeat a day ahead of the exporter's clock
// (before: age 0, silently) is counted and shown.
func TestTimestampsOutOfRange(t *testing.T) {
	account := simulator.ManyAccounts(time.Now(), 1)[0]
	template := account.Connectors[0]
	template.HeartbeatEvery = 0
	heartbeats := map[string]string{
		"c0ffee00000000000000000000009999": "9999-12-31T23:59:59Z",
		"c0ffee00000000000000000000002262": "2262-04-12T00:00:00Z",
		"c0ffee00000000000000000000001677": "1677-09-20T00:00:00Z",
		"c0ffee000000000000000000000ahead": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339),
	}
	account.Connectors = nil
	for id, hb := range heartbeats {
		c := template
		c.ID, c.LastHeartbeat = id, hb
		account.Connectors = append(account.Connectors, c)
	}
	_, apiURL, env := hostileAPI(t, []simulator.Account{account})
	p := startExporter(t, env, "--cloudflare.api-url="+apiURL, "--no-collector.edge")
	var values map[string]float64
	for range 3 {
		_, page := p.get(t, "/metrics")
		values = samples(page)
	}
	labels := func(id string) string { return `{account_id="` + account.ID + `",connector_id="` + id + `"}` }
	for id, hb := range heartbeats {
		_, exported := values["cloudflare_magic_connector_last_heartbeat_timestamp_seconds"+labels(id)]
		errs := values["cloudflare_magic_connector_config_errors_total"+labels(id)]
		invalid := !strings.HasSuffix(id, "ahead")
		if exported == invalid || errs != map[bool]float64{true: 1}[invalid] {
			t.Errorf("heartbeat %s: exported %v, config errors %v; want exported %v", hb, exported, errs, !invalid)
		}
	}
	if n := strings.Count(p.logs.String(), "invalid last_heartbeat (not an RFC 3339 time between 2009 and 2262), treated as absent"); n != 3 {
		t.Errorf("%d log lines for 3 invalid heartbeats over 3 scrapes, want 3 (once each):\n%s", n, p.logs.String())
	}
	skewed := values[`cloudflare_magic_clock_skew_connectors{account_id="`+account.ID+`"}`]
	lead := values[`cloudflare_magic_clock_skew_max_seconds{account_id="`+account.ID+`"}`]
	if skewed != 1 || lead < 86000 || lead > 86400 {
		t.Errorf("clock skew: %v connectors, %v s; want 1 and a day", skewed, lead)
	}
	if age := values["cloudflare_magic_connector_heartbeat_age_seconds"+labels("c0ffee000000000000000000000ahead")]; age != 0 {
		t.Errorf("age of the heartbeat ahead: %v", age)
	}
}
