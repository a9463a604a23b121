// Package collector turns Cloudflare Magic WAN API answers into Prometheus
// metrics.
//
// An Exporter calls, on every scrape and for every account, each endpoint
// concurrently, and emits const metrics from what came back: a connector
// deleted upstream disappears at the next scrape. A failing endpoint reports
// cloudflare_magic_up 0 and drops only its own series.
//
// The optional Telemetry is the exception: it fetches each connector's
// telemetry snapshot in the background, at its own pace, and scrapes emit
// the latest snapshots from memory.
package collector

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
)

const namespace = "cloudflare_magic"

// Client is what the exporter needs from the Cloudflare API.
type Client interface {
	ListConnectors(ctx context.Context, accountID string) ([]api.Connector, error)
	ListApps(ctx context.Context, accountID string) ([]api.App, error)
	// BackoffRemaining is how long calls stay refused after an HTTP 429.
	BackoffRemaining() time.Duration
}

// Config configures an Exporter.
type Config struct {
	Client Client
	// Accounts are the accounts /metrics scrapes (FixedAccounts, or
	// NewAccounts to discover them); nil scrapes none, for an exporter
	// that serves accounts through /probe only.
	Accounts *Accounts
	// AccountConcurrency bounds how many accounts a scrape calls at once;
	// zero calls them all at once.
	AccountConcurrency int
	// ProbeOnly leaves the accounts out of /metrics (and of Collect and
	// WithContext): they are scraped one at a time through /probe.
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
}

// Exporter is a prometheus.Collector for the Magic WAN endpoints of a set of
// accounts: register it directly, or call WithContext per scrape so that the
// scrape's deadline and cancellation reach the API calls. NewHandler and
// NewProbeHandler serve the same series faster, straight in the text format.
type Exporter struct {
	client   Client
	accounts *Accounts
	// accountConcurrency bounds the accounts one scrape calls at once; 0
	// for no bound. Concurrent scrapes each have their own bound (they
	// share the calls themselves through the fetchers).
	accountConcurrency int
	probeOnly          bool
	timeout            time.Duration
	logger             log.Logger
	now                func() time.Time
	scrapers           []scraper
	// families are every family the exporter emits, in name order.
	families []*family
	// telemetry is nil when the telemetry collector is off.
	telemetry *Telemetry

	connectorsFetch *fetcher[[]api.Connector]
	appsFetch       *fetcher[[]api.App]
	zones           *zoneCache
	configErrors    *configErrors

	connectorInfo          *family
	connectorActivated     *family
	connectorPrimary       *family
	connectorLastHeartbeat *family
	connectorHeartbeatAge  *family
	connectorLastUpdated   *family
	apps                   *family
	appInfo                *family
	up                     *family
	scrapeDuration         *family
	lastSuccess            *family
	backoff                *family
	accountInfo            *family
	windowActive           *family
	windowNextStart        *family
	windowDuration         *family
	configErrorsTotal      *family
}

// scraper is one API endpoint: it fetches an account's data and returns
// what will emit the endpoint's series. When the call fails it returns the
// error and no emitter. Either way it says when a call for the account
// last succeeded.
type scraper struct {
	name   string
	scrape func(ctx context.Context, accountID string) (emitter, scrapeResult, error)
}

// emitter holds what an endpoint's call returned and writes its samples one
// family at a time: the page is written family by family, straight to the
// client, instead of being built whole in memory first.
type emitter interface {
	emit(f *family, s sink)
}

// scrapeResult says how a scraper's data was obtained.
type scrapeResult struct {
	lastSuccess time.Time
	// cached is true when a recent outcome was reused without a call.
	cached bool
}

// outcome is one endpoint of one account, in one scrape.
type endpointOutcome struct {
	endpoint string
	emitter  emitter // nil when there is nothing to emit
	res      scrapeResult
	err      error
	duration time.Duration
}

// accountOutcome is one account, in one scrape.
type accountOutcome struct {
	account   api.Account
	endpoints []endpointOutcome
}

func resultOf[T any](o outcome[T]) scrapeResult {
	return scrapeResult{lastSuccess: o.lastSuccess, cached: o.cached}
}

