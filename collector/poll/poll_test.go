package poll

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"
	"go.uber.org/goleak"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/exportertest"
)

var testNow = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// fakeClient answers from the simulated fleet without HTTP: it turns the
// API's wire shapes into api types through the api package's own decoding.
type fakeClient struct {
	mu       sync.Mutex
	accounts map[string]simulator.Account
	now      time.Time
	errs     map[string]error // by "account/endpoint"
	calls    map[string]int
	// wait, if set, is called at the start of every call.
	wait    func(ctx context.Context) error
	backoff time.Duration
}

func (f *fakeClient) BackoffRemaining() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.backoff
}

func newFakeClient() *fakeClient {
	f := &fakeClient{accounts: map[string]simulator.Account{}, now: testNow, errs: map[string]error{}, calls: map[string]int{}}
	for _, a := range simulator.DemoFleet(testNow) {
		f.accounts[a.ID] = a
	}
	return f
}

func (f *fakeClient) call(ctx context.Context, account, endpoint string) (simulator.Account, error) {
	f.mu.Lock()
	f.calls[account+"/"+endpoint]++
	err := f.errs[account+"/"+endpoint]
	a, ok := f.accounts[account]
	wait := f.wait
	f.mu.Unlock()
	if wait != nil {
		if err := wait(ctx); err != nil {
			return a, err
		}
	}
	if err != nil {
		return a, err
	}
	if !ok {
		return a, &api.Error{Endpoint: endpoint, Op: "GET /accounts/" + account, StatusCode: 403,
			Errors: []api.Message{{Code: api.CodeAuthenticationError, Message: "Authentication error"}}}
	}
	return a, ctx.Err()
}

func (f *fakeClient) ListConnectors(ctx context.Context, account string) ([]api.Connector, error) {
	a, err := f.call(ctx, account, api.EndpointConnectors)
	if err != nil {
		return nil, err
	}
	wire := make([]simulator.Connector, len(a.Connectors))
	for i, c := range a.Connectors {
		wire[i] = c.At(f.now)
	}
	b, err := json.Marshal(wire)
	if err != nil {
		return nil, err
	}
	return api.DecodeConnectors(b)
}

// ListSites returns the account's sites as the simulated fleet holds them.
func (f *fakeClient) ListSites(ctx context.Context, account string) ([]api.Site, error) {
	a, err := f.call(ctx, account, api.EndpointSites)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(a.Sites)
	if err != nil {
		return nil, err
	}
	var sites []api.Site
	return sites, json.Unmarshal(b, &sites)
}

func (f *fakeClient) ListApps(ctx context.Context, account string) ([]api.App, error) {
	a, err := f.call(ctx, account, api.EndpointApps)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(a.Apps)
	if err != nil {
		return nil, err
	}
	return api.DecodeApps(b)
}

// setAccount replaces an account of the fleet, as the API would change.
func (f *fakeClient) setAccount(a simulator.Account) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.accounts[a.ID] = a
}

func (f *fakeClient) account(id string) simulator.Account {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.accounts[id]
	a.Connectors = slices.Clone(a.Connectors)
	return a
}

func (f *fakeClient) setErr(key string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.errs, key)
	} else {
		f.errs[key] = err
	}
}

func (f *fakeClient) callCount(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[key]
}

func newTestPoller(t *testing.T, cfg Config, accounts ...string) *Poller {
	t.Helper()
	if len(accounts) == 0 {
		accounts = []string{simulator.AccountRetail, simulator.AccountLabs}
	}
	if cfg.Accounts == nil {
		cfg.Accounts = FixedAccounts(accounts...)
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return testNow }
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// endpointOf returns how the endpoint of the account went in res.
func endpointOf(t *testing.T, res *Result, account, endpoint string) EndpointResult {
	t.Helper()
	for _, a := range res.Accounts {
		if a.Account.ID != account {
			continue
		}
		for _, ep := range a.Endpoints {
			if ep.Endpoint == endpoint {
				return ep
			}
		}
	}
	t.Fatalf("no %s result for account %s", endpoint, account)
	return EndpointResult{}
}

func accountOf(t *testing.T, res *Result, account string) AccountResult {
	t.Helper()
	for _, a := range res.Accounts {
		if a.Account.ID == account {
			return a
		}
	}
	t.Fatalf("account %s not polled", account)
	return AccountResult{}
}

func endpointCount(res *Result) int {
	n := 0
	for _, a := range res.Accounts {
		n += len(a.Endpoints)
	}
	return n
}

// verifyNoLeak checks, after every cleanup of the test has run (servers
// closed), that the goroutines are back to what they were.
func verifyNoLeak(t *testing.T) {
	baseline := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, baseline) })
}

