package collector

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
)

// Demo connectors the telemetry tests single out.
const (
	connectorLondon    = "c0ffee00000000000000000000001042"
	connectorCambridge = "c0ffee0000000000000000000000cab1"
	connectorSFO       = "c0ffee0000000000000000000000cab2"
)

// LatestSnapshot answers from the simulated fleet's snapshots at f.now,
// decoded by the api package's own types. errs keys "account/telemetry"
// fail every connector of the account, "account/telemetry/connector" one.
func (f *fakeClient) LatestSnapshot(ctx context.Context, account, connector string) (*api.Snapshot, error) {
	a, err := f.call(ctx, account, api.EndpointTelemetry)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.calls[account+"/telemetry/"+connector]++
	err = f.errs[account+"/telemetry/"+connector]
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	for _, c := range a.Connectors {
		if c.ID != connector {
			continue
		}
		if c.Snapshot == nil {
			return nil, nil
		}
		var out api.Snapshot
		return &out, roundTrip(c.Snapshot.At(f.now), &out)
	}
	return nil, &api.Error{Endpoint: api.EndpointTelemetry, Op: "GET " + connector, StatusCode: 404}
}

func (f *fakeClient) setErr(key string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.errs, key)
	} else {
		f.errs[key] = err
	}
}

func (f *fakeClient) callCount(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[key]
}

