package poll

import (
	"context"
	"fmt"
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
)

// declareEndpoints declares the endpoints a scrape polls per account, one
// line each. A new REST endpoint is its api method, its Client method, its
// field of AccountResult and its line here; the fetching, sharing,
// caching, budget, logging and forgetting are rest's, the same for all.
func (p *Poller) declareEndpoints(cfg Config) {
	var telemetry func(account string, connectors []api.Connector)
	if p.telemetry != nil {
		// Telemetry refreshes the connectors the latest listing names.
		telemetry = p.telemetry.SetConnectors
	}
	p.endpoints = []endpoint{
		rest(p, cfg, api.EndpointConnectors, Client.ListConnectors, func(r *AccountResult) *[]api.Connector { return &r.Connectors }, telemetry),
		rest(p, cfg, api.EndpointApps, Client.ListApps, func(r *AccountResult) *[]api.App { return &r.Apps }, nil),
	}
	if cfg.Sites {
		p.endpoints = append(p.endpoints, rest(p, cfg, api.EndpointSites, Client.ListSites, func(r *AccountResult) *[]api.Site { return &r.Sites }, nil))
	}
	if p.telemetry != nil {
		// No call per scrape: the snapshots refreshed in the background.
		p.endpoints = append(p.endpoints, endpoint{name: api.EndpointTelemetry, logHere: true, state: p.telemetry,
			poll: func(_ context.Context, out *AccountResult) (time.Time, error) {
				snaps, last, err := p.telemetry.snapshots(out.Account.ID)
				out.Snapshots = snaps
				return last, err
			}})
	}
}

// endpoint is one API endpoint polled per account: poll fills its part of
// the account's result.
type endpoint struct {
	name string
	poll func(ctx context.Context, out *AccountResult) (lastSuccess time.Time, err error)
	// logHere is set for an endpoint that makes no call per scrape: its
	// failures are logged (at a bounded rate) when a scrape meets them,
	// where the others' are logged once per call by their fetcher.
	logHere bool
	// state is what the endpoint keeps per account.
	state interface {
		prune(keep func(account string) bool)
	}
	// lastCall, for an endpoint called per scrape, is when the account's
	// last call ended (fair.go); zero if never.
	lastCall func(account string) time.Time
}

// rest declares a REST endpoint listed per account: list is the Client
// method that calls it, into the field of AccountResult its answer fills,
// and seen, if set, is told each answer. Concurrent scrapes share one call,
// an answer is reused within cfg.MinInterval, each call spends cfg.Budget,
// and a failure is logged once per call (see fetcher).
func rest[T any](p *Poller, cfg Config, name string, list func(Client, context.Context, string) ([]T, error),
	into func(*AccountResult) *[]T, seen func(account string, answer []T)) endpoint {
	f := newFetcher[[]T](cfg.MinInterval, cfg.Timeout, p.now)
	f.budget = cfg.Budget
	f.done = func(account string, err error) {
		if err != nil {
			p.failures.log(account, name, fmt.Errorf("%s for account %s: %w", name, account, err))
		}
	}
	return endpoint{name: name, state: f, lastCall: f.lastCall, poll: func(ctx context.Context, out *AccountResult) (time.Time, error) {
		id := out.Account.ID
		o := f.fetch(ctx, id, func(ctx context.Context) ([]T, error) { return list(p.client, ctx, id) })
		if o.err != nil {
			return o.lastSuccess, fmt.Errorf("list %s for account %s: %w", name, id, o.err)
		}
		if seen != nil {
			seen(id, o.result)
		}
		*into(out) = o.result
		return o.lastSuccess, nil
	}}
}