// TestCallsAreConcurrent proves every endpoint of every account is called
// at once: each call waits until all four have started, which a sequential
// poller would never reach.
func TestCallsAreConcurrent(t *testing.T) {
	client := newFakeClient()
	var arrived sync.WaitGroup
	arrived.Add(4)
	allIn := make(chan struct{})
	go func() { arrived.Wait(); close(allIn) }()
	client.wait = func(ctx context.Context) error {
		arrived.Done()
		select {
		case <-allIn:
			return nil
		case <-time.After(10 * time.Second):
			return errors.New("calls were not concurrent")
		}
	}
	res := newTestPoller(t, Config{Client: client}).Poll(context.Background(), nil)
	for _, a := range []string{simulator.AccountRetail, simulator.AccountLabs} {
		for _, ep := range []string{api.EndpointConnectors, api.EndpointApps} {
			if err := endpointOf(t, res, a, ep).Err; err != nil {
				t.Errorf("%s/%s: %v", a, ep, err)
			}
		}
	}
}

func TestCancelledScrapeCancelsCalls(t *testing.T) {
	client := newFakeClient()
	client.wait = func(ctx context.Context) error {
		<-ctx.Done() // only a cancelled scrape gets past this
		return ctx.Err()
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := newTestPoller(t, Config{Client: client}).Poll(ctx, nil)
	if n := endpointCount(res); n != 4 {
		t.Errorf("%d endpoint results, want 4", n)
	}
	for _, a := range res.Accounts {
		if a.Connectors != nil || a.Apps != nil {
			t.Errorf("account %s has data after a cancelled scrape", a.Account.ID)
		}
		for _, ep := range a.Endpoints {
			if ep.Err == nil {
				t.Errorf("%s/%s succeeded in a cancelled scrape", a.Account.ID, ep.Endpoint)
			}
		}
	}
}

func TestTimeoutBoundsCalls(t *testing.T) {
	client := newFakeClient()
	client.wait = func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	}
	p := newTestPoller(t, Config{Client: client, Timeout: 50 * time.Millisecond}, simulator.AccountLabs)
	// Without the timeout this would never return.
	res := p.Poll(context.Background(), nil)
	if n := endpointCount(res); n != 2 {
		t.Errorf("%d endpoint results, want 2", n)
	}
	if err := endpointOf(t, res, simulator.AccountLabs, api.EndpointConnectors).Err; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("connectors: %v, want the deadline", err)
	}
}

func TestDeletedConnectorDisappears(t *testing.T) {
	client := newFakeClient()
	p := newTestPoller(t, Config{Client: client}, simulator.AccountLabs)
	if n := len(accountOf(t, p.Poll(context.Background(), nil), simulator.AccountLabs).Connectors); n != 2 {
		t.Fatalf("%d connectors, want 2", n)
	}
	labs := client.account(simulator.AccountLabs)
	labs.Connectors = labs.Connectors[:1]
	client.setAccount(labs)
	if n := len(accountOf(t, p.Poll(context.Background(), nil), simulator.AccountLabs).Connectors); n != 1 {
		t.Errorf("%d connectors after one was deleted, want 1", n)
	}
}

