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
	// ProbeOnly leaves the accounts out of /metrics (WithContext, Collect):
	// they are scraped one at a time through /probe (ForAccount).
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
// accounts. Register it directly, or call WithContext (every account) or
// ForAccount (one, for /probe) per scrape so that the scrape's deadline and
// cancellation reach the API calls.
type Exporter struct {
	client   Client
	accounts *Accounts
	// accountSlots bounds the accounts scraped at once; nil for no bound.
	accountSlots chan struct{}
	probeOnly    bool
	timeout      time.Duration
	logger       log.Logger
	now          func() time.Time
	scrapers     []scraper
	// telemetry is nil when the telemetry collector is off.
	telemetry *Telemetry

	connectorsFetch *fetcher[[]api.Connector]
	appsFetch       *fetcher[[]api.App]
	zones           *zoneCache
	configErrors    *configErrors

	connectorInfo          *prometheus.Desc
	connectorActivated     *prometheus.Desc
	connectorPrimary       *prometheus.Desc
	connectorLastHeartbeat *prometheus.Desc
	connectorHeartbeatAge  *prometheus.Desc
	connectorLastUpdated   *prometheus.Desc
	apps                   *prometheus.Desc
	appInfo                *prometheus.Desc
	up                     *prometheus.Desc
	scrapeDuration         *prometheus.Desc
	lastSuccess            *prometheus.Desc
	backoff                *prometheus.Desc
	accountInfo            *prometheus.Desc
	windowActive           *prometheus.Desc
	windowNextStart        *prometheus.Desc
	windowDuration         *prometheus.Desc
	configErrorsTotal      *prometheus.Desc
}

// scraper is one API endpoint: it fetches an account's data and emits the
// endpoint's series. When the call fails it emits nothing and returns the
// error. Either way it returns when a call for the account last succeeded.
type scraper struct {
	name   string
	scrape func(ctx context.Context, accountID string, ch chan<- prometheus.Metric) (scrapeResult, error)
}

