// Package poll decides what to fetch from the Cloudflare API and when:
// per scrape, it calls every endpoint of every account concurrently,
// shares one call between concurrent scrapes, reuses recent outcomes,
// bounds the accounts called at once, and keeps account discovery and the
// telemetry snapshots fresh in the background. It hands typed results to
// the collector; it knows nothing of Prometheus.
package poll

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-kit/log"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
)

// Client is what polling needs from the Cloudflare API.
type Client interface {
	ListConnectors(ctx context.Context, accountID string) ([]api.Connector, error)
	ListApps(ctx context.Context, accountID string) ([]api.App, error)
	ListSites(ctx context.Context, accountID string) ([]api.Site, error)
	// BackoffRemaining is how long calls stay refused after an HTTP 429.
	BackoffRemaining() time.Duration
}

// Config configures a Poller.
type Config struct {
	Client Client
	// Accounts are the accounts a scrape polls (FixedAccounts, or
	// NewAccounts to discover them); nil polls none.
	Accounts *Accounts
	// AccountConcurrency bounds how many accounts a scrape calls at once;
	// zero calls them all at once.
	AccountConcurrency int
	// ProbeOnly leaves the accounts out of Poll(ctx, nil): they are polled
	// one at a time through /probe.
	ProbeOnly bool
	// Timeout bounds each scrape's API calls. Zero means no bound beyond the
	// context the scrape is given.
	Timeout time.Duration
	// MinInterval is how long the outcome of a call is reused by later
	// scrapes; zero calls on every scrape. Concurrent scrapes share one call
	// either way.
	MinInterval time.Duration
	Logger      log.Logger
	// Now defaults to time.Now; tests fix it.
	Now func() time.Time
	// Telemetry, if set, adds the connectors' telemetry snapshots.
	Telemetry *Telemetry
	// Sites adds the sites endpoint to every scrape.
	Sites bool
	// Budget, if set, is the share of the REST rate limit the list calls
	// may spend.
	Budget *Budget
	// Edge, if set, adds Cloudflare's edge view of each account.
	Edge *Edge
}

// Poller polls the API for scrapes.
type Poller struct {
	client             Client
	accounts           *Accounts
	accountConcurrency int
	probeOnly          bool
	timeout            time.Duration
	logger             log.Logger
	now                func() time.Time
	telemetry          *Telemetry
	edge               *Edge

	// endpoints are declared in endpoints.go.
	endpoints []endpoint
	failures  *failureLogger
	// budget is the REST budget the calls spend, told how many a scrape
	// needs; budgetNotice what the log said of it (fair.go).
	budget       *Budget
	budgetNotice budgetNotice
}

// Result is what one scrape's polling returned.
type Result struct {
	Accounts []AccountResult
	// Discovery is the state of account discovery, nil when the accounts
	// are fixed or for a probe.
	Discovery *Discovery
	// Backoff is how long API calls stay refused after an HTTP 429.
	Backoff time.Duration
}

// Discovery is the state of the latest account listing.
type Discovery struct {
	// LastSuccess is when a listing last succeeded; zero if none has.
	LastSuccess time.Time
	// Err is the error of the latest listing, nil if it succeeded.
	Err error
}

// AccountResult is one account in one scrape. The data of an endpoint
// whose call failed is nil.
type AccountResult struct {
	Account    api.Account
	Endpoints  []EndpointResult
	Connectors []api.Connector
	Apps       []api.App
	Sites      []api.Site
	// Snapshots are the latest telemetry snapshots, by connector ID.
	Snapshots []Snapshot
	// Edge is the account's edge view; nil when off or not refreshed yet.
	Edge *EdgeView
}

// EndpointResult says how polling one endpoint of an account went.
type EndpointResult struct {
	Endpoint string
	Err      error
	// Duration is how long the scrape waited for it; negative for what a
	// scrape does not wait for (the edge view, refreshed in the background).
	Duration time.Duration
	// LastSuccess is when a call for the account last succeeded; zero if
	// never.
	LastSuccess time.Time
}

// Snapshot is the latest telemetry snapshot of one connector.
type Snapshot struct {
	ConnectorID string
	*api.Snapshot
}

