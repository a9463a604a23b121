package collector

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/exportertest"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/exposition"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/poll"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var testNow = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// stack is the exporter wired as in main, against the simulated API over
// real HTTP, behind its /metrics and /probe handlers.
type stack struct {
	sim      *simulator.Server
	client   *api.Client
	accounts *poll.Accounts
	tel      *poll.Telemetry
	exp      *Exporter
	page     *httptest.Server
	logs     *exportertest.LogBuffer
	clock    *simulator.Clock
	// edge is the edge view, nil unless stackConfig.edge; refreshEdge
	// refreshes it.
	edge *poll.Edge
}

// stackConfig is what differs between the tests' stacks.
type stackConfig struct {
	minInterval time.Duration
	// fleet defaults to the demo fleet.
	fleet []simulator.Account
	// fixed are the accounts given by flag; none, with discover, lists them.
	fixed     []string
	discover  bool
	probeOnly bool
	// noSites leaves the sites endpoint out, as --no-collector.sites.
	noSites bool
	// telemetry, if set, adds telemetry refreshed every telemetry of the
	// stack's clock; startTelemetry runs it.
	telemetry time.Duration
	// telemetryClient wraps the API client for telemetry.
	telemetryClient func(poll.TelemetryClient) poll.TelemetryClient
	// edge adds the edge view on the stack's clock. Nothing refreshes it
	// in the background: tests call refreshEdge, so that no assertion
	// depends on timing.
	edge    bool
	simOpts []simulator.Option
	// edgeMaxSeries is the edge view's --collector.edge.max-series.
	edgeMaxSeries int
	// budgets adds the budget guards of the default --cloudflare.budget-share.
	budgets bool
}

func newStack(t *testing.T, minInterval time.Duration, opts ...simulator.Option) *stack {
	return newStackWith(t, stackConfig{minInterval: minInterval, simOpts: opts})
}