// scrapeResult says how a scraper's data was obtained.
type scrapeResult struct {
	lastSuccess time.Time
	// cached is true when a recent outcome was reused without a call.
	cached bool
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
	if cfg.AccountConcurrency > 0 {
		e.accountSlots = make(chan struct{}, cfg.AccountConcurrency)
	}

	connector := []string{"account_id", "connector_id"}
	e.connectorInfo = prometheus.NewDesc(namespace+"_connector_info",
		"Magic WAN Connector attributes as labels; always 1. Join on account_id and connector_id to add them to other connector metrics.",
		[]string{"account_id", "connector_id", "device_id", "serial_number", "device_type", "site_id", "version", "timezone", "notes"}, nil)
	e.connectorActivated = prometheus.NewDesc(namespace+"_connector_activated",
		"Whether the connector is activated (1) or not (0). A connector that is not activated does not carry traffic.",
		connector, nil)
	e.connectorPrimary = prometheus.NewDesc(namespace+"_connector_primary",
		"Whether the connector is the primary (1) or the secondary (0) of a high-availability pair; single connectors are primary.",
		connector, nil)
	e.connectorLastHeartbeat = prometheus.NewDesc(namespace+"_connector_last_heartbeat_timestamp_seconds",
		"Unix time of the connector's last heartbeat to Cloudflare. Connectors heartbeat about every 10 seconds; absent if the connector has never connected.",
		connector, nil)
	e.connectorHeartbeatAge = prometheus.NewDesc(namespace+"_connector_heartbeat_age_seconds",
		"Seconds since the connector's last heartbeat, computed when scraped. Minutes mean the connector or its uplink is down; absent if it has never connected.",
		connector, nil)
	e.connectorLastUpdated = prometheus.NewDesc(namespace+"_connector_last_updated_timestamp_seconds",
		"Unix time the connector's configuration last changed.",
		connector, nil)
	e.apps = prometheus.NewDesc(namespace+"_apps",
		"Number of Magic WAN apps defined, by source (account: custom, managed: defined by Cloudflare) and type; apps without a type count as unknown.",
		[]string{"account_id", "source", "type"}, nil)
	e.appInfo = prometheus.NewDesc(namespace+"_app_info",
		"Magic WAN app attributes as labels; always 1.",
		[]string{"account_id", "app_id", "source", "name", "type"}, nil)
	e.up = prometheus.NewDesc(namespace+"_up",
		"Whether this scrape's call to the endpoint for the account succeeded (1) or failed (0); the exporter's log says why.",
		[]string{"account_id", "endpoint"}, nil)
	e.scrapeDuration = prometheus.NewDesc(namespace+"_scrape_duration_seconds",
		"How long this scrape's call to the endpoint for the account took, in seconds.",
		[]string{"account_id", "endpoint"}, nil)
	e.lastSuccess = prometheus.NewDesc(namespace+"_last_success_timestamp_seconds",
		"Unix time the last successful call to the endpoint for the account finished: the age of the data served. Absent until a call succeeds.",
		[]string{"account_id", "endpoint"}, nil)
	e.backoff = prometheus.NewDesc(namespace+"_api_backoff_seconds",
		"Seconds left before the exporter calls the Cloudflare API again after an HTTP 429 (rate limit reached); 0 when it calls normally.",
		nil, nil)
	e.accountInfo = prometheus.NewDesc(namespace+"_account_info",
		"Each scraped Cloudflare account, with its name as a label (empty when the credential may not read account details); always 1.",
		[]string{"account_id", "account_name"}, nil)
	e.windowActive = prometheus.NewDesc(namespace+"_connector_interrupt_window_active",
		"Whether now is inside one of the connector's upgrade (interrupt) windows, in its own time zone (1) or not (0). A connector may restart to upgrade inside one: a missed heartbeat then is expected.",
		connector, nil)
	e.windowNextStart = prometheus.NewDesc(namespace+"_connector_interrupt_window_next_start_timestamp_seconds",
		"Unix time the connector's next allowed upgrade window opens, skipping disallowed days and embargo dates; absent if none opens within 400 days.",
		connector, nil)
	e.windowDuration = prometheus.NewDesc(namespace+"_connector_interrupt_window_duration_seconds",
		"Length of the connector's upgrade windows, in seconds.",
		connector, nil)
	e.configErrorsTotal = prometheus.NewDesc(namespace+"_connector_config_errors_total",
		"Times a connector's upgrade window configuration was found invalid (an unknown time zone, a bad day name or hour): its window metrics are not exported; the exporter's log says which field is wrong.",
		connector, nil)

	e.connectorsFetch = newFetcher[[]api.Connector](cfg.MinInterval, cfg.Timeout, e.now)
	e.appsFetch = newFetcher[[]api.App](cfg.MinInterval, cfg.Timeout, e.now)

	e.scrapers = []scraper{
		{name: api.EndpointConnectors, scrape: e.scrapeConnectors},
		{name: api.EndpointApps, scrape: e.scrapeApps},
	}
	if cfg.Telemetry != nil {
		e.telemetry = cfg.Telemetry
		e.scrapers = append(e.scrapers, scraper{name: api.EndpointTelemetry, scrape: e.telemetry.scrape})
	}
	return e, nil
}

// Describe implements prometheus.Collector.
func (e *Exporter) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		e.connectorInfo, e.connectorActivated, e.connectorPrimary, e.connectorLastHeartbeat,
		e.connectorHeartbeatAge, e.connectorLastUpdated, e.apps, e.appInfo, e.up, e.scrapeDuration,
		e.lastSuccess, e.backoff, e.accountInfo, e.windowActive, e.windowNextStart, e.windowDuration,
		e.configErrorsTotal,
	} {
		ch <- d
	}
	if e.telemetry != nil {
		e.telemetry.Describe(ch)
	}
}

// Collect implements prometheus.Collector, bounding the API calls by the
// configured timeout only.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	e.collect(context.Background(), nil, ch)
}

