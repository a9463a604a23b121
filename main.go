// Command cloudflare_magic_exporter exports the state of Cloudflare Magic WAN
// Connectors and apps as Prometheus metrics, calling the Cloudflare API on
// every scrape.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/alecthomas/units"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"
	sloggokit "github.com/tjhop/slog-gokit"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/poll"
)

const (
	exporterName = "cloudflare_magic_exporter"
	// defaultPort is above the 9100-9999 range of the Prometheus default
	// port allocations, which is exhausted, and not allocated there.
	defaultPort = ":10192"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// flags are the command line, parsed.
type flags struct {
	web         *web.FlagConfig
	metricsPath string
	log         promslog.Config

	apiToken, apiTokenFile       string
	apiEmail, apiKey, apiKeyFile string
	accounts                     []string
	accountsRefresh              time.Duration
	accountConcurrency           int
	apiURL                       string
	timeout                      time.Duration
	minInterval                  time.Duration
	maxResponseBytes             byteSize
	timeoutOffset                time.Duration
	demo                         bool

	collectAccounts      bool
	telemetry            bool
	telemetryInterval    time.Duration
	telemetryConcurrency int
}

func parseFlags(args []string) (*flags, error) {
	f := &flags{}
	app := kingpin.New(exporterName, "Prometheus exporter for Cloudflare Magic WAN Connectors and apps.")
	app.Version(version.Print(exporterName))
	app.HelpFlag.Short('h')
	f.web = kingpinflag.AddFlags(app, defaultPort)
	app.Flag("web.telemetry-path", "Path under which to expose metrics.").
		Default("/metrics").StringVar(&f.metricsPath)
	app.Flag("web.timeout-offset", "Subtracted from the scrape timeout Prometheus announces, so the page is answered before Prometheus gives up.").
		Default("0.5s").DurationVar(&f.timeoutOffset)
	app.Flag("cloudflare.api-token", "Cloudflare API token with the Magic WAN Read permission. Prefer the file or the environment variable: a command line is visible to every local user.").
		Envar("CLOUDFLARE_API_TOKEN").PlaceHolder("TOKEN").StringVar(&f.apiToken)
	app.Flag("cloudflare.api-token-file", "File holding the Cloudflare API token; read again when it changes.").
		PlaceHolder("PATH").StringVar(&f.apiTokenFile)
	app.Flag("cloudflare.api-email", "Email of the Cloudflare user, for the legacy global API key.").
		Envar("CLOUDFLARE_API_EMAIL").PlaceHolder("EMAIL").StringVar(&f.apiEmail)
	app.Flag("cloudflare.api-key", "Legacy Cloudflare global API key, used with --cloudflare.api-email. An API token is safer.").
		Envar("CLOUDFLARE_API_KEY").PlaceHolder("KEY").StringVar(&f.apiKey)
	app.Flag("cloudflare.api-key-file", "File holding the legacy Cloudflare global API key.").
		PlaceHolder("PATH").StringVar(&f.apiKeyFile)
	app.Flag("cloudflare.account-id", "Cloudflare account ID (32 hex characters) to export; repeat the flag or give a comma-separated list. Without it, every account the credential can see is discovered. It is also the allow-list of /probe.").
		Envar("CLOUDFLARE_ACCOUNT_ID").PlaceHolder("ID").StringsVar(&f.accounts)
	app.Flag("cloudflare.accounts-refresh", "How often the accounts are listed again (to discover them, or to look up their names).").
		Default(poll.DefaultAccountsRefresh.String()).DurationVar(&f.accountsRefresh)
	app.Flag("cloudflare.account-concurrency", "Most accounts a scrape calls at once.").
		Default("10").IntVar(&f.accountConcurrency)
	app.Flag("cloudflare.api-url", "Base URL of the Cloudflare API.").
		Default(api.DefaultBaseURL).StringVar(&f.apiURL)
	app.Flag("cloudflare.timeout", "Longest time a scrape waits for the Cloudflare API, and a telemetry call may take; Prometheus's own scrape timeout, less --web.timeout-offset, applies to scrapes when shorter.").
		Default("10s").DurationVar(&f.timeout)
	app.Flag("cloudflare.min-interval", "Reuse the outcome of an API call for scrapes within this interval, to spend less of the rate-limit budget; 0 calls on every scrape. Concurrent scrapes always share one call.").
		Default("0s").DurationVar(&f.minInterval)
	app.Flag("cloudflare.max-response-bytes", "Largest API response body read; a larger one fails the call with a clear error.").
		Default("64MiB").SetValue(&f.maxResponseBytes)
	app.Flag("demo", "Serve metrics of a simulated fleet from a built-in simulated Cloudflare API, to try the exporter without a Cloudflare account. Credentials and --cloudflare.api-url are ignored.").
		BoolVar(&f.demo)
	app.Flag("collector.accounts", "Scrape the accounts on /metrics. Turn it off when Prometheus scrapes them one by one through /probe, so that /metrics carries only the exporter's own metrics.").
		Default("true").BoolVar(&f.collectAccounts)
	app.Flag("collector.telemetry", "Export each activated connector's latest telemetry snapshot: tunnel health, HA state, interfaces, filesystems, temperatures. Costs one API call per connector per --collector.telemetry.interval, against the rate limit of the token's user.").
		BoolVar(&f.telemetry)
	app.Flag("collector.telemetry.interval", "Shortest time between two telemetry calls for the same connector, whatever the scrape interval.").
		Default("60s").DurationVar(&f.telemetryInterval)
	// 8 calls at a time refresh 1,000 connectors in about 30 s at 250 ms a
	// call, within a 60 s interval, while staying far below Cloudflare's 200
	// requests per second per IP and leaving connections for the scrapes.
	app.Flag("collector.telemetry.concurrency", "Most telemetry calls in flight at once, across all accounts.").
		Default("8").IntVar(&f.telemetryConcurrency)
	promslogflag.AddFlags(app, &f.log)
	if _, err := app.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case f.accountsRefresh <= 0:
		return nil, errors.New("--cloudflare.accounts-refresh must be positive")
	case f.accountConcurrency <= 0:
		return nil, errors.New("--cloudflare.account-concurrency must be positive")
	}
	return f, nil
}

