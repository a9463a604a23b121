// Package collector turns what the Cloudflare API answered into Prometheus
// metrics.
//
// Every metric family is declared once, as a Family (connectors.go,
// apps.go, telemetry.go, exporter.go, apimetrics.go): its name, HELP,
// type, labels, and a function from an API object to samples. Per scrape,
// the poll package calls the API and hands back typed results; the
// Exporter lays them out as rows and one writer (package exposition)
// renders every family in name order. A connector deleted upstream
// disappears at the next scrape: nothing keeps stale series.
package collector

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/exposition"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/poll"
)

// Config configures an Exporter.
type Config struct {
	Poller *poll.Poller
	// APIMetrics, if set, puts the exporter's use of the API on /metrics.
	APIMetrics *APIMetrics
	// Budgets are the budget guards of the API's rate limits, by API
	// ("rest", "graphql"), shown on /metrics.
	Budgets map[string]*poll.Budget
	// SiteHeartbeatTimeout is how recent a heartbeat must be for a
	// connector to count for its site; zero means DefaultSiteHeartbeatTimeout.
	SiteHeartbeatTimeout time.Duration
	Logger               log.Logger
	// Now defaults to time.Now; tests fix it.
	Now func() time.Time
}

// Exporter renders the pages of /metrics and /probe.
type Exporter struct {
	poller       *poll.Poller
	apiMetrics   *APIMetrics
	logger       log.Logger
	now          func() time.Time
	families     []renderer
	zones        *zoneCache
	configErrors *configErrors
	siteTimeout  time.Duration
	budgets      map[string]*poll.Budget
	drops        *dropLog
	// truncated and stripped count the label values the writer cleaned,
	// over every page.
	truncated, stripped atomic.Int64
}

// New returns an Exporter for cfg.
func New(cfg Config) (*Exporter, error) {
	if cfg.Poller == nil {
		return nil, errors.New("collector: no poller")
	}
	e := &Exporter{
		poller:       cfg.Poller,
		apiMetrics:   cfg.APIMetrics,
		logger:       cfg.Logger,
		now:          cfg.Now,
		families:     declarations(),
		zones:        newZoneCache(),
		configErrors: newConfigErrors(),
		siteTimeout:  cmp.Or(cfg.SiteHeartbeatTimeout, DefaultSiteHeartbeatTimeout),
		budgets:      cfg.Budgets,
		drops:        &dropLog{last: map[dropKey]int{}},
	}
	if e.logger == nil {
		e.logger = log.NewNopLogger()
	}
	if e.now == nil {
		e.now = time.Now
	}
	return e, nil
}

// Accounts returns the accounts the exporter scrapes.
func (e *Exporter) Accounts() *poll.Accounts { return e.poller.Accounts() }

// page holds the rows of one scrape, for every family to render.
type page struct {
	accounts       []api.Account
	endpoints      []endpointRow
	connectors     []connectorRow
	configErrors   []configErrorRow
	clockSkew      []clockSkewRow
	apps           []appRow
	appCounts      []appCount
	snapshots      []snapshotRow
	edge           edgeRows
	sites          []siteRow
	connectorSites []connectorSiteRow
	exporter       []exporterRow
	dropped        []droppedRow
	budgets        []budgetRow
	requests       []requestRow
	rateLimit      []rateLimitRow
	// credentialErrors has one row, the count, when APIMetrics is set.
	credentialErrors []float64
}

// Scrape polls one account (only), or every account, and returns the
// page to write. The API metrics go on a page of every account only: they
// describe the process, not an account.
func (e *Exporter) Scrape(ctx context.Context, only *api.Account) *Page {
	p := e.newPage(e.poller.Poll(ctx, only))
	e.configErrors.prune(e.poller.Accounts().Allowed)
	e.drops.prune(e.poller.Accounts().Allowed)
	if only == nil {
		if e.apiMetrics != nil {
			e.apiMetrics.addTo(p)
		}
		for _, name := range slices.Sorted(maps.Keys(e.budgets)) {
			p.budgets = append(p.budgets, budgetRow{api: name, BudgetState: e.budgets[name].State()})
		}
	}
	return &Page{e: e, p: p}
}

// Page is one scrape's data, ready to write.
type Page struct {
	e *Exporter
	p *page
}

// Write writes every family of the page to w, in name order.
func (pg *Page) Write(w *exposition.Writer) {
	for _, f := range pg.e.families {
		f.render(w, pg.p)
	}
	truncated, stripped := w.Cleaned()
	pg.e.truncated.Add(int64(truncated))
	pg.e.stripped.Add(int64(stripped))
}