// New returns an Exporter for cfg.
func New(cfg Config) (*Exporter, error) {
	if cfg.Client == nil {
		return nil, errors.New("collector: no API client")
	}
	e := &Exporter{
		client:       cfg.Client,
		accounts:     cfg.Accounts,
		zones:        newZoneCache(),
		configErrors: newConfigErrors(),
		probeOnly:    cfg.ProbeOnly,
		timeout:      cfg.Timeout,
		logger:       cfg.Logger,
		now:          cfg.Now,
	}
	if e.logger == nil {
		e.logger = log.NewNopLogger()
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.accounts == nil {
		e.accounts = FixedAccounts()
	}
	e.accountConcurrency = max(cfg.AccountConcurrency, 0)

	connector := []string{"account_id", "connector_id"}
	e.connectorInfo = newFamily(namespace+"_connector_info",
		"Magic WAN Connector attributes as labels; always 1. Join on account_id and connector_id to add them to other connector metrics.",
		prometheus.GaugeValue, "account_id", "connector_id", "device_id", "serial_number", "device_type", "site_id", "version", "timezone", "notes")
	e.connectorActivated = newFamily(namespace+"_connector_activated",
		"Whether the connector is activated (1) or not (0). A connector that is not activated does not carry traffic.",
		prometheus.GaugeValue, connector...)
	e.connectorPrimary = newFamily(namespace+"_connector_primary",
		"Whether the connector is the primary (1) or the secondary (0) of a high-availability pair; single connectors are primary.",
		prometheus.GaugeValue, connector...)
	e.connectorLastHeartbeat = newFamily(namespace+"_connector_last_heartbeat_timestamp_seconds",
		"Unix time of the connector's last heartbeat to Cloudflare. Connectors heartbeat about every 10 seconds; absent if the connector has never connected.",
		prometheus.GaugeValue, connector...)
	e.connectorHeartbeatAge = newFamily(namespace+"_connector_heartbeat_age_seconds",
		"Seconds since the connector's last heartbeat, computed when scraped. Minutes mean the connector or its uplink is down; absent if it has never connected.",
		prometheus.GaugeValue, connector...)
	e.connectorLastUpdated = newFamily(namespace+"_connector_last_updated_timestamp_seconds",
		"Unix time the connector's configuration last changed.",
		prometheus.GaugeValue, connector...)
	e.apps = newFamily(namespace+"_apps",
		"Number of Magic WAN apps defined, by source (account: custom, managed: defined by Cloudflare) and type; apps without a type count as unknown.",
		prometheus.GaugeValue, "account_id", "source", "type")
	e.appInfo = newFamily(namespace+"_app_info",
		"Magic WAN app attributes as labels; always 1.",
		prometheus.GaugeValue, "account_id", "app_id", "source", "name", "type")
	e.up = newFamily(namespace+"_up",
		"Whether this scrape's call to the endpoint for the account succeeded (1) or failed (0); the exporter's log says why.",
		prometheus.GaugeValue, "account_id", "endpoint")
	e.scrapeDuration = newFamily(namespace+"_scrape_duration_seconds",
		"How long this scrape's call to the endpoint for the account took, in seconds.",
		prometheus.GaugeValue, "account_id", "endpoint")
	e.lastSuccess = newFamily(namespace+"_last_success_timestamp_seconds",
		"Unix time the last successful call to the endpoint for the account finished: the age of the data served. Absent until a call succeeds.",
		prometheus.GaugeValue, "account_id", "endpoint")
	e.backoff = newFamily(namespace+"_api_backoff_seconds",
		"Seconds left before the exporter calls the Cloudflare API again after an HTTP 429 (rate limit reached); 0 when it calls normally.",
		prometheus.GaugeValue)
	e.accountInfo = newFamily(namespace+"_account_info",
		"Each scraped Cloudflare account, with its name as a label (empty when the credential may not read account details); always 1.",
		prometheus.GaugeValue, "account_id", "account_name")
	e.windowActive = newFamily(namespace+"_connector_interrupt_window_active",
		"Whether now is inside one of the connector's upgrade (interrupt) windows, in its own time zone (1) or not (0). A connector may restart to upgrade inside one: a missed heartbeat then is expected.",
		prometheus.GaugeValue, connector...)
	e.windowNextStart = newFamily(namespace+"_connector_interrupt_window_next_start_timestamp_seconds",
		"Unix time the connector's next allowed upgrade window opens, skipping disallowed days and embargo dates; absent if none opens within 400 days.",
		prometheus.GaugeValue, connector...)
	e.windowDuration = newFamily(namespace+"_connector_interrupt_window_duration_seconds",
		"Length of the connector's upgrade windows, in seconds.",
		prometheus.GaugeValue, connector...)
	e.configErrorsTotal = newFamily(namespace+"_connector_config_errors_total",
		"Times the connector's data was found invalid: an upgrade window configuration that cannot be computed (unknown time zone, bad day name or hour), whose window metrics are then not exported, or a timestamp that cannot be read, treated as absent. Its other metrics are kept; the exporter's log says which field is wrong.",
		prometheus.CounterValue, connector...)

	e.connectorsFetch = newFetcher[[]api.Connector](cfg.MinInterval, cfg.Timeout, e.now)
	e.appsFetch = newFetcher[[]api.App](cfg.MinInterval, cfg.Timeout, e.now)

	e.scrapers = []scraper{
		{name: api.EndpointConnectors, scrape: e.scrapeConnectors},
		{name: api.EndpointApps, scrape: e.scrapeApps},
	}
	e.families = []*family{
		e.connectorInfo, e.connectorActivated, e.connectorPrimary, e.connectorLastHeartbeat,
		e.connectorHeartbeatAge, e.connectorLastUpdated, e.apps, e.appInfo, e.up, e.scrapeDuration,
		e.lastSuccess, e.backoff, e.accountInfo, e.windowActive, e.windowNextStart, e.windowDuration,
		e.configErrorsTotal,
	}
	if cfg.Telemetry != nil {
		e.telemetry = cfg.Telemetry
		e.scrapers = append(e.scrapers, scraper{name: api.EndpointTelemetry, scrape: e.telemetry.scrape})
		e.families = append(e.families, e.telemetry.families...)
	}
	slices.SortFunc(e.families, func(a, b *family) int { return strings.Compare(a.name, b.name) })
	return e, nil
}

// Describe implements prometheus.Collector.
func (e *Exporter) Describe(ch chan<- *prometheus.Desc) {
	for _, f := range e.families {
		ch <- f.desc
	}
}

// Collect implements prometheus.Collector, bounding the API calls by the
// configured timeout only.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	e.scrape(context.Background(), nil).emit(chanSink(ch))
}

