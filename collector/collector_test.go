package collector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var testNow = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// fakeClient answers from the simulated fleet without HTTP: it turns the
// API's wire shapes into api types through the api package's own decoding.
type fakeClient struct {
	mu       sync.Mutex
	accounts map[string]simulator.Account
	now      time.Time
	errs     map[string]error // by "account/endpoint"
	calls    map[string]int
	// wait, if set, is called at the start of every call.
	wait    func(ctx context.Context) error
	backoff time.Duration
}

func (f *fakeClient) BackoffRemaining() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.backoff
}

func newFakeClient() *fakeClient {
	f := &fakeClient{accounts: map[string]simulator.Account{}, now: testNow, errs: map[string]error{}, calls: map[string]int{}}
	for _, a := range simulator.DemoFleet(testNow) {
		f.accounts[a.ID] = a
	}
	return f
}

func (f *fakeClient) call(ctx context.Context, account, endpoint string) (simulator.Account, error) {
	f.mu.Lock()
	f.calls[account+"/"+endpoint]++
	err := f.errs[account+"/"+endpoint]
	a, ok := f.accounts[account]
	wait := f.wait
	f.mu.Unlock()
	if wait != nil {
		if err := wait(ctx); err != nil {
			return a, err
		}
	}
	if err != nil {
		return a, err
	}
	if !ok {
		return a, &api.Error{Endpoint: endpoint, Op: "GET /accounts/" + account, StatusCode: 403,
			Errors: []api.Message{{Code: api.CodeAuthenticationError, Message: "Authentication error"}}}
	}
	return a, ctx.Err()
}

func (f *fakeClient) ListConnectors(ctx context.Context, account string) ([]api.Connector, error) {
	a, err := f.call(ctx, account, api.EndpointConnectors)
	if err != nil {
		return nil, err
	}
	wire := make([]simulator.Connector, len(a.Connectors))
	for i, c := range a.Connectors {
		wire[i] = c.At(f.now)
	}
	b, err := json.Marshal(wire)
	if err != nil {
		return nil, err
	}
	return api.DecodeConnectors(b)
}

func (f *fakeClient) ListApps(ctx context.Context, account string) ([]api.App, error) {
	a, err := f.call(ctx, account, api.EndpointApps)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(a.Apps)
	if err != nil {
		return nil, err
	}
	return api.DecodeApps(b)
}