func run(args []string) int {
	f, err := parseFlags(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: error: %s, try --help\n", exporterName, err)
		return 2
	}
	logger, slogger := newLoggers(&f.log)
	if f.demo {
		if err := startDemo(f, logger); err != nil {
			level.Error(logger).Log("msg", "starting the demo API failed", "err", err)
			return 1
		}
	}
	a, err := wire(f, logger)
	if err != nil {
		level.Error(logger).Log("msg", "invalid configuration", "err", err)
		return 1
	}
	level.Info(logger).Log("msg", "starting "+exporterName, "version", version.Info(), "build_context", version.BuildContext())
	if err := serve(a, f, logger, slogger); err != nil {
		level.Error(logger).Log("msg", "serving HTTP failed", "err", err)
		return 1
	}
	return 0
}

// exporter is what wire builds: the HTTP handler, and the loops to run in
// the background while it serves.
type exporter struct {
	handler    http.Handler
	background []func(context.Context)
}

// wire builds the API client, the accounts, the collectors and the HTTP
// routes from the flags.
func wire(f *flags, logger log.Logger) (*exporter, error) {
	auth, err := credential(f)
	if err != nil {
		return nil, err
	}
	fixed, err := accountIDs(f.accounts)
	if err != nil {
		return nil, err
	}
	apiMetrics := collector.NewAPIMetrics(nil)
	client, err := api.New(api.Config{
		BaseURL:          f.apiURL,
		Auth:             auth,
		UserAgent:        version.ComponentUserAgent(exporterName),
		MaxResponseBytes: int64(f.maxResponseBytes),
		Observe:          apiMetrics.Observe,
	})
	if err != nil {
		return nil, err
	}
	accounts := poll.NewAccounts(poll.AccountsConfig{
		Client: client, Fixed: fixed, Refresh: f.accountsRefresh, Timeout: f.timeout, Logger: logger,
	})
	x := &exporter{background: []func(context.Context){accounts.Run}}
	var telemetry *poll.Telemetry
	if f.telemetry {
		telemetry, err = poll.NewTelemetry(poll.TelemetryConfig{
			Client:      client,
			Interval:    f.telemetryInterval,
			Concurrency: f.telemetryConcurrency,
			Timeout:     f.timeout,
			Logger:      logger,
		})
		if err != nil {
			return nil, err
		}
		x.background = append(x.background, telemetry.Run)
	}
	poller, err := poll.New(poll.Config{
		Client:             client,
		Accounts:           accounts,
		AccountConcurrency: f.accountConcurrency,
		ProbeOnly:          !f.collectAccounts,
		Timeout:            f.timeout,
		MinInterval:        f.minInterval,
		Logger:             logger,
		Telemetry:          telemetry,
	})
	if err != nil {
		return nil, err
	}
	exp, err := collector.New(collector.Config{Poller: poller, APIMetrics: apiMetrics, Logger: logger})
	if err != nil {
		return nil, err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		versioncollector.NewCollector(exporterName),
	)
	opts := collector.HandlerOpts{Timeout: f.timeout, TimeoutOffset: f.timeoutOffset, Logger: logger}
	mux := http.NewServeMux()
	mux.Handle(f.metricsPath, promhttp.InstrumentMetricHandler(reg, collector.NewHandler(exp, reg, opts)))
	mux.Handle("/probe", collector.NewProbeHandler(exp, opts))
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "Healthy") })
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if !accounts.Ready() {
			http.Error(w, "Not ready: listing the accounts", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "Ready")
	})
	if f.metricsPath != "/" {
		landing, err := web.NewLandingPage(web.LandingConfig{
			Name:        exporterName,
			Description: "Prometheus exporter for Cloudflare Magic WAN Connectors and apps",
			Version:     version.Info(),
			Form: web.LandingForm{
				Action: "/probe",
				Inputs: []web.LandingFormInput{{Label: "Account ID", Type: "text", Name: "account", Placeholder: "32 hex characters"}},
			},
			Links: []web.LandingLinks{
				{Address: f.metricsPath, Text: "Metrics"},
				{Address: "/-/healthy", Text: "Health"},
			},
		})
		if err != nil {
			return nil, err
		}
		mux.Handle("/", landing)
	}
	x.handler = mux
	return x, nil
}