func newStackWith(t *testing.T, cfg stackConfig) *stack {
	t.Helper()
	clk := simulator.NewClock(testNow)
	if cfg.fleet == nil {
		cfg.fleet = simulator.DemoFleet(testNow)
	}
	if cfg.fixed == nil && !cfg.discover {
		cfg.fixed = []string{simulator.AccountRetail, simulator.AccountLabs}
	}
	opts := append([]simulator.Option{simulator.WithClock(clk.Now), simulator.WithToken(simulator.DemoToken)}, cfg.simOpts...)
	sim := simulator.NewServer(cfg.fleet, opts...)
	metrics := NewAPIMetrics(clk.Now)
	client, err := api.New(api.Config{
		BaseURL: sim.Start(t), Auth: mustToken(t), Now: clk.Now, Observe: metrics.Observe,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.CloseIdleConnections)
	logs := &exportertest.LogBuffer{}
	logger := log.NewLogfmtLogger(logs)
	accounts := poll.NewAccounts(poll.AccountsConfig{Client: client, Fixed: cfg.fixed, Refresh: time.Hour, Timeout: 5 * time.Second, Logger: logger, Now: clk.Now})
	budgets := map[string]*poll.Budget{}
	if cfg.budgets {
		budgets["rest"] = poll.NewBudget(poll.RESTLimit/2, poll.LimitWindow, clk.Now)
		budgets["graphql"] = poll.NewBudget(poll.GraphQLLimit/2, poll.LimitWindow, clk.Now)
	}
	var tel *poll.Telemetry
	if cfg.telemetry > 0 {
		var tc poll.TelemetryClient = client
		if cfg.telemetryClient != nil {
			tc = cfg.telemetryClient(tc)
		}
		tel, err = poll.NewTelemetry(poll.TelemetryConfig{Client: tc, Interval: cfg.telemetry, Concurrency: 4,
			Timeout: 10 * time.Second, Now: clk.Now, Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
	}
	var edge *poll.Edge
	if cfg.edge {
		edge, err = poll.NewEdge(poll.EdgeConfig{Client: client, Accounts: accounts, Interval: time.Minute,
			Timeout: 30 * time.Second, MaxSeries: cfg.edgeMaxSeries, Logger: logger, Now: clk.Now, Budget: budgets["graphql"]})
		if err != nil {
			t.Fatal(err)
		}
	}
	poller, err := poll.New(poll.Config{
		Client: client, Accounts: accounts, ProbeOnly: cfg.probeOnly,
		MinInterval: cfg.minInterval, Now: clk.Now, Timeout: 10 * time.Second,
		// As many accounts at once as there are, per scrape: concurrent
		// scrapes must not wait on one another for these slots.
		AccountConcurrency: 3,
		Logger:             logger,
		Telemetry:          tel,
		Sites:              !cfg.noSites,
		Edge:               edge,
		Budget:             budgets["rest"],
	})
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.budgets {
		budgets = nil
	}
	exp, err := New(Config{Poller: poller, APIMetrics: metrics, Logins: &Logins{}, Logger: logger, Now: clk.Now, Budgets: budgets})
	if err != nil {
		t.Fatal(err)
	}
	opts2 := HandlerOpts{Timeout: 10 * time.Second, TimeoutOffset: 500 * time.Millisecond, Logger: logger}
	mux := http.NewServeMux()
	mux.Handle("/metrics", NewHandler(exp, prometheus.NewRegistry(), opts2))
	mux.Handle("/probe", NewProbeHandler(exp, opts2))
	page := httptest.NewServer(mux)
	t.Cleanup(page.Close)
	return &stack{sim: sim, client: client, accounts: accounts, tel: tel, exp: exp, page: page, logs: logs, clock: clk, edge: edge}
}

// refreshEdge queries every account's edge view once, as one tick of the
// background refresh does, and returns when the new views are published.
func (s *stack) refreshEdge(t *testing.T) {
	t.Helper()
	if s.edge == nil {
		t.Fatal("refreshEdge on a stack without stackConfig.edge")
	}
	s.edge.RefreshAll(context.Background())
}

// runAccounts lists the accounts in the background until the test ends,
// and waits for the first listing.
func (s *stack) runAccounts(t *testing.T) {
	t.Helper()
	runUntilCleanup(t, s.accounts.Run)
	exportertest.Eventually(t, "the first account listing", 10*time.Second, s.accounts.Ready)
}

// startTelemetry refreshes the snapshots in the background until the test
// ends.
func (s *stack) startTelemetry(t *testing.T) { runUntilCleanup(t, s.tel.Run) }

func runUntilCleanup(t *testing.T, run func(context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { defer close(stopped); run(ctx) }()
	t.Cleanup(func() { cancel(); <-stopped })
}

func mustToken(t *testing.T) api.Auth {
	a, err := api.TokenAuth(simulator.DemoToken)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// scrape fetches /metrics, as Prometheus would with a scrape timeout
// (seconds, 0 for none), and returns its body.
func (s *stack) scrape(t *testing.T, timeout float64) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.page.URL+"/metrics", nil)
	if timeout > 0 {
		req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", fmt.Sprint(timeout))
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	defer hc.CloseIdleConnections()
	resp, err := hc.Do(req)
	if err != nil {
		t.Errorf("scrape: %v", err)
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("scrape answered %d", resp.StatusCode)
	}
	noLabelCountDrops(t, string(b), nil)
	return string(b)
}

// get fetches path and returns the status and body.
func (s *stack) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(s.page.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func upLine(account, endpoint string, v int) string {
	return fmt.Sprintf(`cloudflare_magic_up{account_id=%q,endpoint=%q} %d`, account, endpoint, v)
}

// samples returns the sample lines of the family on page.
func samples(page, family string) []string {
	var out []string
	for _, l := range strings.Split(page, "\n") {
		if strings.HasPrefix(l, family+"{") || strings.HasPrefix(l, family+" ") {
			out = append(out, l)
		}
	}
	return out
}

// render writes a page of e for res, as Scrape would, with the families
// filter wants.
func render(t *testing.T, e *Exporter, res *poll.Result, filter exposition.Filter) string {
	t.Helper()
	return writePage(t, &Page{e: e, p: e.newPage(res)}, filter)
}

func writePage(t *testing.T, pg *Page, filter exposition.Filter) string {
	t.Helper()
	var b bytes.Buffer
	w := exposition.NewWriter(&b, exposition.Text, filter, nil)
	pg.Write(w)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	noLabelCountDrops(t, b.String(), w.Dropped())
	return b.String()
}

// familiesOf is a filter of the declared families that pass keep.
func familiesOf(keep func(Reference) bool) exposition.Filter {
	f := exposition.Filter{}
	for _, r := range References() {
		if keep(r) {
			f[r.Name] = true
		}
	}
	return f
}

// offlineExporter renders poll results made up by a test; its poller has
// no account to poll.
func offlineExporter(t *testing.T) *Exporter {
	t.Helper()
	p, err := poll.New(poll.Config{Client: &fixedClient{}})
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(Config{Poller: p, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// lint reports what promlint finds on page.
func lint(t *testing.T, page string) {
	t.Helper()
	problems, err := promlint.New(strings.NewReader(page)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

func TestPartialFailure(t *testing.T) {
	s := newStack(t, 0)
	s.sim.SetFault(simulator.AccountRetail, simulator.EndpointConnectors, simulator.Fault{
		Status: 502, Body: "<html>Bad Gateway</html>", ContentType: "text/html",
	})
	s.sim.SetFault(simulator.AccountLabs, simulator.EndpointApps, simulator.Fault{
		Status: 403, Errors: []simulator.Message{{Code: 10000, Message: "Authentication error"}},
	})
	p := parse(t, writePage(t, s.exp.Scrape(context.Background(), nil), nil))
	retail, labs := simulator.AccountRetail, simulator.AccountLabs
	// Each failed call costs its endpoint only: its up is 0, it never
	// succeeded, and none of its series is served; the others stand.
	for _, c := range []struct {
		account, endpoint string
		up                float64
		family            string
	}{
		{retail, "connectors", 0, "cloudflare_magic_connector_info"},
		{retail, "apps", 1, "cloudflare_magic_app_info"},
		{retail, "sites", 1, "cloudflare_magic_site_info"},
		{labs, "connectors", 1, "cloudflare_magic_connector_info"},
		{labs, "apps", 0, "cloudflare_magic_app_info"},
		{labs, "sites", 1, "cloudflare_magic_site_info"},
	} {
		if got := p.value(t, "cloudflare_magic_up", "account_id", c.account, "endpoint", c.endpoint); got != c.up {
			t.Errorf("up{%s, %s} = %v, want %v", c.account, c.endpoint, got, c.up)
		}
		_, succeeded := p.find(t, "cloudflare_magic_last_success_timestamp_seconds", "account_id", c.account, "endpoint", c.endpoint)
		if n := p.count(c.family, "account_id", c.account); succeeded != (c.up == 1) || (n > 0) != (c.up == 1) {
			t.Errorf("%s of %s: last success %v, %d series of %s; want both only if up", c.endpoint, c.account, succeeded, n, c.family)
		}
	}
	// A site whose account's connectors failed has no heartbeat count
	// (no false zero); the other account's sites have theirs.
	if n := p.count("cloudflare_magic_site_connectors_heartbeating", "account_id", retail); n != 0 {
		t.Errorf("%d heartbeat counts for the sites of an account whose connectors failed", n)
	}
	if n := p.count("cloudflare_magic_site_connectors_heartbeating", "account_id", labs); n == 0 {
		t.Error("no heartbeat counts for the other account's sites")
	}

	// One line per failed call; the same failure again within a minute is
	// held back, then logged with the count of repeats.
	logs := s.logs.String()
	for _, want := range []string{
		`level=error msg="API call failed" account_id=` + simulator.AccountRetail + ` endpoint=connectors err="connectors for account ` + simulator.AccountRetail + `: GET /accounts/` + simulator.AccountRetail + `/magic/connectors: HTTP 502 Bad Gateway`,
		`level=error msg="API call failed" account_id=` + simulator.AccountLabs + ` endpoint=apps err="apps for account ` + simulator.AccountLabs + `: GET /accounts/` + simulator.AccountLabs + `/magic/apps: HTTP 403 Forbidden: 10000: Authentication error"`,
	} {
		if strings.Count(logs, want) != 1 {
			t.Errorf("log lacks, or repeats, %q:\n%s", want, logs)
		}
	}
	s.logs.Reset()
	s.exp.Scrape(context.Background(), nil)
	if logs := s.logs.String(); logs != "" {
		t.Errorf("the same failures a second time are logged again at once:\n%s", logs)
	}
	s.clock.Add(time.Minute)
	s.exp.Scrape(context.Background(), nil)
	logs = s.logs.String()
	if n := strings.Count(logs, "repeated=1 "); n != 2 {
		t.Errorf("after a minute, want the 2 failures logged again with repeated=1, got %d:\n%s", n, logs)
	}
}

// TestNoSecretInMetrics scrapes the page as /metrics serves it, through
// the client and real HTTP, from a simulated fleet whose connectors carry
// license keys, and checks neither they nor the credential appear.
func TestNoSecretInMetrics(t *testing.T) {
	s := newStack(t, 0)
	page := s.scrape(t, 0)
	if !strings.Contains(page, "cloudflare_magic_connector_info") {
		t.Fatalf("no connector metrics served:\n%s", page)
	}
	for _, secret := range []string{simulator.LicenseKeyPrefix, simulator.DemoToken, simulator.DemoKey} {
		if strings.Contains(page, secret) || strings.Contains(s.logs.String(), secret) {
			t.Errorf("page or log contains %q", secret)
		}
	}
}

// TestLint lints a whole /metrics page: every family of the demo fleet, the
// API metrics and the exporter's own.
func TestLint(t *testing.T) {
	s := newStack(t, 0)
	page := s.scrape(t, 0)
	for _, family := range []string{"cloudflare_magic_connector_info", "cloudflare_magic_api_requests_total", "cloudflare_magic_api_ratelimit_limit"} {
		if len(samples(page, family)) == 0 {
			t.Errorf("no %s to lint", family)
		}
	}
	lint(t, page)
}

// TestProbePage: a scrape of one account carries that account only, with
// the name it is given.
func TestProbePage(t *testing.T) {
	s := newStack(t, 0)
	page := writePage(t, s.exp.Scrape(context.Background(), &api.Account{ID: simulator.AccountLabs, Name: "Acme Labs"}), nil)
	if strings.Contains(page, simulator.AccountRetail) || !strings.Contains(page, `account_name="Acme Labs"`) {
		t.Errorf("probe page:\n%s", page)
	}
	if strings.Contains(page, "cloudflare_magic_api_requests_total") {
		t.Error("the API metrics, which describe the process, are on a page of one account")
	}
}

func TestDeletedConnectorDisappears(t *testing.T) {
	s := newStackWith(t, stackConfig{fixed: []string{simulator.AccountLabs}})
	if n := len(samples(s.scrape(t, 0), "cloudflare_magic_connector_activated")); n != 2 {
		t.Fatalf("%d connectors, want 2", n)
	}
	s.sim.SetConnectors(simulator.AccountLabs, simulator.DemoFleet(testNow)[1].Connectors[:1])
	if n := len(samples(s.scrape(t, 0), "cloudflare_magic_connector_activated")); n != 1 {
		t.Errorf("%d connectors after one was deleted, want 1", n)
	}
}

// TestInvalidUTF8StaysOffThePage: a label value that is not UTF-8 would
// make Prometheus reject the whole page.
func TestInvalidUTF8StaysOffThePage(t *testing.T) {
	res := &poll.Result{Accounts: []poll.AccountResult{{
		Account: api.Account{ID: simulator.AccountLabs, Name: "Acme \xffLabs"},
		Apps:    []api.App{{AppRecord: &api.AppRecord{ID: "id", Source: api.AppSourceAccount, Name: "bad \xff name"}}},
	}}}
	page := render(t, offlineExporter(t), res, nil)
	if !strings.Contains(page, "name=\"bad \uFFFD name\"") || !strings.Contains(page, "account_name=\"Acme \uFFFDLabs\"") {
		t.Errorf("page:\n%q", page)
	}
	lint(t, page)
}

// TestRepeatedIDsAreWrittenOnce: a listing that repeats a connector or an
// app (pages shifting while read) must not repeat its series, which would
// fail the whole page.
func TestRepeatedIDsAreWrittenOnce(t *testing.T) {
	record := api.ConnectorRecord{ID: "c1", Timezone: "Europe/London", InterruptWindowDurationHours: 4, Activated: true}
	c := api.Connector{ConnectorRecord: &record}
	otherRecord := record
	otherRecord.ID = "c2"
	other := api.Connector{ConnectorRecord: &otherRecord}
	appRecord := api.AppRecord{ID: "a1", Source: api.AppSourceAccount, Name: "CRM", Type: "SaaS"}
	app := api.App{AppRecord: &appRecord}
	managedRecord := appRecord
	managedRecord.Source = api.AppSourceManaged // the same ID from another source is another app
	managed := api.App{AppRecord: &managedRecord}
	res := &poll.Result{Accounts: []poll.AccountResult{{
		Account:    api.Account{ID: simulator.AccountLabs},
		Connectors: []api.Connector{c, other, c, c},
		Apps:       []api.App{app, managed, app},
	}}}
	page := render(t, offlineExporter(t), res, nil)
	if n := len(samples(page, "cloudflare_magic_connector_activated")); n != 2 {
		t.Errorf("%d connector series, want 2", n)
	}
	if n := len(samples(page, "cloudflare_magic_app_info")); n != 2 {
		t.Errorf("%d app series, want 2", n)
	}
	if got := samples(page, "cloudflare_magic_apps"); !slices.Equal(got, []string{
		`cloudflare_magic_apps{account_id="` + simulator.AccountLabs + `",source="account",type="SaaS"} 1`,
		`cloudflare_magic_apps{account_id="` + simulator.AccountLabs + `",source="managed",type="SaaS"} 1`,
	}) {
		t.Errorf("app counts:\n%s", strings.Join(got, "\n"))
	}
	lint(t, page)
}

func TestWindowConfigErrors(t *testing.T) {
	s := newStackWith(t, stackConfig{fixed: []string{simulator.AccountLabs}})
	connectors := slices.Clone(simulator.DemoFleet(testNow)[1].Connectors)
	set := func() { s.sim.SetConnectors(simulator.AccountLabs, slices.Clone(connectors)) }
	connectors[1].Timezone = "Mars/Olympus_Mons"
	set()
	bad := connectors[1].ID
	labelsOf := func(connector string) string {
		return `{account_id="` + simulator.AccountLabs + `",connector_id="` + connector + `"}`
	}
	// The good connector's counter is there at 0, as the bad one's was
	// before its first error.
	checkCount := func(page string, want int) {
		t.Helper()
		got := samples(page, "cloudflare_magic_connector_config_errors_total")
		lines := []string{
			fmt.Sprintf("cloudflare_magic_connector_config_errors_total%s 0", labelsOf(connectors[0].ID)),
			fmt.Sprintf("cloudflare_magic_connector_config_errors_total%s %d", labelsOf(bad), want),
		}
		if !slices.Equal(got, lines) {
			t.Errorf("config errors:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(lines, "\n"))
		}
	}
	connectors[1].Timezone = "Europe/London"
	set()
	checkCount(s.scrape(t, 0), 0)
	connectors[1].Timezone = "Mars/Olympus_Mons"
	set()

	var page string
	for range 3 {
		page = s.scrape(t, 0)
		checkCount(page, 1)
	}
	logs := s.logs.String()
	if n := strings.Count(logs, "connector data is invalid"); n != 1 {
		t.Errorf("logged %d times over 3 scrapes, want once:\n%s", n, logs)
	}
	if !strings.Contains(logs, `timezone \"Mars/Olympus_Mons\" is not an IANA time zone name`) {
		t.Errorf("the log does not say what is wrong:\n%s", logs)
	}
	// The bad connector keeps every other metric, and the good one its
	// window metrics.
	for _, want := range []string{
		`cloudflare_magic_connector_info{account_id="` + simulator.AccountLabs + `",connector_id="` + bad + `"`,
		`cloudflare_magic_connector_heartbeat_age_seconds` + labelsOf(bad),
		`cloudflare_magic_connector_interrupt_window_active` + labelsOf(connectors[0].ID),
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, `interrupt_window_active`+labelsOf(bad)) {
		t.Error("window metrics exported for a connector with an unknown time zone")
	}

	// Corrected, then broken again: counted and logged a second time.
	connectors[1].Timezone = "Europe/London"
	set()
	s.scrape(t, 0)
	connectors[1].Timezone = "Mars/Olympus_Mons"
	set()
	checkCount(s.scrape(t, 0), 2)
	if n := strings.Count(s.logs.String(), "connector data is invalid"); n != 2 {
		t.Errorf("logged %d times, want twice", n)
	}
	// A timestamp that cannot be read counts too, and costs only the
	// metrics it feeds.
	connectors[1].Timezone = "Europe/London"
	connectors[1].HeartbeatEvery, connectors[1].LastHeartbeat = 0, "yesterday"
	set()
	page = s.scrape(t, 0)
	checkCount(page, 3)
	if !strings.Contains(s.logs.String(), "invalid last_heartbeat (not an RFC 3339 time between 2009 and 2262), treated as absent") {
		t.Errorf("log:\n%s", s.logs.String())
	}
	if strings.Contains(page, `heartbeat_age_seconds`+labelsOf(bad)) || !strings.Contains(page, `interrupt_window_active`+labelsOf(bad)) {
		t.Error("an unreadable heartbeat should cost the heartbeat metrics, not the window ones")
	}

	// A connector deleted upstream takes its counter with it.
	connectors = connectors[:1]
	set()
	if got := samples(s.scrape(t, 0), "cloudflare_magic_connector_config_errors_total"); len(got) != 1 || strings.Contains(got[0], bad) {
		t.Errorf("after the connector was deleted: %q, want the other connector's only", got)
	}
}