func roundTrip(in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

func newTestExporter(t *testing.T, client Client, logger log.Logger, accounts ...string) *Exporter {
	t.Helper()
	if len(accounts) == 0 {
		accounts = []string{simulator.AccountRetail, simulator.AccountLabs}
	}
	e, err := New(Config{Client: client, Accounts: FixedAccounts(accounts...), Logger: logger, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// stableMetrics are every metric the exporter emits except the scrape
// durations, which vary from run to run.
var stableMetrics = []string{
	"cloudflare_magic_connector_info",
	"cloudflare_magic_connector_activated",
	"cloudflare_magic_connector_primary",
	"cloudflare_magic_connector_last_heartbeat_timestamp_seconds",
	"cloudflare_magic_connector_heartbeat_age_seconds",
	"cloudflare_magic_connector_last_updated_timestamp_seconds",
	"cloudflare_magic_apps",
	"cloudflare_magic_app_info",
	"cloudflare_magic_up",
	"cloudflare_magic_last_success_timestamp_seconds",
	"cloudflare_magic_api_backoff_seconds",
	"cloudflare_magic_account_info",
	"cloudflare_magic_connector_interrupt_window_active",
	"cloudflare_magic_connector_interrupt_window_next_start_timestamp_seconds",
	"cloudflare_magic_connector_interrupt_window_duration_seconds",
	"cloudflare_magic_connector_config_errors_total",
}

// compareGolden compares what c emits with testdata/name, or rewrites the
// file under -update.
func compareGolden(t *testing.T, c prometheus.Collector, name string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(c)
		got, err := testutil.GatherAndFormat(reg, expfmt.TypeTextPlain, stableMetrics...)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := testutil.CollectAndCompare(c, bytes.NewReader(want), stableMetrics...); err != nil {
		t.Error(err)
	}
}

func TestFleetMetrics(t *testing.T) {
	e := newTestExporter(t, newFakeClient(), nil)
	compareGolden(t, e, "fleet.prom")
}

func TestPartialFailure(t *testing.T) {
	var logs bytes.Buffer
	client := newFakeClient()
	client.errs[simulator.AccountRetail+"/connectors"] = &api.Error{
		Endpoint: api.EndpointConnectors, Op: "GET /accounts/" + simulator.AccountRetail + "/magic/connectors",
		StatusCode: 502, Err: errors.New(`response body is not JSON (Content-Type "text/html")`),
	}
	client.errs[simulator.AccountLabs+"/apps"] = &api.Error{
		Endpoint: api.EndpointApps, Op: "GET /accounts/" + simulator.AccountLabs + "/magic/apps",
		StatusCode: 403, Errors: []api.Message{{Code: 10000, Message: "Authentication error"}},
	}
	e := newTestExporter(t, client, log.NewLogfmtLogger(log.NewSyncWriter(&logs)))
	compareGolden(t, e, "partial_failure.prom")

	// One scrape, one line per failing account and endpoint.
	logs.Reset()
	testutil.CollectAndCount(e)
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 log lines for 2 failures, got %d:\n%s", len(lines), logs.String())
	}
	for _, want := range []string{
		`level=error msg="scrape failed" account_id=` + simulator.AccountRetail + ` endpoint=connectors err="list connectors for account ` + simulator.AccountRetail + `: GET /accounts/` + simulator.AccountRetail + `/magic/connectors: HTTP 502 Bad Gateway`,
		`level=error msg="scrape failed" account_id=` + simulator.AccountLabs + ` endpoint=apps err="list apps for account ` + simulator.AccountLabs + `: GET /accounts/` + simulator.AccountLabs + `/magic/apps: HTTP 403 Forbidden: 10000: Authentication error"`,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
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

// formatAll renders everything g gathers in the text format. (testutil's
// GatherAndFormat renders only the families it is asked for by name.)
func formatAll(t *testing.T, g prometheus.Gatherer) string {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

func TestLint(t *testing.T) {
	problems, err := testutil.CollectAndLint(newTestExporter(t, newFakeClient(), nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	problems, err = testutil.CollectAndLint(NewAPIMetrics(nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

// TestCallsAreConcurrent proves every endpoint of every account is called
// at once: each call waits until all four have started, which a sequential
// collector would never reach.
func TestCallsAreConcurrent(t *testing.T) {
	client := newFakeClient()
	var arrived sync.WaitGroup
	arrived.Add(4)
	allIn := make(chan struct{})
	go func() { arrived.Wait(); close(allIn) }()
	client.wait = func(ctx context.Context) error {
		arrived.Done()
		select {
		case <-allIn:
			return nil
		case <-time.After(10 * time.Second):
			return errors.New("calls were not concurrent")
		}
	}
	e := newTestExporter(t, client, nil)
	want := `
# HELP cloudflare_magic_up Whether this scrape's call to the endpoint for the account succeeded (1) or failed (0); the exporter's log says why.
# TYPE cloudflare_magic_up gauge
cloudflare_magic_up{account_id="4e5c2a1b9d8f7e6a5b4c3d2e1f0a9b8c",endpoint="apps"} 1
cloudflare_magic_up{account_id="4e5c2a1b9d8f7e6a5b4c3d2e1f0a9b8c",endpoint="connectors"} 1
cloudflare_magic_up{account_id="9f8e7d6c5b4a39281706f5e4d3c2b1a0",endpoint="apps"} 1
cloudflare_magic_up{account_id="9f8e7d6c5b4a39281706f5e4d3c2b1a0",endpoint="connectors"} 1
`
	if err := testutil.CollectAndCompare(e, strings.NewReader(want), "cloudflare_magic_up"); err != nil {
		t.Error(err)
	}
}

func TestCancelledScrapeCancelsCalls(t *testing.T) {
	client := newFakeClient()
	client.wait = func(ctx context.Context) error {
		<-ctx.Done() // only a cancelled scrape gets past this
		return ctx.Err()
	}
	e := newTestExporter(t, client, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got := testutil.CollectAndCount(e.WithContext(ctx), "cloudflare_magic_connector_info"); got != 0 {
		t.Errorf("%d connector series after a cancelled scrape", got)
	}
	want := fmt.Sprintf(`
# HELP cloudflare_magic_up Whether this scrape's call to the endpoint for the account succeeded (1) or failed (0); the exporter's log says why.
# TYPE cloudflare_magic_up gauge
cloudflare_magic_up{account_id=%[1]q,endpoint="apps"} 0
cloudflare_magic_up{account_id=%[1]q,endpoint="connectors"} 0
`, simulator.AccountRetail)
	e = newTestExporter(t, client, nil, simulator.AccountRetail)
	if err := testutil.CollectAndCompare(e.WithContext(ctx), strings.NewReader(want), "cloudflare_magic_up"); err != nil {
		t.Error(err)
	}
}

func TestTimeoutBoundsCalls(t *testing.T) {
	client := newFakeClient()
	client.wait = func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	}
	e, err := New(Config{Client: client, Accounts: FixedAccounts(simulator.AccountLabs), Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// Without the timeout this would never return.
	if got := testutil.CollectAndCount(e, "cloudflare_magic_up"); got != 2 {
		t.Errorf("%d up series, want 2", got)
	}
}

func TestDeletedConnectorDisappears(t *testing.T) {
	client := newFakeClient()
	e := newTestExporter(t, client, nil, simulator.AccountLabs)
	if n := testutil.CollectAndCount(e, "cloudflare_magic_connector_activated"); n != 2 {
		t.Fatalf("%d connectors, want 2", n)
	}
	labs := client.accounts[simulator.AccountLabs]
	labs.Connectors = labs.Connectors[:1]
	client.accounts[simulator.AccountLabs] = labs
	if n := testutil.CollectAndCount(e, "cloudflare_magic_connector_activated"); n != 1 {
		t.Errorf("%d connectors after one was deleted, want 1", n)
	}
}

func TestInvalidLabelValueDoesNotPanic(t *testing.T) {
	e := newTestExporter(t, newFakeClient(), nil)
	ch := make(chan prometheus.Metric, 1)
	chanSink(ch).sample(e.appInfo, 1, simulator.AccountLabs, "id", "account", "bad \xff name", "")
	m := <-ch
	if err := m.Write(nil); err == nil {
		t.Error("invalid UTF-8 label value produced a valid metric")
	}
}

func TestWindowConfigErrors(t *testing.T) {
	var logs bytes.Buffer
	client := newFakeClient()
	labs := client.accounts[simulator.AccountLabs]
	labs.Connectors = slices.Clone(labs.Connectors)
	labs.Connectors[1].Timezone = "Mars/Olympus_Mons"
	client.accounts[simulator.AccountLabs] = labs
	bad := labs.Connectors[1].ID
	e := newTestExporter(t, client, log.NewLogfmtLogger(log.NewSyncWriter(&logs)), simulator.AccountLabs)

	want := func(errorsTotal int) string {
		return fmt.Sprintf(`
# HELP cloudflare_magic_connector_config_errors_total Times the connector's data was found invalid: an upgrade window configuration that cannot be computed (unknown time zone, bad day name or hour), whose window metrics are then not exported, or a timestamp that cannot be read, treated as absent. Its other metrics are kept; the exporter's log says which field is wrong.
# TYPE cloudflare_magic_connector_config_errors_total counter
cloudflare_magic_connector_config_errors_total{account_id=%q,connector_id=%q} %d
`, simulator.AccountLabs, bad, errorsTotal)
	}
	for range 3 {
		if err := testutil.CollectAndCompare(e, strings.NewReader(want(1)), "cloudflare_magic_connector_config_errors_total"); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(logs.String(), "connector data is invalid"); n != 1 {
		t.Errorf("logged %d times over 3 scrapes, want once:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), `timezone \"Mars/Olympus_Mons\" is not an IANA time zone name`) {
		t.Errorf("the log does not say what is wrong:\n%s", logs.String())
	}
	// The bad connector keeps every other metric, and the good one its
	// window metrics.
	reg := prometheus.NewRegistry()
	reg.MustRegister(e)
	page := formatAll(t, reg)
	for _, want := range []string{
		`cloudflare_magic_connector_info{account_id="` + simulator.AccountLabs + `",connector_id="` + bad + `"`,
		`cloudflare_magic_connector_heartbeat_age_seconds{account_id="` + simulator.AccountLabs + `",connector_id="` + bad + `"}`,
		`cloudflare_magic_connector_interrupt_window_active{account_id="` + simulator.AccountLabs + `",connector_id="` + labs.Connectors[0].ID + `"}`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, `interrupt_window_active{account_id="`+simulator.AccountLabs+`",connector_id="`+bad+`"}`) {
		t.Error("window metrics exported for a connector with an unknown time zone")
	}

	// Corrected, then broken again: counted and logged a second time.
	labs.Connectors[1].Timezone = "Europe/London"
	testutil.CollectAndCount(e)
	labs.Connectors[1].Timezone = "Mars/Olympus_Mons"
	if err := testutil.CollectAndCompare(e, strings.NewReader(want(2)), "cloudflare_magic_connector_config_errors_total"); err != nil {
		t.Error(err)
	}
	if n := strings.Count(logs.String(), "connector data is invalid"); n != 2 {
		t.Errorf("logged %d times, want twice", n)
	}
	// A timestamp that cannot be read counts too, and costs only the
	// metrics it feeds.
	labs.Connectors[1].Timezone = "Europe/London"
	labs.Connectors[1].HeartbeatEvery, labs.Connectors[1].LastHeartbeat = 0, "yesterday"
	if err := testutil.CollectAndCompare(e, strings.NewReader(want(3)), "cloudflare_magic_connector_config_errors_total"); err != nil {
		t.Error(err)
	}
	if !strings.Contains(logs.String(), "unreadable last_heartbeat, treated as absent") {
		t.Errorf("log:\n%s", logs.String())
	}
	reg = prometheus.NewRegistry()
	reg.MustRegister(e)
	page = formatAll(t, reg)
	if strings.Contains(page, `heartbeat_age_seconds{account_id="`+simulator.AccountLabs+`",connector_id="`+bad+`"}`) ||
		!strings.Contains(page, `interrupt_window_active{account_id="`+simulator.AccountLabs+`",connector_id="`+bad+`"}`) {
		t.Error("an unreadable heartbeat should cost the heartbeat metrics, not the window ones")
	}

	// A connector deleted upstream takes its counter with it.
	labs.Connectors = labs.Connectors[:1]
	client.accounts[simulator.AccountLabs] = labs
	if n := testutil.CollectAndCount(e, "cloudflare_magic_connector_config_errors_total"); n != 0 {
		t.Errorf("%d counters after the connector was deleted", n)
	}
}