// shutdownGrace is how long in-flight scrapes may finish after SIGTERM
// before their API calls are cancelled; the process exits within about a
// second more, inside the 5 s an orchestrator typically allows.
const shutdownGrace = 3500 * time.Millisecond

// serve runs the background loops and serves HTTP until SIGTERM or
// SIGINT, then drains the scrapes in flight.
func serve(x *exporter, f *flags, logger log.Logger, slogger *slog.Logger) error {
	background, stopBackground := context.WithCancel(context.Background())
	defer stopBackground()
	for _, loop := range x.background {
		go loop(background)
	}
	// Scrapes run under scrapes: cancelling it ends the API calls of those
	// still running when the grace period is up.
	scrapes, cancelScrapes := context.WithCancel(context.Background())
	defer cancelScrapes()
	srv := &http.Server{
		Handler:           x.handler,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return scrapes },
	}
	signals, stopSignals := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stopSignals()
	served := make(chan error, 1)
	go func() { served <- web.ListenAndServe(srv, f.web, slogger) }()
	select {
	case err := <-served:
		return err
	case <-signals.Done():
	}

	level.Info(logger).Log("msg", "shutting down: draining scrapes in flight", "grace", shutdownGrace)
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		cancelScrapes() // they answer at once, with up 0
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			_ = srv.Close()
		}
	}
	level.Info(logger).Log("msg", "stopped")
	return nil
}

// byteSize is a flag value in bytes, given as a number or with a unit
// (64MiB, 512KiB).
type byteSize int64

func (b *byteSize) Set(s string) error {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
		*b = byteSize(n)
		return nil
	}
	n, err := units.ParseBase2Bytes(s)
	if err != nil || n <= 0 {
		return fmt.Errorf("%q is not a positive size such as 1048576 or 64MiB", s)
	}
	*b = byteSize(n)
	return nil
}

func (b *byteSize) String() string { return units.Base2Bytes(*b).String() }

