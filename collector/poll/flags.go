package poll

import (
	"fmt"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
)

// Flags are the command-line flags that say what to poll and how often.
type Flags struct {
	AccountsRefresh      time.Duration
	AccountConcurrency   int
	Timeout              time.Duration
	MinInterval          time.Duration
	BudgetShare          float64
	CollectAccounts      bool
	Sites                bool
	SiteHeartbeatTimeout time.Duration
	Telemetry            bool
	TelemetryInterval    time.Duration
	TelemetryConcurrency int
	Edge                 bool
	EdgeInterval         time.Duration
	EdgeMaxSeries        int
}

// AddFlags defines the polling flags on app.
func AddFlags(app *kingpin.Application) *Flags {
	f := &Flags{}
	app.Flag("cloudflare.accounts-refresh", "How often the accounts are listed again (to discover them, or to look up their names).").
		Default(DefaultAccountsRefresh.String()).DurationVar(&f.AccountsRefresh)
	app.Flag("cloudflare.account-concurrency", "Most accounts a scrape calls at once.").
		Default("10").IntVar(&f.AccountConcurrency)
	app.Flag("cloudflare.timeout", "Longest time a scrape waits for the Cloudflare API, and a telemetry call may take; Prometheus's own scrape timeout, less --web.timeout-offset, applies to scrapes when shorter.").
		Default("10s").DurationVar(&f.Timeout)
	app.Flag("cloudflare.min-interval", "Reuse the outcome of an API call for scrapes within this interval, to spend less of the rate-limit budget; 0 calls on every scrape. Concurrent scrapes always share one call.").
		Default("0s").DurationVar(&f.MinInterval)
	app.Flag("cloudflare.budget-share", "Share of the Cloudflare rate limit (1,200 REST calls per 5 minutes per user) the exporter may spend, whatever the number of scrapers; past it, scrapes are served the last answers. 1 turns the guard off.").
		Default("0.5").Float64Var(&f.BudgetShare)
	app.Flag("collector.accounts", "Scrape the accounts on /metrics. Turn it off when Prometheus scrapes them one by one through /probe, so that /metrics carries only the exporter's own metrics.").
		Default("true").BoolVar(&f.CollectAccounts)
	app.Flag("collector.sites", "Export the Magic WAN sites and whether their connectors heartbeat: one more API call per account per scrape.").
		Default("true").BoolVar(&f.Sites)
	app.Flag("collector.sites.heartbeat-timeout", "How recent a connector's heartbeat must be to count as heartbeating for its site.").
		Default("5m").DurationVar(&f.SiteHeartbeatTimeout)
	app.Flag("collector.telemetry", "Export each activated connector's latest telemetry snapshot: tunnel health, HA state, interfaces, filesystems, temperatures. Costs one API call per connector per --collector.telemetry.interval, against the rate limit of the token's user.").
		Default("false").BoolVar(&f.Telemetry)
	app.Flag("collector.telemetry.interval", "Shortest time between two telemetry calls for the same connector, whatever the scrape interval.").
		Default("60s").DurationVar(&f.TelemetryInterval)
	// 8 calls at 250 ms refresh 1,000 connectors in about 30 s, within 60 s, far
	// below Cloudflare's 200 requests/s per IP, leaving connections for scrapes.
	app.Flag("collector.telemetry.concurrency", "Most telemetry calls in flight at once, across all accounts.").
		Default("8").IntVar(&f.TelemetryConcurrency)
	app.Flag("collector.edge", "Export Cloudflare's edge view from the GraphQL Analytics API: tunnel health from every data centre, tunnel traffic, and every connector's telemetry. One GraphQL query per account per --collector.edge.interval; needs the Account Analytics Read permission.").
		Default("true").BoolVar(&f.Edge)
	app.Flag("collector.edge.interval", "How often the edge view of each account is queried, whatever the number of scrapers.").
		Default("60s").DurationVar(&f.EdgeInterval)
	app.Flag("collector.edge.max-series", "Most edge series kept per account; past it the oldest are dropped and counted. The default fits 20,000 tunnels and 10,000 connectors.").
		Default(fmt.Sprint(DefaultEdgeMaxSeries)).IntVar(&f.EdgeMaxSeries)
	return f
}

// Validate checks what kingpin's types let through; an error names the flag.
func (f *Flags) Validate() error {
	for _, c := range []struct {
		ok         bool
		flag, rule string
		value      any
	}{
		{f.Timeout > 0, "cloudflare.timeout", "must be positive", f.Timeout},
		{f.MinInterval >= 0, "cloudflare.min-interval", "must not be negative", f.MinInterval},
		{f.AccountsRefresh > 0, "cloudflare.accounts-refresh", "must be positive", f.AccountsRefresh},
		{f.AccountConcurrency > 0, "cloudflare.account-concurrency", "must be positive", f.AccountConcurrency},
		{f.BudgetShare > 0 && f.BudgetShare <= 1, "cloudflare.budget-share", "must be above 0 and at most 1", f.BudgetShare},
		{f.SiteHeartbeatTimeout > 0, "collector.sites.heartbeat-timeout", "must be positive", f.SiteHeartbeatTimeout},
		{f.TelemetryInterval > 0, "collector.telemetry.interval", "must be positive", f.TelemetryInterval},
		{f.TelemetryConcurrency > 0, "collector.telemetry.concurrency", "must be positive", f.TelemetryConcurrency},
		{f.EdgeInterval >= time.Second, "collector.edge.interval", "must be at least 1s", f.EdgeInterval},
		{f.EdgeMaxSeries > 0, "collector.edge.max-series", "must be positive", f.EdgeMaxSeries},
	} {
		if !c.ok {
			return fmt.Errorf("--%s %s, got %q", c.flag, c.rule, fmt.Sprint(c.value))
		}
	}
	return nil
}

// Cloudflare's rate limits, per user: REST and GraphQL each have their own.
const (
	RESTLimit    = 1200
	GraphQLLimit = 300
	LimitWindow  = 5 * time.Minute
)

// Budgets are the budget guards the flags give, by API: "rest" for the
// REST calls, "graphql" (only with the edge view) for the GraphQL queries;
// nil guards when the guard is off (a share of 1).
func (f *Flags) Budgets() map[string]*Budget {
	b := map[string]*Budget{"rest": nil}
	if f.Edge {
		b["graphql"] = nil
	}
	if f.BudgetShare < 1 {
		b["rest"] = NewBudget(int(f.BudgetShare*RESTLimit), LimitWindow, nil)
		if f.Edge {
			b["graphql"] = NewBudget(int(f.BudgetShare*GraphQLLimit), LimitWindow, nil)
		}
	}
	return b
}

// AllowRetry lets the API client retry a failed request only when the
// budget of its API allows one more: a retry spends the rate limit too.
func AllowRetry(budgets map[string]*Budget) func(endpoint string) bool {
	return func(endpoint string) bool {
		if api.IsGraphQL(endpoint) {
			return budgets["graphql"].Take()
		}
		return budgets["rest"].Take()
	}
}
