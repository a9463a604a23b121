package poll

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"
	"go.uber.org/goleak"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/exportertest"
)

// Demo connectors the telemetry tests single out.
const (
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
		b, err := json.Marshal(c.Snapshot.At(f.now))
		if err != nil {
			return nil, err
		}
		var out api.Snapshot
		return &out, json.Unmarshal(b, &out)
	}
	return nil, &api.Error{Endpoint: api.EndpointTelemetry, Op: "GET " + connector, StatusCode: 404}
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

// newTelemetryPoller polls the demo fleet's labs account with telemetry
// over client, on the settable clock.
func newTelemetryPoller(t *testing.T, client *fakeClient, clk *simulator.Clock) (*Poller, *Telemetry) {
	t.Helper()
	tel := newTestTelemetry(t, client, clk.Now, nil)
	return newTestPoller(t, Config{Client: client, Now: clk.Now, Telemetry: tel}, simulator.AccountLabs), tel
}

// snapshots polls the labs account and returns its telemetry snapshots.
func snapshots(t *testing.T, p *Poller) []Snapshot {
	t.Helper()
	return accountOf(t, p.Poll(context.Background(), nil), simulator.AccountLabs).Snapshots
}

func TestTelemetryFirstRefreshFails(t *testing.T) {
	client := newFakeClient()
	clk := simulator.NewClock(testNow)
	p, tel := newTelemetryPoller(t, client, clk)
	client.setErr(simulator.AccountLabs+"/telemetry", errors.New("no response: connection refused"))
	p.Poll(context.Background(), nil) // lists the connectors
	refreshDue(tel)
	res := p.Poll(context.Background(), nil)
	if err := endpointOf(t, res, simulator.AccountLabs, api.EndpointTelemetry).Err; err == nil {
		t.Error("telemetry succeeded although every snapshot call failed")
	}
	labs := accountOf(t, res, simulator.AccountLabs)
	if n := len(labs.Connectors); n != 2 {
		t.Errorf("%d connectors, want 2: failed snapshots must not hide the list", n)
	}
	if n := len(labs.Snapshots); n != 0 {
		t.Errorf("%d snapshots although none ever arrived", n)
	}
}

func TestTelemetryForgetsDeletedAndDeactivatedConnectors(t *testing.T) {
	client := newFakeClient()
	clk := simulator.NewClock(testNow)
	p, tel := newTelemetryPoller(t, client, clk)
	p.Poll(context.Background(), nil)
	refreshDue(tel)
	if n := len(snapshots(t, p)); n != 2 {
		t.Fatalf("%d snapshots, want 2", n)
	}

	// The poll that lists the connectors reads telemetry concurrently: the
	// snapshots go at the poll after the one that finds them gone.
	labs := client.account(simulator.AccountLabs)
	labs.Connectors = labs.Connectors[:1]
	client.setAccount(labs)
	p.Poll(context.Background(), nil)
	if n := len(snapshots(t, p)); n != 1 {
		t.Errorf("%d snapshots after a connector was deleted, want 1", n)
	}
	labs.Connectors[0].Activated = false
	client.setAccount(labs)
	p.Poll(context.Background(), nil)
	if n := len(snapshots(t, p)); n != 0 {
		t.Errorf("%d snapshots after the last connector was deactivated, want 0", n)
	}
	clk.Add(time.Hour)
	before := client.callCount(simulator.AccountLabs + "/telemetry")
	refreshDue(tel)
	if n := client.callCount(simulator.AccountLabs + "/telemetry"); n != before {
		t.Errorf("%d snapshot calls for forgotten connectors", n-before)
	}
}

// TestTelemetryRefreshesAtMostEveryInterval checks the schedule on a fake
// clock, whatever the number of polls.
func TestTelemetryRefreshesAtMostEveryInterval(t *testing.T) {
	client := newFakeClient()
	clk := simulator.NewClock(testNow)
	p, tel := newTelemetryPoller(t, client, clk)
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
			p.Poll(context.Background(), nil) // polls never call it
		}
		refreshDue(tel)
		if got := calls(); got != step.want {
			t.Fatalf("after %v more: %d calls, want %d", step.advance, got, step.want)
		}
	}
}

// TestTelemetryStaleSnapshotsAreDropped: a snapshot not refreshed for three
// intervals is no longer served as current.
func TestTelemetryStaleSnapshotsAreDropped(t *testing.T) {
	client := newFakeClient()
	clk := simulator.NewClock(testNow)
	p, tel := newTelemetryPoller(t, client, clk)
	p.Poll(context.Background(), nil)
	refreshDue(tel)
	if n := len(snapshots(t, p)); n != 2 {
		t.Fatalf("%d snapshots, want 2", n)
	}
	client.setErr(simulator.AccountLabs+"/telemetry", errors.New("boom"))
	for range 3 {
		clk.Add(time.Minute)
		refreshDue(tel)
	}
	if n := len(snapshots(t, p)); n != 2 {
		t.Errorf("%d snapshots after 3 failed intervals, want both still served", n)
	}
	clk.Add(time.Minute)
	refreshDue(tel)
	if n := len(snapshots(t, p)); n != 0 {
		t.Errorf("%d snapshots served 4 intervals after the last success, want none", n)
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
		listed[i] = api.Connector{ConnectorRecord: &api.ConnectorRecord{ID: id, Activated: true}}
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
	// fetched reports whether every connector was fetched rounds times.
	fetched := func(rounds int) func() bool {
		return func() bool {
			for _, c := range listed {
				if sim.SnapshotCalls(c.ID) < rounds {
					return false
				}
			}
			return true
		}
	}
	exportertest.Eventually(t, "every connector fetched once", 10*time.Second, fetched(1))
	firstRound := time.Since(start)
	// Refreshed again, every interval: three more rounds, then stop.
	exportertest.Eventually(t, "every connector fetched four times", 10*time.Second, fetched(4))
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
	// Four rounds take at least three intervals: a refresh sooner than
	// its interval would show here.
	if minimum := 3 * interval; elapsed < minimum {
		t.Errorf("four rounds in %v, less than three intervals (%v)", elapsed, minimum)
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
	tel.SetConnectors(simulator.AccountLabs, []api.Connector{{ConnectorRecord: &api.ConnectorRecord{ID: connectorCambridge, Activated: true}},
		{ConnectorRecord: &api.ConnectorRecord{ID: connectorSFO, Activated: true}}})
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
	if _, _, err := tel.snapshots(simulator.AccountLabs); err != nil {
		t.Errorf("snapshots after shutdown: %v", err)
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