// WithContext returns a collector for one scrape of every account, whose
// API calls end when ctx does.
func (e *Exporter) WithContext(ctx context.Context) prometheus.Collector {
	return scrapeCollector{e: e, ctx: ctx}
}

// ForAccount returns a collector for one scrape of just the account, as
// /probe serves, whose API calls end when ctx does.
func (e *Exporter) ForAccount(ctx context.Context, accountID string) prometheus.Collector {
	return scrapeCollector{e: e, ctx: ctx, only: &api.Account{ID: accountID, Name: e.accounts.Name(accountID)}}
}

type scrapeCollector struct {
	e    *Exporter
	ctx  context.Context
	only *api.Account
}

func (s scrapeCollector) Describe(ch chan<- *prometheus.Desc) { s.e.Describe(ch) }
func (s scrapeCollector) Collect(ch chan<- prometheus.Metric) { s.e.collect(s.ctx, s.only, ch) }

// collect scrapes one account (only), or every account of e.accounts and
// the state of their discovery. Accounts are scraped concurrently, at most
// AccountConcurrency at once, each calling its endpoints concurrently, so
// that a scrape lasts as long as the slowest call, not the sum.
func (e *Exporter) collect(ctx context.Context, only *api.Account, ch chan<- prometheus.Metric) {
	if e.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.timeout)
		defer cancel()
	}
	var accounts []api.Account
	switch {
	case only != nil:
		accounts = []api.Account{*only}
	case !e.probeOnly:
		e.accounts.waitReady(ctx)
		accounts = e.accounts.Current()
		e.collectDiscovery(ch)
	}
	var wg sync.WaitGroup
	for _, account := range accounts {
		wg.Go(func() {
			if e.accountSlots != nil {
				select {
				case e.accountSlots <- struct{}{}:
					defer func() { <-e.accountSlots }()
				case <-ctx.Done():
				}
			}
			e.collectAccount(ctx, account, ch)
		})
	}
	wg.Wait()
	send(ch, e.backoff, e.client.BackoffRemaining().Seconds())
}

// collectAccount calls every endpoint of the account concurrently.
func (e *Exporter) collectAccount(ctx context.Context, account api.Account, ch chan<- prometheus.Metric) {
	send(ch, e.accountInfo, 1, account.ID, account.Name)
	var wg sync.WaitGroup
	for _, s := range e.scrapers {
		wg.Go(func() {
			start := time.Now()
			res, err := s.scrape(ctx, account.ID, ch)
			up := 1.0
			if err != nil {
				up = 0
				e.logFailure(account.ID, s.name, res, err)
			}
			send(ch, e.up, up, account.ID, s.name)
			send(ch, e.scrapeDuration, time.Since(start).Seconds(), account.ID, s.name)
			if !res.lastSuccess.IsZero() {
				send(ch, e.lastSuccess, unixSeconds(res.lastSuccess), account.ID, s.name)
			}
		})
	}
	wg.Wait()
}

// collectDiscovery reports whether the latest account listing succeeded,
// as cloudflare_magic_up{account_id="", endpoint="accounts"}, when the
// accounts are discovered rather than given.
func (e *Exporter) collectDiscovery(ch chan<- prometheus.Metric) {
	if !e.accounts.Discovering() {
		return
	}
	attempted, lastSuccess, err := e.accounts.status()
	if !attempted {
		return
	}
	send(ch, e.up, boolToFloat(err == nil), "", api.EndpointAccounts)
	if !lastSuccess.IsZero() {
		send(ch, e.lastSuccess, unixSeconds(lastSuccess), "", api.EndpointAccounts)
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

// send emits a gauge. A label value Prometheus rejects (it cannot happen
// with strings decoded from JSON) yields an invalid metric, which the
// registry reports, instead of a panic.
func send(ch chan<- prometheus.Metric, desc *prometheus.Desc, value float64, labelValues ...string) {
	m, err := prometheus.NewConstMetric(desc, prometheus.GaugeValue, value, labelValues...)
	if err != nil {
		m = prometheus.NewInvalidMetric(desc, err)
	}
	ch <- m
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