// New returns a Poller for cfg.
func New(cfg Config) (*Poller, error) {
	if cfg.Client == nil {
		return nil, errors.New("poll: no API client")
	}
	p := &Poller{
		client:             cfg.Client,
		accounts:           cfg.Accounts,
		accountConcurrency: max(cfg.AccountConcurrency, 0),
		probeOnly:          cfg.ProbeOnly,
		timeout:            cfg.Timeout,
		logger:             cfg.Logger,
		now:                cfg.Now,
		telemetry:          cfg.Telemetry,
		edge:               cfg.Edge,
		budget:             cfg.Budget,
	}
	if p.logger == nil {
		p.logger = log.NewNopLogger()
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.accounts == nil {
		p.accounts = FixedAccounts()
	}
	p.failures = newFailureLogger(p.logger, p.now)
	p.declareEndpoints(cfg)
	p.accounts.onKnown(p.accountsKnown)
	return p, nil
}

// Accounts returns the accounts the poller polls.
func (p *Poller) Accounts() *Accounts { return p.accounts }

// Poll calls the API for one account (only), or for every account. Accounts
// are called concurrently, at most AccountConcurrency at once, each calling
// its endpoints concurrently, so that a scrape lasts as long as the slowest
// call, not the sum.
func (p *Poller) Poll(ctx context.Context, only *api.Account) *Result {
	if p.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.timeout)
		defer cancel()
	}
	res := &Result{}
	var accounts []api.Account
	switch {
	case only != nil:
		accounts = []api.Account{*only}
	case !p.probeOnly:
		p.accounts.waitReady(ctx)
		accounts = p.accounts.Current()
		if p.accounts.Discovering() {
			if attempted, last, err := p.accounts.status(); attempted {
				res.Discovery = &Discovery{LastSuccess: last, Err: err}
			}
		}
	}
	p.prune()
	res.Accounts = make([]AccountResult, len(accounts))
	var slots chan struct{}
	if p.accountConcurrency > 0 {
		slots = make(chan struct{}, p.accountConcurrency)
	}
	// Accounts start in turn, the longest waiting first (fair.go), and
	// each takes its slot before the next starts, so that the budget
	// serves them in that order.
	var wg sync.WaitGroup
	for _, i := range p.fairOrder(accounts) {
		account := accounts[i]
		if slots != nil {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				// The deadline passed before the account's turn: no
				// call is made, and none is counted as a failed request.
				res.Accounts[i] = p.abandoned(account, ctx.Err())
				continue
			}
		}
		accountCtx, reserved := p.reserve(ctx)
		wg.Go(func() {
			if slots != nil {
				defer func() { <-slots }()
			}
			defer p.release(reserved)
			res.Accounts[i] = p.pollAccount(accountCtx, account)
		})
	}
	wg.Wait()
	res.Backoff = p.client.BackoffRemaining()
	return res
}

// prune forgets what is kept per account for accounts no longer polled
// (dropped from the listing, or never allowed).
func (p *Poller) prune() {
	for _, ep := range p.endpoints {
		ep.state.prune(p.accounts.Allowed)
	}
	// The client remembers each account's last answers, to decode only
	// what changed (api.Client.ForgetAnswers).
	if f, ok := p.client.(interface{ ForgetAnswers(keep func(string) bool) }); ok {
		f.ForgetAnswers(p.accounts.Allowed)
	}
}

// pollAccount calls every endpoint of the account concurrently.
func (p *Poller) pollAccount(ctx context.Context, account api.Account) AccountResult {
	out := AccountResult{Account: account, Endpoints: make([]EndpointResult, len(p.endpoints))}
	// Each endpoint fills its own field of out: no two goroutines write
	// the same memory.
	var wg sync.WaitGroup
	for i, ep := range p.endpoints {
		wg.Go(func() {
			start := time.Now()
			last, err := ep.poll(ctx, &out)
			if err != nil && ep.logHere {
				p.failures.log(account.ID, ep.name, err)
			}
			out.Endpoints[i] = EndpointResult{Endpoint: ep.name, Err: err, Duration: time.Since(start), LastSuccess: last}
		})
	}
	wg.Wait()
	if p.edge != nil {
		if out.Edge = p.edge.View(account.ID); out.Edge != nil {
			out.Endpoints = append(out.Endpoints, out.Edge.endpoints()...)
		}
	}
	return out
}

// abandoned is the result of an account the scrape ran out of time for.
func (p *Poller) abandoned(account api.Account, err error) AccountResult {
	out := AccountResult{Account: account}
	for _, ep := range p.endpoints {
		err := fmt.Errorf("scrape deadline reached before account %s's turn: %w", account.ID, err)
		p.failures.log(account.ID, ep.name, err)
		out.Endpoints = append(out.Endpoints, EndpointResult{Endpoint: ep.name, Err: err})
	}
	return out
}