// newPage lays out a poll's result as rows.
func (e *Exporter) newPage(res *poll.Result) *page {
	now := e.now()
	p := &page{exporter: []exporterRow{{backoff: res.Backoff,
		truncated: float64(e.truncated.Load()), stripped: float64(e.stripped.Load())}}}
	if d := res.Discovery; d != nil {
		p.endpoints = append(p.endpoints, endpointRow{endpoint: api.EndpointAccounts, up: d.Err == nil, duration: -1, lastSuccess: d.LastSuccess})
	}
	// Rows are a slice each, sized once: at fleet scale, growing them is
	// most of a scrape's garbage.
	nc, na := 0, 0
	for _, a := range res.Accounts {
		nc, na = nc+len(a.Connectors), na+len(a.Apps)
	}
	p.connectors, p.apps = make([]connectorRow, 0, nc), make([]appRow, 0, na)
	for _, a := range res.Accounts {
		id := a.Account.ID
		p.accounts = append(p.accounts, a.Account)
		for _, ep := range a.Endpoints {
			p.endpoints = append(p.endpoints, endpointRow{account: id, endpoint: ep.Endpoint, up: ep.Err == nil, duration: ep.Duration, lastSuccess: ep.LastSuccess})
		}
		first := len(p.connectors)
		e.addConnectors(p, id, a.Connectors, now)
		var connectors []connectorRow
		if a.Connectors != nil {
			connectors = p.connectors[first:]
		}
		sites, empty, repeated := valid(a.Sites, func(s *api.Site) string { return s.ID })
		e.dropped(p, id, api.EndpointSites, a.Sites != nil, empty, repeated)
		p.addSites(id, sites, connectors, e.siteTimeout, now)
		apps, empty, repeated := valid(a.Apps, func(a *api.App) appKey {
			if a.ID == "" {
				return appKey{}
			}
			return appKey{a.Source, a.ID}
		})
		e.dropped(p, id, api.EndpointApps, a.Apps != nil, empty, repeated)
		p.addApps(id, apps)
		p.edge.add(id, a.Edge, now)
		for _, s := range a.Snapshots {
			p.snapshots = append(p.snapshots, snapshotRow{id, s})
		}
	}
	return p
}

// addConnectors adds an account's connectors, with their upgrade windows
// computed at now, and counts and logs the invalid data found.
func (e *Exporter) addConnectors(p *page, account string, connectors []api.Connector, now time.Time) {
	if connectors == nil {
		return
	}
	connectors, empty, repeated := valid(connectors, func(c *api.Connector) string { return c.ID })
	e.dropped(p, account, api.EndpointConnectors, true, empty, repeated)
	for i := range connectors {
		c := &connectors[i]
		w, err := newInterruptWindow(c, e.zones.load)
		row := newConnectorRow(account, c, w, err == nil, now)
		if len(c.InvalidFields) > 0 {
			err = errors.Join(err, fmt.Errorf("invalid %s (not an RFC 3339 time between 2009 and 2262), treated as absent", strings.Join(c.InvalidFields, " and ")))
		}
		e.configErrors.record(e.logger, account, c.ID, err)
		p.connectors = append(p.connectors, row)
	}
	p.clockSkew = append(p.clockSkew, clockSkew(account, p.connectors[len(p.connectors)-len(connectors):], now))
	p.configErrors = append(p.configErrors, e.configErrors.counts(account, connectors)...)
}

// appKey identifies an app: the IDs of account and managed apps are
// distinct namespaces.
type appKey struct {
	source api.AppSource
	id     string
}

// valid returns items without those whose ID is empty or repeats one
// already seen (the first is kept): a listing that repeats an item must not
// make the page repeat its series, and an empty ID identifies nothing. It
// returns items itself when none is dropped, and how many were.
func valid[T any, K comparable](items []T, id func(*T) K) (out []T, empty, repeated int) {
	var zero K
	seen := make(map[K]bool, len(items))
	keep := func(t *T) bool {
		k := id(t)
		switch {
		case k == zero:
			empty++
		case seen[k]:
			repeated++
		default:
			seen[k] = true
			return true
		}
		return false
	}
	for i := range items {
		if keep(&items[i]) {
			continue
		}
		out = append([]T(nil), items[:i]...)
		for j := i + 1; j < len(items); j++ {
			if keep(&items[j]) {
				out = append(out, items[j])
			}
		}
		return out, empty, repeated
	}
	return items, 0, 0
}