// WithContext returns a collector for one scrape of every account, whose
// API calls end when ctx does.
func (e *Exporter) WithContext(ctx context.Context) prometheus.Collector {
	return scrapeCollector{e: e, ctx: ctx}
}

type scrapeCollector struct {
	e    *Exporter
	ctx  context.Context
	only *api.Account
}

func (s scrapeCollector) Describe(ch chan<- *prometheus.Desc) { s.e.Describe(ch) }
func (s scrapeCollector) Collect(ch chan<- prometheus.Metric) {
	s.e.scrape(s.ctx, s.only).emit(chanSink(ch))
}

// scrape calls the API for one account (only), or for every account of
// e.accounts. Accounts are called concurrently, at most AccountConcurrency
// at once, each calling its endpoints concurrently, so that a scrape lasts
// as long as the slowest call, not the sum. Its outcome emits the samples.
func (e *Exporter) scrape(ctx context.Context, only *api.Account) *scrapeOutcome {
	if e.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.timeout)
		defer cancel()
	}
	var accounts []api.Account
	discovery := false
	switch {
	case only != nil:
		accounts = []api.Account{*only}
	case !e.probeOnly:
		e.accounts.waitReady(ctx)
		accounts = e.accounts.Current()
		discovery = e.accounts.Discovering()
	}
	e.prune()
	outcomes := make([]accountOutcome, len(accounts))
	var slots chan struct{}
	if e.accountConcurrency > 0 {
		slots = make(chan struct{}, e.accountConcurrency)
	}
	var wg sync.WaitGroup
	for i, account := range accounts {
		wg.Go(func() {
			if slots != nil {
				select {
				case slots <- struct{}{}:
					defer func() { <-slots }()
				case <-ctx.Done():
					// The deadline passed before the account's turn: no
					// call is made, and none is counted as a failed request.
					outcomes[i] = e.abandoned(account, ctx.Err())
					return
				}
			}
			outcomes[i] = e.scrapeAccount(ctx, account)
		})
	}
	wg.Wait()
	return &scrapeOutcome{e: e, accounts: outcomes, discovery: discovery, backoff: e.client.BackoffRemaining().Seconds()}
}

// scrapeOutcome is what a scrape's API calls returned.
type scrapeOutcome struct {
	e         *Exporter
	accounts  []accountOutcome
	discovery bool
	backoff   float64
}

// emit writes the scrape's samples to s, family by family in name order.
func (o *scrapeOutcome) emit(s sink) {
	for _, f := range o.e.families {
		o.e.emitFamily(f, s, o.accounts, o.discovery, o.backoff)
	}
}

// prune forgets what is kept per account for accounts the exporter no
// longer scrapes (dropped from the listing, or never allowed).
func (e *Exporter) prune() {
	keep := e.accounts.Allowed
	e.connectorsFetch.prune(keep)
	e.appsFetch.prune(keep)
	e.configErrors.prune(keep)
	if e.telemetry != nil {
		e.telemetry.retain(keep)
	}
}

