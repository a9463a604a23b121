package poll

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/exportertest"
)

// simulated is a Poller calling the simulated API over real HTTP through
// the api client.
type simulated struct {
	sim      *simulator.Server
	client   *api.Client
	accounts *Accounts
	poller   *Poller
	logs     *exportertest.LogBuffer
}

// newSimulated polls fleet: the fixed accounts, or every account listed
// when fixed is empty.
func newSimulated(t *testing.T, fleet []simulator.Account, fixed ...string) *simulated {
	t.Helper()
	sim := simulator.NewServer(fleet, simulator.WithToken(simulator.DemoToken))
	auth, err := api.TokenAuth(simulator.DemoToken)
	if err != nil {
		t.Fatal(err)
	}
	client, err := api.New(api.Config{BaseURL: sim.Start(t), Auth: auth})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.CloseIdleConnections)
	logs := &exportertest.LogBuffer{}
	logger := log.NewLogfmtLogger(logs)
	accounts := NewAccounts(AccountsConfig{Client: client, Fixed: fixed, Refresh: time.Hour, Timeout: 5 * time.Second, Logger: logger})
	p, err := New(Config{Client: client, Accounts: accounts, AccountConcurrency: 3, Timeout: 10 * time.Second, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	return &simulated{sim: sim, client: client, accounts: accounts, poller: p, logs: logs}
}

// fetcherOf returns the fetcher of p's REST endpoint name, whose answers
// are lists of T.
func fetcherOf[T any](t *testing.T, p *Poller, name string) *fetcher[[]T] {
	t.Helper()
	for _, ep := range p.endpoints {
		if f, ok := ep.state.(*fetcher[[]T]); ok && ep.name == name {
			return f
		}
	}
	t.Fatalf("no REST endpoint %s of that type", name)
	return nil
}

// TestConcurrentScrapesShareOneCall holds the API's answers until all
// scrapes wait on the calls in flight, then checks twenty scrapes cost one
// call per endpoint per account and leave no goroutine behind.
func TestConcurrentScrapesShareOneCall(t *testing.T) {
	verifyNoLeak(t)
	const scrapes = 20
	s := newSimulated(t, simulator.DemoFleet(testNow), simulator.AccountRetail, simulator.AccountLabs)
	gate := make(chan struct{})
	s.sim.SetFault("", simulator.EndpointConnectors, simulator.Fault{Gate: gate})
	s.sim.SetFault("", simulator.EndpointApps, simulator.Fault{Gate: gate})

	results := make([]*Result, scrapes)
	var wg sync.WaitGroup
	for i := range scrapes {
		wg.Go(func() { results[i] = s.poller.Poll(context.Background(), nil) })
	}
	exportertest.Eventually(t, "every scrape to wait on the calls in flight", 10*time.Second, func() bool {
		return fetcherOf[api.Connector](t, s.poller, api.EndpointConnectors).waiting(simulator.AccountRetail) >= scrapes &&
			fetcherOf[api.App](t, s.poller, api.EndpointApps).waiting(simulator.AccountLabs) >= scrapes
	})
	close(gate)
	wg.Wait()

	for _, endpoint := range []string{simulator.EndpointConnectors, simulator.EndpointApps} {
		if n := s.sim.Calls(endpoint); n != 2 {
			t.Errorf("%s called %d times for %d scrapes of 2 accounts, want 2", endpoint, n, scrapes)
		}
	}
	for i, res := range results {
		retail := accountOf(t, res, simulator.AccountRetail)
		if endpointOf(t, res, simulator.AccountRetail, api.EndpointConnectors).Err != nil ||
			!slices.ContainsFunc(retail.Connectors, func(c api.Connector) bool { return c.ID == simulator.ConnectorStale }) {
			t.Errorf("scrape %d did not get the shared result", i)
		}
	}
}

// TestDiscoveryKeepsTheLastGoodListing: accounts are listed page by page,
// and a failed listing keeps the accounts of the last good one.
func TestDiscoveryKeepsTheLastGoodListing(t *testing.T) {
	fleet := simulator.BranchGroups(testNow, 57) // two pages of 50
	s := newSimulated(t, fleet)
	if err := s.accounts.refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	res := s.poller.Poll(context.Background(), nil)
	if n := len(res.Accounts); n != 57 {
		t.Errorf("%d accounts polled, want 57", n)
	}
	if res.Discovery == nil || res.Discovery.Err != nil || res.Discovery.LastSuccess.IsZero() {
		t.Errorf("discovery: %+v, want a success", res.Discovery)
	}
	if calls := s.sim.Calls(simulator.EndpointAccounts); calls != 2 {
		t.Errorf("%d listing calls, want 2 pages", calls)
	}

	s.sim.SetFault("", simulator.EndpointAccounts, simulator.Fault{Status: 500, Body: "oops", ContentType: "text/plain"})
	if err := s.accounts.refresh(context.Background()); err == nil {
		t.Fatal("refresh did not fail")
	}
	res = s.poller.Poll(context.Background(), nil)
	if n := len(res.Accounts); n != 57 {
		t.Errorf("after a failed listing: %d accounts, want the 57 of the last good one", n)
	}
	if res.Discovery == nil || res.Discovery.Err == nil || res.Discovery.LastSuccess.IsZero() {
		t.Errorf("discovery after a failed listing: %+v, want the error and the last success", res.Discovery)
	}
	if !strings.Contains(s.logs.String(), `msg="listing accounts failed; scraping the accounts of the last good listing" accounts=57`) {
		t.Errorf("log:\n%s", s.logs.String())
	}
}

// TestNameLookupFailureIsLoggedOnce: fixed accounts without permission to
// list accounts keep empty names, and the log says so once.
func TestNameLookupFailureIsLoggedOnce(t *testing.T) {
	s := newSimulated(t, simulator.DemoFleet(testNow), simulator.AccountRetail)
	s.sim.SetFault("", simulator.EndpointAccounts, simulator.Fault{Status: 403, Errors: []simulator.Message{{Code: 9109, Message: "Unauthorized to access requested resource"}}})
	for range 2 {
		_ = s.accounts.refresh(context.Background())
	}
	res := s.poller.Poll(context.Background(), nil)
	if a := accountOf(t, res, simulator.AccountRetail); a.Account.Name != "" {
		t.Errorf("name %q, want none", a.Account.Name)
	}
	if res.Discovery != nil {
		t.Error("a name lookup is reported as discovery")
	}
	if err := endpointOf(t, res, simulator.AccountRetail, api.EndpointConnectors).Err; err != nil {
		t.Errorf("connectors: %v", err)
	}
	if n := strings.Count(s.logs.String(), "looking up account names failed"); n != 1 {
		t.Errorf("name lookup failure logged %d times, want once", n)
	}
}

// TestForgottenAccountsAreForgotten: an account dropped from the listing
// leaves nothing behind in the poller's per-account state.
func TestForgottenAccountsAreForgotten(t *testing.T) {
	s := newSimulated(t, simulator.DemoFleet(testNow))
	if err := s.accounts.refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.poller.Poll(context.Background(), nil)
	if fetcherOf[api.Connector](t, s.poller, api.EndpointConnectors).entries[simulator.AccountLabs] == nil {
		t.Fatal("no fetch state for a polled account")
	}
	s.sim.SetFault("", simulator.EndpointAccounts, simulator.Fault{Body: `{"success":true,"errors":[],"result":[{"id":"` +
		simulator.AccountRetail + `","name":"Acme Retail"}],"result_info":{"page":1,"per_page":50,"total_pages":1}}`})
	if err := s.accounts.refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	res := s.poller.Poll(context.Background(), nil)
	if len(res.Accounts) != 1 || res.Accounts[0].Account.ID != simulator.AccountRetail {
		t.Errorf("polled %+v, want the retail account only", res.Accounts)
	}
	if fetcherOf[api.Connector](t, s.poller, api.EndpointConnectors).entries[simulator.AccountLabs] != nil ||
		fetcherOf[api.App](t, s.poller, api.EndpointApps).entries[simulator.AccountLabs] != nil {
		t.Error("the dropped account's fetch state is kept")
	}
	if s.accounts.Allowed(simulator.AccountLabs) {
		t.Error("the dropped account is still allowed")
	}
}