func newTestTelemetry(t *testing.T, client TelemetryClient, now func() time.Time, logger log.Logger) *Telemetry {
	t.Helper()
	tel, err := NewTelemetry(TelemetryConfig{Client: client, Interval: time.Minute, Concurrency: 4, Now: now, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	return tel
}

// refreshDue runs one round of Run: it refreshes every connector due and
// waits for the calls to end.
func refreshDue(tel *Telemetry) {
	slots := make(chan struct{}, tel.concurrency)
	var wg sync.WaitGroup
	tel.dispatch(context.Background(), slots, &wg)
	wg.Wait()
}

// accountTelemetry collects one account's telemetry series, as the
// Exporter's telemetry scraper does, without up and duration.
type accountTelemetry struct {
	tel     *Telemetry
	account string
}

func (a accountTelemetry) Describe(ch chan<- *prometheus.Desc) { a.tel.Describe(ch) }
func (a accountTelemetry) Collect(ch chan<- prometheus.Metric) {
	if err := collectTelemetry(a.tel, a.account, chanSink(ch)); err != nil {
		ch <- prometheus.NewInvalidMetric(prometheus.NewDesc("telemetry_error", "", nil, nil), err)
	}
}

// collectTelemetry emits every telemetry family of the account, as the
// Exporter's telemetry scraper does, and returns its error.
func collectTelemetry(tel *Telemetry, account string, s sink) error {
	em, _, err := tel.scrape(context.Background(), account)
	for _, f := range tel.families {
		em.emit(f, s)
	}
	return err
}

// compareGoldenAll compares everything c emits with testdata/name, or
// rewrites the file under -update.
func compareGoldenAll(t *testing.T, c prometheus.Collector, name string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(c)
		if err := os.WriteFile(path, []byte(formatAll(t, reg)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := testutil.CollectAndCompare(c, bytes.NewReader(want)); err != nil {
		t.Error(err)
	}
}

// simulatedSnapshot returns a client of the simulated API that answers
// every snapshot call of the retail account with the api package's fixture.
func simulatedSnapshot(t *testing.T, fixture string) *api.Client {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("..", "api", "testdata", fixture))
	if err != nil {
		t.Fatal(err)
	}
	sim := simulator.NewServer(simulator.DemoFleet(testNow), simulator.WithToken(simulator.DemoToken),
		simulator.WithClock(func() time.Time { return testNow }))
	sim.SetFault(simulator.AccountRetail, simulator.EndpointTelemetry, simulator.Fault{Body: string(body)})
	auth, err := api.TokenAuth(simulator.DemoToken)
	if err != nil {
		t.Fatal(err)
	}
	client, err := api.New(api.Config{BaseURL: sim.Start(t), Auth: auth})
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// fixturePersonalData is every DHCP lease value in api/testdata/snapshot_full.json.
var fixturePersonalData = []string{
	"Janes-iPhone", "3c:22:fb:9a:41:07", "10.42.0.157", "01:3c:22:fb:9a:41:07",
	"till-07.oxford-street", "c8:2b:1e:00:07:a1", "10.42.0.207", "ff:c8:2b:1e:00:07:a1",
}

func TestTelemetryMetrics(t *testing.T) {
	for _, tc := range []struct{ fixture, golden string }{
		{"snapshot_full.json", "telemetry_full.prom"},
		{"snapshot_minimal.json", "telemetry_minimal.prom"},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			tel := newTestTelemetry(t, simulatedSnapshot(t, tc.fixture), nil, nil)
			tel.SetConnectors(simulator.AccountRetail, []api.Connector{{ID: connectorLondon, Activated: true}})
			refreshDue(tel)
			compareGoldenAll(t, accountTelemetry{tel, simulator.AccountRetail}, tc.golden)
		})
	}
}

func TestTelemetryLint(t *testing.T) {
	tel := newTestTelemetry(t, simulatedSnapshot(t, "snapshot_full.json"), nil, nil)
	tel.SetConnectors(simulator.AccountRetail, []api.Connector{{ID: connectorLondon, Activated: true}})
	refreshDue(tel)
	c := accountTelemetry{tel, simulator.AccountRetail}
	if n := testutil.CollectAndCount(c); n < 30 {
		t.Fatalf("only %d series to lint", n)
	}
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

// newTelemetryExporter returns an Exporter of the demo fleet's labs account
// with telemetry over client, on the settable clock.
func newTelemetryExporter(t *testing.T, client *fakeClient, clk *simulator.Clock, logger log.Logger) (*Exporter, *Telemetry) {
	t.Helper()
	tel := newTestTelemetry(t, client, clk.Now, logger)
	e, err := New(Config{Client: client, Accounts: FixedAccounts(simulator.AccountLabs), Logger: logger, Now: clk.Now, Telemetry: tel})
	if err != nil {
		t.Fatal(err)
	}
	return e, tel
}

func telemetryUp(value int) string {
	return fmt.Sprintf(`
# HELP cloudflare_magic_up Whether this scrape's call to the endpoint for the account succeeded (1) or failed (0); the exporter's log says why.
# TYPE cloudflare_magic_up gauge
cloudflare_magic_up{account_id="%[1]s",endpoint="apps"} 1
cloudflare_magic_up{account_id="%[1]s",endpoint="connectors"} 1
cloudflare_magic_up{account_id="%[1]s",endpoint="telemetry"} %[2]d
`, simulator.AccountLabs, value)
}

// TestTelemetryThroughTheExporter follows one connector through a scrape
// before any refresh, a good refresh, a failed one, a recovery and an empty
// answer.
func TestTelemetryThroughTheExporter(t *testing.T) {
	var logs bytes.Buffer
	client := newFakeClient()
	clk := simulator.NewClock(testNow)
	e, tel := newTelemetryExporter(t, client, clk, log.NewLogfmtLogger(log.NewSyncWriter(&logs)))
	series := func(metric, connector string) int {
		t.Helper()
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(e)
		out := formatAll(t, reg)
		return strings.Count(out, metric+`{account_id="`+simulator.AccountLabs+`",connector_id="`+connector+`"`)
	}
	checkUp := func(want int) {
		t.Helper()
		if err := testutil.CollectAndCompare(e, strings.NewReader(telemetryUp(want)), "cloudflare_magic_up"); err != nil {
			t.Error(err)
		}
	}

	// Before the first refresh: nothing failed, nothing to show yet.
	checkUp(1)
	if n := series("cloudflare_magic_connector_snapshot_timestamp_seconds", connectorCambridge); n != 0 {
		t.Errorf("%d snapshot series before any refresh", n)
	}
	if n := client.callCount(simulator.AccountLabs + "/telemetry"); n != 0 {
		t.Errorf("a scrape called the snapshot endpoint %d times; only Run may", n)
	}

	refreshDue(tel)
	checkUp(1)
	if n := series("cloudflare_magic_connector_snapshot_timestamp_seconds", connectorCambridge); n != 1 {
		t.Fatalf("%d snapshot series after a refresh, want 1", n)
	}

	// A failed refresh keeps the last snapshot and the list metrics, and
	// says so through up and the log.
	client.setErr(simulator.AccountLabs+"/telemetry/"+connectorCambridge, &api.Error{
		Endpoint: api.EndpointTelemetry, StatusCode: 502,
		Op: "GET /accounts/" + simulator.AccountLabs + "/magic/connectors/" + connectorCambridge + "/telemetry/snapshots/latest",
	})
	clk.Add(time.Minute)
	refreshDue(tel)
	logs.Reset()
	checkUp(0)
	for _, metric := range []string{"cloudflare_magic_connector_info", "cloudflare_magic_connector_last_heartbeat_timestamp_seconds", "cloudflare_magic_connector_snapshot_timestamp_seconds", "cloudflare_magic_connector_tunnel_health"} {
		if series(metric, connectorCambridge) == 0 {
			t.Errorf("%s of the connector whose snapshot call failed is gone", metric)
		}
	}
	want := `level=error msg="scrape failed" account_id=` + simulator.AccountLabs + ` endpoint=telemetry err="latest snapshot of 1 of 2 connectors failed, connector ` + connectorCambridge + `: GET /accounts/` + simulator.AccountLabs + `/magic/connectors/` + connectorCambridge + `/telemetry/snapshots/latest: HTTP 502 Bad Gateway"`
	if !strings.Contains(logs.String(), want) {
		t.Errorf("log lacks\n%s\n got:\n%s", want, logs.String())
	}

	// The next good refresh clears it.
	client.setErr(simulator.AccountLabs+"/telemetry/"+connectorCambridge, nil)
	clk.Add(time.Minute)
	refreshDue(tel)
	checkUp(1)

	// A connector whose snapshot is gone (count 0) has no telemetry series,
	// and that is no failure.
	labs := client.accounts[simulator.AccountLabs]
	labs.Connectors = append([]simulator.Connector(nil), labs.Connectors...)
	labs.Connectors[1].Snapshot = nil
	client.accounts[simulator.AccountLabs] = labs
	clk.Add(time.Minute)
	refreshDue(tel)
	checkUp(1)
	if n := series("cloudflare_magic_connector_tunnel_health", connectorSFO); n != 0 {
		t.Errorf("%d tunnel series for a connector without a snapshot", n)
	}
	if n := series("cloudflare_magic_connector_info", connectorSFO); n != 1 {
		t.Errorf("%d info series for a connector without a snapshot, want 1", n)
	}
}

func TestTelemetryFirstRefreshFails(t *testing.T) {
	client := newFakeClient()
	clk := simulator.NewClock(testNow)
	e, tel := newTelemetryExporter(t, client, clk, nil)
	client.setErr(simulator.AccountLabs+"/telemetry", errors.New("no response: connection refused"))
	testutil.CollectAndCount(e) // lists the connectors
	refreshDue(tel)
	if err := testutil.CollectAndCompare(e, strings.NewReader(telemetryUp(0)), "cloudflare_magic_up"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(e, "cloudflare_magic_connector_info"); n != 2 {
		t.Errorf("%d connector_info series, want 2: failed snapshots must not hide the list metrics", n)
	}
	if n := testutil.CollectAndCount(e, "cloudflare_magic_connector_snapshot_timestamp_seconds"); n != 0 {
		t.Errorf("%d snapshot series although no snapshot ever arrived", n)
	}
}

func TestTelemetryForgetsDeletedAndDeactivatedConnectors(t *testing.T) {
	client := newFakeClient()
	clk := simulator.NewClock(testNow)
	e, tel := newTelemetryExporter(t, client, clk, nil)
	testutil.CollectAndCount(e)
	refreshDue(tel)
	if n := testutil.CollectAndCount(e, "cloudflare_magic_connector_snapshot_timestamp_seconds"); n != 2 {
		t.Fatalf("%d snapshot series, want 2", n)
	}

	// The scrape that lists the connectors emits telemetry concurrently:
	// the series go at the scrape after the one that finds them gone.
	labs := client.accounts[simulator.AccountLabs]
	labs.Connectors = append([]simulator.Connector(nil), labs.Connectors[:1]...)
	client.accounts[simulator.AccountLabs] = labs
	testutil.CollectAndCount(e)
	if n := testutil.CollectAndCount(e, "cloudflare_magic_connector_snapshot_timestamp_seconds"); n != 1 {
		t.Errorf("%d snapshot series after a connector was deleted, want 1", n)
	}
	labs.Connectors[0].Activated = false
	testutil.CollectAndCount(e)
	if n := testutil.CollectAndCount(e, "cloudflare_magic_connector_snapshot_timestamp_seconds"); n != 0 {
		t.Errorf("%d snapshot series after the last connector was deactivated, want 0", n)
	}
	clk.Add(time.Hour)
	before := client.callCount(simulator.AccountLabs + "/telemetry")
	refreshDue(tel)
	if n := client.callCount(simulator.AccountLabs + "/telemetry"); n != before {
		t.Errorf("%d snapshot calls for forgotten connectors", n-before)
	}
}

// TestTelemetryRefreshesAtMostEveryInterval checks the schedule on a fake
// clock, whatever the number of scrapes.
func TestTelemetryRefreshesAtMostEveryInterval(t *testing.T) {
	client := newFakeClient()
	clk := simulator.NewClock(testNow)
	e, tel := newTelemetryExporter(t, client, clk, nil)
	calls := func() int { return client.callCount(simulator.AccountLabs + "/telemetry/" + connectorCambridge) }
	for _, step := range []struct {
		advance time.Duration
		want    int
	}{
		{0, 1},                // first refresh as soon as the connector is known
		{0, 1},                // not again at once
		{59 * time.Second, 1}, // nor before the interval is over
		{time.Second, 2},      // then again
		{30 * time.Second, 2},
		{10 * time.Minute, 3}, // once, however late
	} {
		clk.Add(step.advance)
		for range 3 {
			testutil.CollectAndCount(e) // scrapes never call it
		}
		refreshDue(tel)
		if got := calls(); got != step.want {
			t.Fatalf("after %v more: %d calls, want %d", step.advance, got, step.want)
		}
	}
}

// TestTelemetryNoPersonalData scrapes the demo fleet's telemetry, whose
// snapshots carry DHCP leases, and the fixture with every field, and looks
// for every lease value in the output and the log.
func TestTelemetryNoPersonalData(t *testing.T) {
	var logs bytes.Buffer
	logger := log.NewLogfmtLogger(log.NewSyncWriter(&logs))
	client := newFakeClient()
	tel := newTestTelemetry(t, client, nil, logger)
	e, err := New(Config{Client: client, Accounts: FixedAccounts(simulator.AccountRetail, simulator.AccountLabs), Logger: logger, Telemetry: tel})
	if err != nil {
		t.Fatal(err)
	}
	testutil.CollectAndCount(e)
	refreshDue(tel)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(e)
	out := formatAll(t, reg)

	fixture := newTestTelemetry(t, simulatedSnapshot(t, "snapshot_full.json"), nil, logger)
	fixture.SetConnectors(simulator.AccountRetail, []api.Connector{{ID: connectorLondon, Activated: true}})
	refreshDue(fixture)
	reg = prometheus.NewPedanticRegistry()
	reg.MustRegister(accountTelemetry{fixture, simulator.AccountRetail})
	out += formatAll(t, reg)

	if n := strings.Count(out, "cloudflare_magic_connector_tunnel_health{"); n < 10 {
		t.Fatalf("only %d tunnel series: the test would prove nothing\n%s", n, out)
	}
	personal := append(simulator.PersonalData(simulator.DemoFleet(testNow)), fixturePersonalData...)
	if len(personal) < 16 {
		t.Fatalf("only %d personal values to look for", len(personal))
	}
	for _, p := range personal {
		if strings.Contains(out, p) {
			t.Errorf("metrics contain the DHCP lease value %q", p)
		}
		if strings.Contains(logs.String(), p) {
			t.Errorf("log contains the DHCP lease value %q", p)
		}
	}
}

// TestTelemetryRunBoundsConcurrencyAndInterval runs the real loop against
// the simulated API over HTTP: 200 connectors, 8 calls at a time, a refresh
// interval of 200 ms. The server counts what really happened.
func TestTelemetryRunBoundsConcurrencyAndInterval(t *testing.T) {
	leaks := goleak.IgnoreCurrent()
	const (
		n           = 200
		concurrency = 8
		interval    = 200 * time.Millisecond
	)
	connectors := make([]simulator.Connector, n)
	listed := make([]api.Connector, n)
	for i := range connectors {
		id := fmt.Sprintf("c0ffee%026x", i)
		connectors[i] = simulator.Connector{ID: id, Activated: true, Snapshot: &simulator.Snapshot{
			T: float64(testNow.Unix()), V: "2026.10.2",
			Tunnels: []simulator.SnapshotTunnel{{TunnelID: id, InterfaceName: "xfrm1", HealthState: "healthy", HealthValue: 1}},
		}}
		listed[i] = api.Connector{ID: id, Activated: true}
	}
	sim := simulator.NewServer([]simulator.Account{{ID: simulator.AccountLabs, Connectors: connectors}}, simulator.WithToken(simulator.DemoToken))
	// Each answer takes a moment, as the real API's do, so calls overlap.
	sim.SetFault("", simulator.EndpointTelemetry, simulator.Fault{Delay: 2 * time.Millisecond})
	srv := httptest.NewServer(sim)
	transport := &http.Transport{}
	auth, err := api.TokenAuth(simulator.DemoToken)
	if err != nil {
		t.Fatal(err)
	}
	client, err := api.New(api.Config{BaseURL: srv.URL + simulator.PathPrefix, Auth: auth, HTTPClient: &http.Client{Transport: transport}})
	if err != nil {
		t.Fatal(err)
	}
	tel, err := NewTelemetry(TelemetryConfig{Client: client, Interval: interval, Concurrency: concurrency})
	if err != nil {
		t.Fatal(err)
	}
	tel.SetConnectors(simulator.AccountLabs, listed)

	ctx, cancel := context.WithCancel(context.Background())
	start := time.Now()
	stopped := make(chan struct{})
	go func() {
		tel.Run(ctx)
		close(stopped)
	}()
	allFetched := func() bool {
		for _, c := range listed {
			if sim.SnapshotCalls(c.ID) == 0 {
				return false
			}
		}
		return true
	}
	for deadline := time.Now().Add(10 * time.Second); !allFetched(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			cancel()
			<-stopped
			t.Fatal("not every connector was fetched within 10 s")
		}
	}
	firstRound := time.Since(start)
	time.Sleep(3 * interval)
	cancel()
	<-stopped
	elapsed := time.Since(start)
	transport.CloseIdleConnections()
	srv.Close()

	maxInFlight := sim.MaxInFlight(simulator.EndpointTelemetry)
	if maxInFlight > concurrency {
		t.Errorf("%d snapshot calls in flight at once, want at most %d", maxInFlight, concurrency)
	}
	if maxInFlight < 2 {
		t.Errorf("at most %d snapshot call in flight: the calls are not concurrent", maxInFlight)
	}
	// Each connector's refreshes start at least interval apart, all within
	// elapsed.
	limit := int(math.Ceil(float64(elapsed)/float64(interval))) + 1
	fewest, most := math.MaxInt, 0
	for _, c := range listed {
		calls := sim.SnapshotCalls(c.ID)
		fewest, most = min(fewest, calls), max(most, calls)
		if calls < 1 || calls > limit {
			t.Errorf("connector %s fetched %d times in %v, want 1 to %d", c.ID, calls, elapsed, limit)
		}
	}
	t.Logf("%d connectors, concurrency %d, interval %v: first round %v; in %v, %d calls, %d to %d per connector (limit %d), at most %d in flight",
		n, concurrency, interval, firstRound.Round(time.Millisecond), elapsed.Round(time.Millisecond),
		sim.Calls(simulator.EndpointTelemetry), fewest, most, limit, maxInFlight)
	goleak.VerifyNone(t, leaks)
}

// TestTelemetryRunStopsWhileCallsHang proves Run ends its calls and its
// goroutines when its context ends, even when the API never answers.
func TestTelemetryRunStopsWhileCallsHang(t *testing.T) {
	leaks := goleak.IgnoreCurrent()
	client := newFakeClient()
	var started sync.WaitGroup
	started.Add(2)
	client.wait = func(ctx context.Context) error {
		started.Done()
		<-ctx.Done()
		return ctx.Err()
	}
	tel := newTestTelemetry(t, client, nil, nil)
	tel.SetConnectors(simulator.AccountLabs, []api.Connector{{ID: connectorCambridge, Activated: true}, {ID: connectorSFO, Activated: true}})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		tel.Run(ctx)
		close(stopped)
	}()
	started.Wait()
	cancel()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	// A call cut short by shutdown is no failure of the API.
	if err := collectTelemetry(tel, simulator.AccountLabs, chanSink(make(chan prometheus.Metric, 100))); err != nil {
		t.Errorf("collectAccount after shutdown: %v", err)
	}
	goleak.VerifyNone(t, leaks)
}

func TestNewTelemetryRejectsBadConfig(t *testing.T) {
	client := newFakeClient()
	for _, cfg := range []TelemetryConfig{
		{Interval: time.Minute, Concurrency: 8},
		{Client: client, Concurrency: 8},
		{Client: client, Interval: -time.Second, Concurrency: 8},
		{Client: client, Interval: time.Minute},
	} {
		if _, err := NewTelemetry(cfg); err == nil {
			t.Errorf("NewTelemetry(%+v) accepted", cfg)
		}
	}
}

// TestTelemetryDuplicatesAreSkipped keeps a snapshot that lists a mount or
// a device twice from breaking the scrape.
func TestTelemetryDuplicatesAreSkipped(t *testing.T) {
	tel := newTestTelemetry(t, newFakeClient(), nil, nil)
	ch := make(chan prometheus.Metric, 100)
	snapshot := &api.Snapshot{
		T:       1,
		Mounts:  []api.SnapshotMount{{MountPoint: "/", TotalBytes: new(float64)}, {MountPoint: "/", TotalBytes: new(float64)}},
		Netdevs: []api.SnapshotNetdev{{Name: "eth0"}, {Name: "eth0"}},
	}
	for _, f := range tel.families {
		tel.emitSnapshot(f, chanSink(ch), simulator.AccountLabs, connectorCambridge, snapshot)
	}
	close(ch)
	reg := prometheus.NewPedanticRegistry()
	var metrics []prometheus.Metric
	for m := range ch {
		metrics = append(metrics, m)
	}
	reg.MustRegister(constCollector{tel, metrics})
	if _, err := reg.Gather(); err != nil {
		t.Errorf("gather: %v", err)
	}
	if got, want := len(metrics), 1+1+6; got != want {
		t.Errorf("%d series, want %d", got, want)
	}
}

type constCollector struct {
	tel     *Telemetry
	metrics []prometheus.Metric
}

func (c constCollector) Describe(ch chan<- *prometheus.Desc) { c.tel.Describe(ch) }
func (c constCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c.metrics {
		ch <- m
	}
}

// TestTelemetryStaleSnapshotsAreDropped: a snapshot not refreshed for three
// intervals is no longer served as current.
func TestTelemetryStaleSnapshotsAreDropped(t *testing.T) {
	client := newFakeClient()
	clk := simulator.NewClock(testNow)
	e, tel := newTelemetryExporter(t, client, clk, nil)
	testutil.CollectAndCount(e)
	refreshDue(tel)
	if n := testutil.CollectAndCount(e, "cloudflare_magic_connector_snapshot_timestamp_seconds"); n != 2 {
		t.Fatalf("%d snapshots, want 2", n)
	}
	client.mu.Lock()
	client.errs[simulator.AccountLabs+"/telemetry"] = errors.New("boom")
	client.mu.Unlock()
	for range 3 {
		clk.Add(time.Minute)
		refreshDue(tel)
	}
	if n := testutil.CollectAndCount(e, "cloudflare_magic_connector_snapshot_timestamp_seconds"); n != 2 {
		t.Errorf("%d snapshots after 3 failed intervals, want both still served", n)
	}
	clk.Add(time.Minute)
	refreshDue(tel)
	if n := testutil.CollectAndCount(e, "cloudflare_magic_connector_snapshot_timestamp_seconds"); n != 0 {
		t.Errorf("%d snapshots served 4 intervals after the last success, want none", n)
	}
}