// credential picks the one credential the flags and environment give.
func credential(f *flags) (api.Auth, error) {
	const tokenHint = "--cloudflare.api-token-file, --cloudflare.api-token or CLOUDFLARE_API_TOKEN"
	const keyHint = "--cloudflare.api-email with --cloudflare.api-key-file, --cloudflare.api-key or CLOUDFLARE_API_KEY"
	hasToken := f.apiToken != "" || f.apiTokenFile != ""
	hasKey := f.apiKey != "" || f.apiKeyFile != ""
	switch {
	case hasToken && (hasKey || f.apiEmail != ""):
		return nil, fmt.Errorf("both an API token and an email/API key are set: set either %s, or %s", tokenHint, keyHint)
	case f.apiToken != "" && f.apiTokenFile != "":
		return nil, errors.New("both --cloudflare.api-token (or CLOUDFLARE_API_TOKEN) and --cloudflare.api-token-file are set: set one")
	case f.apiTokenFile != "":
		return api.TokenFileAuth(f.apiTokenFile)
	case f.apiToken != "":
		return api.TokenAuth(f.apiToken)
	case f.apiKey != "" && f.apiKeyFile != "":
		return nil, errors.New("both --cloudflare.api-key (or CLOUDFLARE_API_KEY) and --cloudflare.api-key-file are set: set one")
	case hasKey && f.apiEmail == "":
		return nil, errors.New("an API key needs the user's email: set --cloudflare.api-email or CLOUDFLARE_API_EMAIL")
	case f.apiEmail != "" && !hasKey:
		return nil, errors.New("--cloudflare.api-email needs the global API key: set --cloudflare.api-key-file, --cloudflare.api-key or CLOUDFLARE_API_KEY")
	case hasKey:
		key := f.apiKey
		if f.apiKeyFile != "" {
			b, err := os.ReadFile(f.apiKeyFile)
			if err != nil {
				return nil, fmt.Errorf("read API key file: %w", err)
			}
			key = string(b)
		}
		return api.KeyAuth(f.apiEmail, key)
	}
	return nil, fmt.Errorf("no Cloudflare credential: set %s (or %s)", tokenHint, keyHint)
}

// accountIDs splits comma-separated values, checks each ID and drops
// repeats. None means: discover the accounts.
func accountIDs(values []string) ([]string, error) {
	var ids []string
	seen := map[string]bool{}
	for _, v := range values {
		for _, id := range strings.Split(v, ",") {
			id = strings.ToLower(strings.TrimSpace(id))
			if id == "" || seen[id] {
				continue
			}
			if !api.ValidAccountID(id) {
				return nil, fmt.Errorf("account ID %q is not 32 hex characters (--cloudflare.account-id, CLOUDFLARE_ACCOUNT_ID)", id)
			}
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// startDemo serves the simulated fleet on a loopback port and points the
// flags at it.
func startDemo(f *flags, logger log.Logger) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	sim := simulator.NewServer(simulator.DemoFleet(time.Now()), simulator.WithToken(simulator.DemoToken))
	go func() {
		srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
		_ = srv.Serve(l)
	}()
	f.apiURL = simulator.BaseURL(l.Addr().String())
	f.apiToken, f.apiTokenFile, f.apiEmail, f.apiKey, f.apiKeyFile = simulator.DemoToken, "", "", "", ""
	level.Warn(logger).Log("msg", "demo mode: the metrics describe a simulated fleet, not your Cloudflare account", "api_url", f.apiURL)
	return nil
}

// newLoggers builds the go-kit logger the exporter logs with, and an
// slog.Logger for exporter-toolkit that writes through the same go-kit
// logger, so there is one stream in one format.
func newLoggers(cfg *promslog.Config) (log.Logger, *slog.Logger) {
	w := log.NewSyncWriter(os.Stderr)
	var base log.Logger
	if cfg.Format.String() == "json" {
		base = log.NewJSONLogger(w)
	} else {
		base = log.NewLogfmtLogger(w)
	}
	allowed, err := level.Parse(cfg.Level.String())
	if err != nil {
		allowed = level.InfoValue()
	}
	logger := level.NewFilter(base, level.Allow(allowed))
	logger = log.With(logger, "ts", log.DefaultTimestampUTC, "caller", log.DefaultCaller)
	return logger, slog.New(sloggokit.NewGoKitHandler(slogKeys(base), cfg.Level))
}

// slogKeys puts the keys of a record from slog-gokit in the order and under
// the names the go-kit logger uses: level, ts (UTC), caller, then the rest.
func slogKeys(next log.Logger) log.Logger {
	return log.LoggerFunc(func(kv ...any) error {
		var lvl, ts, caller []any
		rest := make([]any, 0, len(kv))
		for i := 0; i+1 < len(kv); i += 2 {
			switch kv[i] {
			case level.Key():
				lvl = kv[i : i+2]
			case slog.TimeKey:
				t, ok := kv[i+1].(time.Time)
				if ok {
					ts = []any{"ts", t.UTC()}
				}
			case "caller":
				caller = kv[i : i+2]
			default:
				rest = append(rest, kv[i:i+2]...)
			}
		}
		out := make([]any, 0, len(kv))
		out = append(append(append(append(out, lvl...), ts...), caller...), rest...)
		return next.Log(out...)
	})
}
