package poll

import (
	"context"
	"fmt"
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
)

// pollConnectors lists the account's connectors, and tells telemetry which
// connectors to refresh.
func (p *Poller) pollConnectors(ctx context.Context, out *AccountResult) (time.Time, bool, error) {
	id := out.Account.ID
	o := p.connectors.fetch(ctx, id, func(ctx context.Context) ([]api.Connector, error) {
		return p.client.ListConnectors(ctx, id)
	})
	if o.err != nil {
		return o.lastSuccess, o.cached, fmt.Errorf("list connectors for account %s: %w", id, o.err)
	}
	if p.telemetry != nil {
		p.telemetry.SetConnectors(id, o.result)
	}
	out.Connectors = o.result
	return o.lastSuccess, o.cached, nil
}

// pollApps lists the account's apps.
func (p *Poller) pollApps(ctx context.Context, out *AccountResult) (time.Time, bool, error) {
	id := out.Account.ID
	o := p.apps.fetch(ctx, id, func(ctx context.Context) ([]api.App, error) {
		return p.client.ListApps(ctx, id)
	})
	if o.err != nil {
		return o.lastSuccess, o.cached, fmt.Errorf("list apps for account %s: %w", id, o.err)
	}
	out.Apps = o.result
	return o.lastSuccess, o.cached, nil
}

// pollSites lists the account's sites.
func (p *Poller) pollSites(ctx context.Context, out *AccountResult) (time.Time, bool, error) {
	id := out.Account.ID
	o := p.sites.fetch(ctx, id, func(ctx context.Context) ([]api.Site, error) {
		return p.client.ListSites(ctx, id)
	})
	if o.err != nil {
		return o.lastSuccess, o.cached, fmt.Errorf("list sites for account %s: %w", id, o.err)
	}
	out.Sites = o.result
	return o.lastSuccess, o.cached, nil
}

// pollTelemetry never calls the API: it returns the snapshots refreshed in
// the background.
func (p *Poller) pollTelemetry(_ context.Context, out *AccountResult) (time.Time, bool, error) {
	snaps, last, err := p.telemetry.snapshots(out.Account.ID)
	out.Snapshots = snaps
	return last, false, err
}