// TestAccountConcurrencyIsBounded holds every call until the test lets
// its account go, one account at a time, each once the bound's worth of
// accounts are in flight: the bound is filled (3 at once, not by luck of
// timing), and never passed, since accounts beyond it would enter while
// the held ones wait.
func TestAccountConcurrencyIsBounded(t *testing.T) {
	const accounts, bound = 9, 3
	client := newFakeClient()
	var mu sync.Mutex
	inFlight, peak := map[string]int{}, 0
	release, released := map[string]chan struct{}{}, map[string]bool{}
	ids := make([]string, accounts)
	for i := range ids {
		ids[i] = fmt.Sprintf("%032x", i+1)
		client.accounts[ids[i]] = client.accounts[simulator.AccountLabs]
		release[ids[i]] = make(chan struct{})
	}
	// held counts the accounts in flight not let go yet; all, every one.
	count := func() (held, all int) {
		for a, c := range inFlight {
			if c > 0 {
				all++
				if !released[a] {
					held++
				}
			}
		}
		return held, all
	}
	wrapped := &trackingClient{fakeClient: client, enter: func(account string) {
		mu.Lock()
		inFlight[account]++
		_, all := count()
		peak = max(peak, all)
		wait := release[account]
		mu.Unlock()
		<-wait
	}, leave: func(account string) {
		mu.Lock()
		inFlight[account]--
		mu.Unlock()
	}}
	p := newTestPoller(t, Config{Client: wrapped, AccountConcurrency: bound}, ids...)
	done := make(chan *Result)
	go func() { done <- p.Poll(context.Background(), nil) }()
	for n := range accounts {
		want := min(bound, accounts-n)
		exportertest.Eventually(t, fmt.Sprintf("%d accounts held in flight", want), 10*time.Second, func() bool {
			mu.Lock()
			defer mu.Unlock()
			held, _ := count()
			return held >= want
		})
		mu.Lock()
		for _, a := range ids {
			if inFlight[a] > 0 && !released[a] {
				released[a] = true
				close(release[a])
				break
			}
		}
		mu.Unlock()
	}
	res := <-done
	if n := endpointCount(res); n != 2*accounts {
		t.Fatalf("%d endpoint results, want %d", n, 2*accounts)
	}
	if peak != bound {
		t.Errorf("%d accounts called at once, want %d", peak, bound)
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

// TestNoCallAfterTheDeadline: accounts whose turn comes after the scrape's
// deadline are not called, and their failure says why, once per endpoint
// whatever the number of accounts.
func TestNoCallAfterTheDeadline(t *testing.T) {
	client := newFakeClient()
	ids := []string{fmt.Sprintf("%032x", 1), fmt.Sprintf("%032x", 2), fmt.Sprintf("%032x", 3)}
	for _, id := range ids {
		client.accounts[id] = client.accounts[simulator.AccountLabs]
	}
	client.wait = func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	var logs bytes.Buffer
	p := newTestPoller(t, Config{Client: client, AccountConcurrency: 1, Logger: log.NewLogfmtLogger(log.NewSyncWriter(&logs))}, ids...)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if n := endpointCount(p.Poll(ctx, nil)); n != 6 {
		t.Fatalf("%d endpoint results, want 6", n)
	}
	calls := 0
	for _, id := range ids {
		calls += client.callCount(id+"/connectors") + client.callCount(id+"/apps")
	}
	if calls != 2 {
		t.Errorf("%d calls, want 2: only the first account had its turn", calls)
	}
	if n := strings.Count(logs.String(), "scrape deadline reached before account"); n != 2 {
		t.Errorf("%d log lines say the deadline came first, want 2:\n%s", n, logs.String())
	}
}

func TestFetcherForgetsAbandonedCalls(t *testing.T) {
	verifyNoLeak(t)
	f := newFetcher[int](time.Hour, 0, time.Now)
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	go func() { <-started; cancel() }()
	o := f.fetch(ctx, "a", func(ctx context.Context) (int, error) {
		close(started)
		<-ctx.Done()
		return 0, ctx.Err()
	})
	if o.err == nil {
		t.Fatal("abandoned fetch succeeded")
	}
	// The cancelled call is not an outcome to reuse: the next fetch calls.
	o = f.fetch(context.Background(), "a", func(context.Context) (int, error) { return 42, nil })
	if o.err != nil || o.result != 42 || o.cached {
		t.Errorf("after an abandoned call: %+v", o)
	}
	o = f.fetch(context.Background(), "a", func(context.Context) (int, error) { return 0, nil })
	if !o.cached || o.result != 42 {
		t.Errorf("within the interval: %+v, want the cached 42", o)
	}
}

// TestNewEndpointIsOneDeclaration shows what polling a new REST endpoint
// takes in this package: one rest line (beside its Client method and its
// field of AccountResult, here the sites'). The line alone brings the
// call per account, its outcome with its error, and the minimum interval.
func TestNewEndpointIsOneDeclaration(t *testing.T) {
	client := newFakeClient()
	cfg := Config{Client: client, MinInterval: time.Minute}
	p := newTestPoller(t, cfg)
	p.endpoints = append(p.endpoints, rest(p, cfg, "sites", Client.ListSites, func(r *AccountResult) *[]api.Site { return &r.Sites }, nil))
	for range 2 {
		res := p.Poll(context.Background(), nil)
		if err := endpointOf(t, res, simulator.AccountRetail, "sites").Err; err != nil {
			t.Fatal(err)
		}
		if len(accountOf(t, res, simulator.AccountRetail).Sites) == 0 {
			t.Fatal("no sites")
		}
	}
	if n := client.callCount(simulator.AccountRetail + "/sites"); n != 1 {
		t.Errorf("%d calls within the minimum interval, want 1", n)
	}
	client.errs[simulator.AccountLabs+"/sites"] = errors.New("boom")
	p = newTestPoller(t, cfg)
	p.endpoints = append(p.endpoints, rest(p, cfg, "sites", Client.ListSites, func(r *AccountResult) *[]api.Site { return &r.Sites }, nil))
	if err := endpointOf(t, p.Poll(context.Background(), nil), simulator.AccountLabs, "sites").Err; err == nil || !strings.Contains(err.Error(), "list sites for account "+simulator.AccountLabs+": boom") {
		t.Errorf("failed call: %v", err)
	}
}