// scrapeAccount calls every endpoint of the account concurrently.
func (e *Exporter) scrapeAccount(ctx context.Context, account api.Account) accountOutcome {
	out := accountOutcome{account: account, endpoints: make([]endpointOutcome, len(e.scrapers))}
	var wg sync.WaitGroup
	for i, sc := range e.scrapers {
		wg.Go(func() {
			start := time.Now()
			// A failed call returns no emitter; telemetry, whose failures
			// are of earlier refreshes, still emits the snapshots it has.
			em, res, err := sc.scrape(ctx, account.ID)
			if err != nil {
				e.logFailure(account.ID, sc.name, res, err)
			}
			out.endpoints[i] = endpointOutcome{endpoint: sc.name, emitter: em, res: res, err: err, duration: time.Since(start)}
		})
	}
	wg.Wait()
	return out
}

// abandoned is the outcome of an account the scrape ran out of time for.
func (e *Exporter) abandoned(account api.Account, err error) accountOutcome {
	out := accountOutcome{account: account}
	for _, sc := range e.scrapers {
		err := fmt.Errorf("scrape deadline reached before account %s's turn: %w", account.ID, err)
		e.logFailure(account.ID, sc.name, scrapeResult{}, err)
		out.endpoints = append(out.endpoints, endpointOutcome{endpoint: sc.name, err: err})
	}
	return out
}

// emitFamily writes one family's samples from the scrape's outcomes.
func (e *Exporter) emitFamily(f *family, s sink, outcomes []accountOutcome, discovery bool, backoff float64) {
	switch f {
	case e.backoff:
		s.sample(e.backoff, backoff)
	case e.accountInfo:
		for _, a := range outcomes {
			s.sample(e.accountInfo, 1, a.account.ID, a.account.Name)
		}
	case e.up, e.lastSuccess:
		if discovery {
			e.emitDiscovery(f, s)
		}
		for _, a := range outcomes {
			for _, o := range a.endpoints {
				switch {
				case f == e.up:
					s.sample(e.up, boolToFloat(o.err == nil), a.account.ID, o.endpoint)
				case !o.res.lastSuccess.IsZero():
					s.sample(e.lastSuccess, unixSeconds(o.res.lastSuccess), a.account.ID, o.endpoint)
				}
			}
		}
	case e.scrapeDuration:
		for _, a := range outcomes {
			for _, o := range a.endpoints {
				s.sample(e.scrapeDuration, o.duration.Seconds(), a.account.ID, o.endpoint)
			}
		}
	default:
		for _, a := range outcomes {
			for _, o := range a.endpoints {
				if o.emitter != nil {
					o.emitter.emit(f, s)
				}
			}
		}
	}
}

// emitDiscovery reports whether the latest account listing succeeded, as
// cloudflare_magic_up{account_id="", endpoint="accounts"} (f is e.up), and
// when a listing last succeeded (f is e.lastSuccess).
func (e *Exporter) emitDiscovery(f *family, s sink) {
	attempted, lastSuccess, err := e.accounts.status()
	switch {
	case !attempted:
	case f == e.up:
		s.sample(e.up, boolToFloat(err == nil), "", api.EndpointAccounts)
	case !lastSuccess.IsZero():
		s.sample(e.lastSuccess, unixSeconds(lastSuccess), "", api.EndpointAccounts)
	}
}

// authHint is logged with a refused credential.
const authHint = "the credential needs the Magic WAN Read permission (apps also accept Magic Transit Read) on this account"

// logFailure logs a failed scrape of one endpoint, once per scrape. A
// rate-limit pause is logged once, by the scrapes that received the 429,
// and the refusals during it only at debug level; so are outcomes reused
// from an earlier scrape.
func (e *Exporter) logFailure(account, endpoint string, res scrapeResult, err error) {
	var backoff *api.BackoffError
	var apiErr *api.Error
	switch {
	case res.cached || (errors.As(err, &backoff) && !backoff.Started):
		level.Debug(e.logger).Log("msg", "scrape failed", "account_id", account, "endpoint", endpoint, "err", err)
	case backoff != nil:
		level.Warn(e.logger).Log("msg", "rate limited by the Cloudflare API: pausing every call", "account_id", account,
			"endpoint", endpoint, "retry_after", backoff.Remaining.Round(time.Second), "err", err)
	case errors.As(err, &apiErr) && apiErr.IsAuth():
		level.Error(e.logger).Log("msg", "scrape failed", "account_id", account, "endpoint", endpoint, "err", err, "hint", authHint)
	default:
		level.Error(e.logger).Log("msg", "scrape failed", "account_id", account, "endpoint", endpoint, "err", err)
	}
}

func boolToFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// unixSeconds is t as float Unix seconds, sub-second precision kept.
func unixSeconds(t time.Time) float64 {
	return float64(t.UnixNano()) / 1e9
}
