// Command cloudflare_magic_exporter exports the state of Cloudflare Magic WAN
// Connectors, sites and apps, and Cloudflare's edge view of its tunnels and
// connectors, as Prometheus metrics.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/version"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/exposition"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/poll"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/server"
)

const (
	exporterName = "cloudflare_magic_exporter"
	description  = "Prometheus exporter for Cloudflare Magic WAN: Connectors, sites and apps, and the edge view of tunnels and connectors (GraphQL Analytics)"
	// defaultPort is above the 9100-9999 range of the Prometheus default
	// port allocations, which is exhausted, and not allocated there.
	defaultPort = ":10192"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// flags are the command line, parsed.
type flags struct {
	server *server.Flags
	poll   *poll.Flags
	creds  api.Credentials
	// auth is the credential creds give; nil with --demo, whose
	// credential is the simulated API's.
	auth api.Auth
	// accounts are the IDs as given, accountIDs the IDs parsed.
	accounts, accountIDs []string
	apiURL               string
	maxResponseBytes     api.ByteSize
	maxInflightBytes     api.ByteSize
	timeoutOffset        time.Duration
	demo                 bool
	memory               memoryFlags
}

// memoryFlags tune the Go garbage collector as Prometheus does: the heap's
// soft limit from the container's, and a lower GOGC. Without them the heap
// grows to twice what is live before it is collected, and a pod sized for
// the fleet is killed.
type memoryFlags struct {
	auto  bool
	ratio float64
	// limit, when set, stands for the cgroup's limit.
	limit api.ByteSize
	gogc  int
}

func parseFlags(args []string) (*flags, error) {
	f := &flags{}
	app := kingpin.New(exporterName, description+".")
	app.Version(version.Print(exporterName))
	app.HelpFlag.Short('h')
	f.server = server.AddFlags(app, defaultPort)
	app.Flag("web.timeout-offset", "Subtracted from the scrape timeout Prometheus announces, so the page is answered before Prometheus gives up.").
		Default("0.5s").DurationVar(&f.timeoutOffset)
	app.Flag("cloudflare.api-token", "Cloudflare API token with the Magic WAN Read permission. Prefer the file or the environment variable: a command line is visible to every local user.").
		Envar("CLOUDFLARE_API_TOKEN").PlaceHolder("TOKEN").StringVar(&f.creds.Token)
	app.Flag("cloudflare.api-token-file", "File holding the Cloudflare API token; read again when it changes.").
		PlaceHolder("PATH").StringVar(&f.creds.TokenFile)
	app.Flag("cloudflare.api-email", "Email of the Cloudflare user, for the legacy global API key.").
		Envar("CLOUDFLARE_API_EMAIL").PlaceHolder("EMAIL").StringVar(&f.creds.Email)
	app.Flag("cloudflare.api-key", "Legacy Cloudflare global API key, used with --cloudflare.api-email. An API token is safer.").
		Envar("CLOUDFLARE_API_KEY").PlaceHolder("KEY").StringVar(&f.creds.Key)
	app.Flag("cloudflare.api-key-file", "File holding the legacy Cloudflare global API key.").
		PlaceHolder("PATH").StringVar(&f.creds.KeyFile)
	app.Flag("cloudflare.account-id", "Cloudflare account ID (32 hex characters) to export; repeat the flag or give a comma-separated list. Without it, every account the credential can see is discovered. It is also the allow-list of /probe.").
		Envar("CLOUDFLARE_ACCOUNT_ID").PlaceHolder("ID").StringsVar(&f.accounts)
	app.Flag("cloudflare.api-url", "Base URL of the Cloudflare API.").
		Default(api.DefaultBaseURL).StringVar(&f.apiURL)
	app.Flag("cloudflare.max-response-bytes", "Largest API response body read; a larger one fails the call with a clear error.").
		Default("40MiB").SetValue(&f.maxResponseBytes)
	app.Flag("cloudflare.max-inflight-bytes", "Most memory API answers being read may take at once, by all calls together: their bytes as they arrive and the arrays decoding them makes.").
		Default("64MiB").SetValue(&f.maxInflightBytes)
	app.Flag("demo", "Serve metrics of a simulated fleet from a built-in simulated Cloudflare API, to try the exporter without a Cloudflare account. Credentials and --cloudflare.api-url are ignored.").
		Default("false").BoolVar(&f.demo)
	app.Flag("auto-gomemlimit", "Set the Go heap's soft limit (GOMEMLIMIT) to --auto-gomemlimit.ratio of the memory limit of the container (its cgroup), or of the machine. A GOMEMLIMIT environment variable takes precedence.").
		Default("true").BoolVar(&f.memory.auto)
	app.Flag("auto-gomemlimit.ratio", "Share of the memory limit that GOMEMLIMIT is set to, in (0, 1]; the rest is left to what the Go runtime does not count, such as the binary's own pages.").
		Default("0.85").Float64Var(&f.memory.ratio)
	app.Flag("auto-gomemlimit.limit", "Memory limit to take the ratio of instead of the cgroup's, such as 128MiB. Unset, the cgroup's is read.").
		PlaceHolder("SIZE").SetValue(&f.memory.limit)
	app.Flag("runtime.gogc", "How much the Go heap may grow past what is live before it is collected, in percent, as GOGC: lower takes less memory for more CPU. A GOGC environment variable takes precedence.").
		Default("50").IntVar(&f.memory.gogc)
	f.poll = poll.AddFlags(app)
	server.ExplainFlags(app)
	if _, err := app.Parse(args); err != nil {
		return nil, err
	}
	// What kingpin's types let through; the error names the flag.
	u, err := url.Parse(f.apiURL)
	for _, c := range []struct {
		ok         bool
		flag, rule string
		value      any
	}{
		{f.timeoutOffset >= 0, "web.timeout-offset", "must not be negative", f.timeoutOffset},
		{f.memory.ratio > 0 && f.memory.ratio <= 1, "auto-gomemlimit.ratio", "must be in (0, 1]", f.memory.ratio},
		{f.memory.gogc > 0, "runtime.gogc", "must be positive", f.memory.gogc},
		{f.server.Limits.WriteTimeout > f.poll.Timeout, "web.write-timeout", "must be longer than --cloudflare.timeout=" + f.poll.Timeout.String(), f.server.Limits.WriteTimeout},
		{f.demo || err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "", "cloudflare.api-url", "must be an absolute http(s) URL", redactURL(f.apiURL)},
	} {
		if !c.ok {
			return nil, fmt.Errorf("--%s %s, got %q", c.flag, c.rule, fmt.Sprint(c.value))
		}
	}
	if f.accountIDs, err = api.ParseAccountIDs(f.accounts); err != nil {
		return nil, err
	}
	if err := f.poll.Validate(); err != nil {
		return nil, err
	}
	if err := f.server.Validate(); err != nil {
		return nil, err
	}
	if !f.demo {
		// Read here, token file included, so that a credential problem is a
		// usage error like any other flag's.
		if f.auth, err = f.creds.Auth(); err != nil {
			return nil, err
		}
	}
	return f, nil
}

func run(args []string) int {
	server.StampVersion()
	f, err := parseFlags(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: error: %s, try --help\n", exporterName, err)
		return 2
	}
	logger, slogger := server.NewLoggers(os.Stderr, &f.server.Log)
	tuneGC(f.memory, slogger)
	if f.demo {
		var stop func()
		var token string
		if f.apiURL, token, stop, err = simulator.StartDemo(time.Now()); err == nil {
			defer stop()
			f.auth, err = api.TokenAuth(token)
		}
		if err != nil {
			level.Error(logger).Log("msg", "starting the demo API failed", "err", err)
			return 1
		}
		level.Warn(logger).Log("msg", "demo mode: the metrics describe a simulated fleet, not your Cloudflare account", "api_url", f.apiURL)
	}
	x, err := wire(f, logger)
	if err != nil {
		// Not the flags, checked above: a part that would not start.
		level.Error(logger).Log("msg", "wiring the exporter failed", "err", err)
		return 1
	}
	level.Info(logger).Log("msg", "starting "+exporterName, "version", version.Info(), "build_context", version.BuildContext())
	if err := server.Run(server.Config{Handler: x.handler, Web: f.server.Web, Background: x.background, Logger: logger, SLogger: slogger,
		Limits: f.server.Limits, LoginFailed: x.logins.Failed}); err != nil {
		level.Error(logger).Log("msg", "serving HTTP failed", "err", err)
		return 1
	}
	return 0
}

// tuneGC sets GOGC and GOMEMLIMIT as the flags say, unless the environment
// does; the library logs the limit it set, and why not.
func tuneGC(m memoryFlags, logger *slog.Logger) {
	if os.Getenv("GOGC") == "" {
		// 50 as Prometheus since 2.53: "minimal additional CPU usage, but
		// greatly reduced memory" (docs/performance.md measures ours).
		debug.SetGCPercent(m.gogc)
	}
	if !m.auto {
		return
	}
	provider := memlimit.ApplyFallback(memlimit.FromCgroup, memlimit.FromSystem)
	if m.limit > 0 {
		provider = memlimit.Limit(uint64(m.limit))
	}
	_, _ = memlimit.Set(memlimit.WithRatio(m.ratio), memlimit.WithProvider(provider), memlimit.WithLogger(logger))
}

// exporter is what wire builds: the handler, and loops to run meanwhile.
type exporter struct {
	handler    http.Handler
	background []func(context.Context)
	logins     *collector.Logins
}

// wire builds the API client, the accounts, the collectors and the HTTP
// routes from the flags.
func wire(f *flags, logger log.Logger) (*exporter, error) {
	apiMetrics := collector.NewAPIMetrics(nil)
	p, budgets := f.poll, f.poll.Budgets()
	budget := budgets["rest"]
	client, err := api.New(api.Config{
		BaseURL:          f.apiURL,
		Auth:             f.auth,
		UserAgent:        version.ComponentUserAgent(exporterName),
		MaxResponseBytes: int64(f.maxResponseBytes),
		MaxInflightBytes: int64(f.maxInflightBytes),
		Observe:          apiMetrics.Observe,
		AllowRetry:       poll.AllowRetry(budgets),
		OnCredentialError: func(err error) {
			level.Warn(logger).Log("msg", "re-reading the API token file failed; the last good token stays in use", "err", err)
			apiMetrics.CredentialError(err)
		},
	})
	if err != nil {
		return nil, err
	}
	accounts := poll.NewAccounts(poll.AccountsConfig{
		Client: client, Fixed: f.accountIDs, Refresh: p.AccountsRefresh, Timeout: p.Timeout, Budget: budget, Logger: logger,
	})
	x := &exporter{background: []func(context.Context){accounts.Run}}
	var telemetry *poll.Telemetry
	if p.Telemetry {
		telemetry, err = poll.NewTelemetry(poll.TelemetryConfig{Client: client, Interval: p.TelemetryInterval,
			Concurrency: p.TelemetryConcurrency, Timeout: p.Timeout, Logger: logger, Budget: budget})
		if err != nil {
			return nil, err
		}
		x.background = append(x.background, telemetry.Run)
	}
	var edge *poll.Edge
	if p.Edge {
		edge, err = poll.NewEdge(poll.EdgeConfig{Client: client, Accounts: accounts, Interval: p.EdgeInterval,
			Timeout: p.EdgeInterval / 2, Budget: budgets["graphql"], MaxSeries: p.EdgeMaxSeries, Logger: logger})
		if err != nil {
			return nil, err
		}
		x.background = append(x.background, edge.Run)
	}
	poller, err := poll.New(poll.Config{Client: client, Accounts: accounts, AccountConcurrency: p.AccountConcurrency,
		ProbeOnly: !p.CollectAccounts, Timeout: p.Timeout, MinInterval: p.MinInterval, Logger: logger,
		Telemetry: telemetry, Sites: p.Sites, Budget: budget, Edge: edge})
	if err != nil {
		return nil, err
	}
	x.logins = &collector.Logins{}
	exp, err := collector.New(collector.Config{Poller: poller, APIMetrics: apiMetrics, Logins: x.logins, Logger: logger,
		SiteHeartbeatTimeout: p.SiteHeartbeatTimeout, Budgets: budgets,
		Limits: exposition.Limits{MaxLabelValueLength: f.server.MaxLabelValueLength}})
	if err != nil {
		return nil, err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		versioncollector.NewCollector(exporterName),
	)
	opts := collector.HandlerOpts{Timeout: p.Timeout, TimeoutOffset: f.timeoutOffset, Logger: logger}
	limit := exposition.InFlightLimit(f.server.MaxRequests) // shared by /metrics and /probe
	x.handler, err = server.NewMux(f.server, server.Routes{
		Name: exporterName, Description: description,
		Metrics: promhttp.InstrumentMetricHandler(reg, limit(collector.NewHandler(exp, reg, opts))),
		Probe:   limit(collector.NewProbeHandler(exp, opts)),
		// Ready once the accounts are known: at once with --cloudflare.account-id,
		// else once the first listing has finished, well or not. A failing
		// listing is an API problem the metrics show (up{endpoint="accounts"}),
		// no reason to stop routing scrapes here: a restart would not fix it.
		Ready:    accounts.Ready,
		NotReady: "Not ready: listing the accounts",
	})
	if err != nil {
		return nil, err
	}
	return x, nil
}

// redactURL hides a password in a URL shown in an error.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	if strings.Contains(s, "@") {
		return "(a URL that does not parse)"
	}
	return s
}
