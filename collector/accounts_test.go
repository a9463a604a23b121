package collector

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
)

// discoveryStack is the exporter discovering accounts from the simulated
// API over HTTP, served on /metrics and /probe.
type discoveryStack struct {
	sim      *simulator.Server
	accounts *Accounts
	exp      *Exporter
	srv      *httptest.Server
	logs     *bytes.Buffer
}

func newDiscoveryStack(t *testing.T, fleet []simulator.Account, fixed []string, probeOnly bool) *discoveryStack {
	t.Helper()
	sim := simulator.NewServer(fleet, simulator.WithToken(simulator.DemoToken))
	client, err := api.New(api.Config{BaseURL: sim.Start(t), Auth: mustToken(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.CloseIdleConnections)
	logs := &bytes.Buffer{}
	logger := log.NewLogfmtLogger(log.NewSyncWriter(logs))
	accounts := NewAccounts(AccountsConfig{Client: client, Fixed: fixed, Refresh: time.Hour, Timeout: 5 * time.Second, Logger: logger})
	exp, err := New(Config{Client: client, Accounts: accounts, AccountConcurrency: 3, ProbeOnly: probeOnly,
		Timeout: 5 * time.Second, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	opts := HandlerOpts{Timeout: 5 * time.Second, Logger: logger}
	mux.Handle("/metrics", NewHandler(exp, prometheus.NewRegistry(), opts))
	mux.Handle("/probe", NewProbeHandler(exp, opts))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &discoveryStack{sim: sim, accounts: accounts, exp: exp, srv: srv, logs: logs}
}

func (d *discoveryStack) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(d.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// manyAccounts is a fleet of n accounts of one connector each.
func manyAccounts(n int) []simulator.Account {
	demo := simulator.DemoFleet(testNow)[1]
	out := make([]simulator.Account, n)
	for i := range out {
		out[i] = simulator.Account{ID: fmt.Sprintf("%032x", i+1), Name: fmt.Sprintf("Branch group %d", i+1),
			Connectors: demo.Connectors[:1], Apps: demo.Apps}
	}
	return out
}

func TestDiscoveryScrapesEveryAccount(t *testing.T) {
	fleet := manyAccounts(57) // two pages of 50
	d := newDiscoveryStack(t, fleet, nil, false)
	d.sim.Deny(fleet[7].ID) // the token lacks Magic WAN Read there
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.accounts.Run(ctx)

	code, page := d.get(t, "/metrics") // waits for the first listing
	if code != 200 {
		t.Fatalf("/metrics answered %d", code)
	}
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
	if n := strings.Count(page, `cloudflare_magic_up{`); n != 57*2+1 {
		t.Errorf("%d up series, want 2 per account and 1 for the listing", n)
	}
	if calls := d.sim.Calls(simulator.EndpointAccounts); calls != 2 {
		t.Errorf("%d listing calls, want 2 pages", calls)
	}

	// A failed listing keeps the accounts of the last good one.
	d.sim.SetFault("", simulator.EndpointAccounts, simulator.Fault{Status: 500, Body: "oops", ContentType: "text/plain"})
	if err := d.accounts.refresh(context.Background()); err == nil {
		t.Fatal("refresh did not fail")
	}
	_, page = d.get(t, "/metrics")
	if n := strings.Count(page, "cloudflare_magic_account_info{"); n != 57 {
		t.Errorf("after a failed listing: %d accounts, want the 57 of the last good one", n)
	}
	if !strings.Contains(page, `cloudflare_magic_up{account_id="",endpoint="accounts"} 0`) {
		t.Error("the failed listing does not show")
	}
	if !strings.Contains(d.logs.String(), `msg="listing accounts failed; scraping the accounts of the last good listing" accounts=57`) {
		t.Errorf("log:\n%s", d.logs.String())
	}
}

func TestAccountConcurrencyIsBounded(t *testing.T) {
	client := newFakeClient()
	var mu sync.Mutex
	inFlight, peak := map[string]int{}, 0
	accountsNow := func() int {
		n := 0
		for _, c := range inFlight {
			if c > 0 {
				n++
			}
		}
		return n
	}
	ids := make([]string, 9)
	for i := range ids {
		ids[i] = fmt.Sprintf("%032x", i+1)
		client.accounts[ids[i]] = client.accounts[simulator.AccountLabs]
	}
	client.wait = func(ctx context.Context) error { return nil }
	wrapped := &trackingClient{fakeClient: client, enter: func(account string) {
		mu.Lock()
		inFlight[account]++
		peak = max(peak, accountsNow())
		mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}, leave: func(account string) {
		mu.Lock()
		inFlight[account]--
		mu.Unlock()
	}}
	e, err := New(Config{Client: wrapped, Accounts: FixedAccounts(ids...), AccountConcurrency: 3, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(e, "cloudflare_magic_up"); n != 18 {
		t.Fatalf("%d up series, want 18", n)
	}
	if peak > 3 || peak < 2 {
		t.Errorf("%d accounts called at once, want at most 3 (and more than 1)", peak)
	}
}

// trackingClient reports when calls for an account start and end.
type trackingClient struct {
	*fakeClient
	enter, leave func(account string)
}

func (c *trackingClient) ListConnectors(ctx context.Context, account string) ([]api.Connector, error) {
	c.enter(account)
	defer c.leave(account)
	return c.fakeClient.ListConnectors(ctx, account)
}

func (c *trackingClient) ListApps(ctx context.Context, account string) ([]api.App, error) {
	c.enter(account)
	defer c.leave(account)
	return c.fakeClient.ListApps(ctx, account)
}

func TestProbe(t *testing.T) {
	fleet := simulator.DemoFleet(testNow)
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
			d := newDiscoveryStack(t, fleet, tc.fixed, tc.probeOnly)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go d.accounts.Run(ctx)
			for !d.accounts.Ready() {
				time.Sleep(5 * time.Millisecond)
			}
			callsBefore := d.sim.Calls(simulator.EndpointConnectors)
			code, page := d.get(t, "/probe"+tc.query)
			if code != tc.code || !strings.Contains(page, tc.want) {
				t.Errorf("answered %d %q, want %d with %q", code, page, tc.code, tc.want)
			}
			if tc.code != 200 {
				if n := d.sim.Calls(simulator.EndpointConnectors); n != callsBefore {
					t.Error("a refused probe reached the API")
				}
				return
			}
			if strings.Contains(page, simulator.AccountRetail) || strings.Contains(page, "go_goroutines") {
				t.Error("the probe carries more than its account")
			}
		})
	}
}

func TestProbeOnlyMetricsPage(t *testing.T) {
	d := newDiscoveryStack(t, simulator.DemoFleet(testNow), nil, true)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.accounts.Run(ctx)
	_, page := d.get(t, "/metrics")
	if strings.Contains(page, "cloudflare_magic_up{") || strings.Contains(page, "account_info") {
		t.Errorf("/metrics scrapes accounts in probe-only mode:\n%s", page)
	}
	if n := d.sim.Calls(simulator.EndpointConnectors); n != 0 {
		t.Errorf("%d connectors calls from /metrics", n)
	}
}

func TestFixedAccountsGetNames(t *testing.T) {
	fleet := simulator.DemoFleet(testNow)
	d := newDiscoveryStack(t, fleet, []string{simulator.AccountRetail}, false)
	if err := d.accounts.refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, page := d.get(t, "/metrics")
	want := `cloudflare_magic_account_info{account_id="` + simulator.AccountRetail + `",account_name="Acme Retail"} 1`
	if !strings.Contains(page, want) || strings.Contains(page, simulator.AccountLabs) {
		t.Errorf("/metrics lacks %q or has the other account", want)
	}
	if strings.Contains(page, `endpoint="accounts"`) {
		t.Error("a name lookup is reported as discovery")
	}

	// Without permission to list accounts, names are empty and nothing
	// else changes; the log says so once.
	d = newDiscoveryStack(t, fleet, []string{simulator.AccountRetail}, false)
	d.sim.SetFault("", simulator.EndpointAccounts, simulator.Fault{Status: 403, Errors: []simulator.Message{{Code: 9109, Message: "Unauthorized to access requested resource"}}})
	for range 2 {
		_ = d.accounts.refresh(context.Background())
	}
	_, page = d.get(t, "/metrics")
	for _, want := range []string{
		`cloudflare_magic_account_info{account_id="` + simulator.AccountRetail + `",account_name=""} 1`,
		upLine(simulator.AccountRetail, "connectors", 1),
	} {
		if !strings.Contains(page, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if n := strings.Count(d.logs.String(), "looking up account names failed"); n != 1 {
		t.Errorf("name lookup failure logged %d times, want once", n)
	}
}

// TestForgottenAccountsAreForgotten: an account dropped from the listing
// leaves nothing behind in the exporter's per-account state.
func TestForgottenAccountsAreForgotten(t *testing.T) {
	fleet := simulator.DemoFleet(testNow)
	d := newDiscoveryStack(t, fleet, nil, false)
	if err := d.accounts.refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	d.get(t, "/metrics")
	if d.exp.connectorsFetch.entries[simulator.AccountLabs] == nil {
		t.Fatal("no fetch state for a scraped account")
	}
	d.sim.SetFault("", simulator.EndpointAccounts, simulator.Fault{Body: `{"success":true,"errors":[],"result":[{"id":"` +
		simulator.AccountRetail + `","name":"Acme Retail"}],"result_info":{"page":1,"per_page":50,"total_pages":1}}`})
	if err := d.accounts.refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, page := d.get(t, "/metrics")
	if strings.Contains(page, simulator.AccountLabs) {
		t.Error("the dropped account is still scraped")
	}
	if d.exp.connectorsFetch.entries[simulator.AccountLabs] != nil || d.exp.appsFetch.entries[simulator.AccountLabs] != nil {
		t.Error("the dropped account's fetch state is kept")
	}
	if code, _ := d.get(t, "/probe?account="+simulator.AccountLabs); code != http.StatusForbidden {
		t.Errorf("probe of the dropped account answered %d, want 403", code)
	}
}

// TestNoCallAfterTheDeadline: accounts whose turn comes after the scrape's
// deadline are not called, and their failure says why.
func TestNoCallAfterTheDeadline(t *testing.T) {
	client := newFakeClient()
	ids := []string{fmt.Sprintf("%032x", 1), fmt.Sprintf("%032x", 2), fmt.Sprintf("%032x", 3)}
	for _, id := range ids {
		client.accounts[id] = client.accounts[simulator.AccountLabs]
	}
	client.wait = func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	var logs bytes.Buffer
	e, err := New(Config{Client: client, Accounts: FixedAccounts(ids...), AccountConcurrency: 1,
		Logger: log.NewLogfmtLogger(log.NewSyncWriter(&logs))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if n := testutil.CollectAndCount(e.WithContext(ctx), "cloudflare_magic_up"); n != 6 {
		t.Fatalf("%d up series, want 6", n)
	}
	calls := 0
	for _, id := range ids {
		calls += client.callCount(id+"/connectors") + client.callCount(id+"/apps")
	}
	if calls != 2 {
		t.Errorf("%d calls, want 2: only the first account had its turn", calls)
	}
	if n := strings.Count(logs.String(), "scrape deadline reached before account"); n != 4 {
		t.Errorf("%d log lines say the deadline came first, want 4:\n%s", n, logs.String())
	}
}
