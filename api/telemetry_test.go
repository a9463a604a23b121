package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
)

const fixtureConnector = "8e6a2c1f0b9d4e7fa3c5b1d2e4f60718"

// fixturePersonalData is every DHCP lease value in snapshot_full.json.
var fixturePersonalData = []string{
	"Janes-iPhone", "3c:22:fb:9a:41:07", "10.42.0.157", "01:3c:22:fb:9a:41:07",
	"till-07.oxford-street", "c8:2b:1e:00:07:a1", "10.42.0.207", "ff:c8:2b:1e:00:07:a1",
}

func num(v float64) *float64 { return &v }

func TestLatestSnapshotDecodesEveryField(t *testing.T) {
	sim, c := newClient(t, api.Config{})
	sim.SetFault(simulator.AccountRetail, simulator.EndpointTelemetry, simulator.Fault{Body: readFile(t, "snapshot_full.json")})

	got, err := c.LatestSnapshot(context.Background(), simulator.AccountRetail, fixtureConnector)
	if err != nil {
		t.Fatal(err)
	}
	want := &api.Snapshot{
		T: 1795521540.25,
		Tunnels: []api.SnapshotTunnel{
			{TunnelID: "0a1b2c3d4e5f60718293a4b5c6d7e8f9", InterfaceName: "xfrm1", HealthValue: 1, ProbedMTU: num(1450)},
			{TunnelID: "1a1b2c3d4e5f60718293a4b5c6d7e8f9", InterfaceName: "xfrm3.99", HealthValue: 2, ProbedMTU: num(1280)},
			{TunnelID: "2a1b2c3d4e5f60718293a4b5c6d7e8f9", InterfaceName: "xfrm4", HealthValue: 3},
		},
		HAValue: num(1),
		Interfaces: []api.SnapshotInterface{
			{Name: "wan0", Operstate: "up", Speed: num(1e9)},
			{Name: "wan1", Operstate: "down", Speed: num(1e8)},
			{Name: "lan0", Operstate: "UP", Speed: num(1e9)},
		},
		Netdevs: []api.SnapshotNetdev{
			{Name: "wan0", RecvBytes: 812345678901, SentBytes: 231234567890, RecvErrs: 3, RecvDrop: 41, SentDrop: 2},
			{Name: "lan0", RecvBytes: 290000000000, SentBytes: 923456789012, SentErrs: 7},
		},
		Mounts: []api.SnapshotMount{
			{MountPoint: "/", TotalBytes: num(17179869184), AvailableBytes: num(10200547328)},
			{MountPoint: "/data", TotalBytes: num(68719476736), AvailableBytes: num(2748779069)},
		},
		Thermals: []api.SnapshotThermal{
			{Label: "cpu_thermal", CurrentCelcius: num(48.5), CriticalCelcius: num(105)},
			{Label: "nvme0", CurrentCelcius: num(41.85), CriticalCelcius: num(84.85)},
		},
		CPUCount:             num(4),
		LoadAverage1m:        num(0.42),
		LoadAverage5m:        num(0.38),
		LoadAverage15m:       num(0.35),
		MemoryTotalBytes:     num(8589934592),
		MemoryAvailableBytes: num(5637144576),
		SystemBootTimeS:      num(1794052800),
	}
	if !reflect.DeepEqual(got, want) {
		gotJSON, _ := json.MarshalIndent(got, "", " ")
		wantJSON, _ := json.MarshalIndent(want, "", " ")
		t.Errorf("snapshot:\n got %s\nwant %s", gotJSON, wantJSON)
	}
	reqs := sim.Requests()
	if path := reqs[len(reqs)-1].URL.Path; path != "/client/v4/accounts/"+simulator.AccountRetail+"/magic/connectors/"+fixtureConnector+"/telemetry/snapshots/latest" {
		t.Errorf("path = %q", path)
	}
	assertNoPersonalData(t, got, fixturePersonalData)
}

// assertNoPersonalData fails when any DHCP lease value survives decoding.
func assertNoPersonalData(t *testing.T, s *api.Snapshot, personal []string) {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range personal {
		if strings.Contains(string(b), p) {
			t.Errorf("decoded snapshot contains the DHCP lease value %q", p)
		}
	}
}

func TestLatestSnapshotWithMostFieldsAbsent(t *testing.T) {
	sim, c := newClient(t, api.Config{})
	sim.SetFault(simulator.AccountRetail, simulator.EndpointTelemetry, simulator.Fault{Body: readFile(t, "snapshot_minimal.json")})

	got, err := c.LatestSnapshot(context.Background(), simulator.AccountRetail, fixtureConnector)
	if err != nil {
		t.Fatal(err)
	}
	// Absent and null fields alike stay nil: nothing is invented as zero.
	want := &api.Snapshot{
		T:          1795521480,
		Tunnels:    []api.SnapshotTunnel{{TunnelID: "3a1b2c3d4e5f60718293a4b5c6d7e8f9", InterfaceName: "xfrm1"}},
		Interfaces: []api.SnapshotInterface{{Name: "eth0", Operstate: "unknown"}},
		Mounts:     []api.SnapshotMount{{MountPoint: "/"}},
		Thermals:   []api.SnapshotThermal{{Label: "acpitz", CurrentCelcius: num(27.8)}},
	}
	if !reflect.DeepEqual(got, want) {
		gotJSON, _ := json.MarshalIndent(got, "", " ")
		t.Errorf("snapshot:\n got %s\nwant %+v", gotJSON, want)
	}
}

func TestLatestSnapshotNone(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(*simulator.Server)
	}{
		{"simulated connector without a snapshot", func(s *simulator.Server) {
			s.SetSnapshot(simulator.AccountRetail, fixtureConnector, nil)
		}},
		{"count 0", func(s *simulator.Server) {
			s.SetFault("", simulator.EndpointTelemetry, simulator.Fault{Body: `{"success":true,"errors":[],"messages":[],"result":{"count":0,"items":[]}}`})
		}},
		{"items absent", func(s *simulator.Server) {
			s.SetFault("", simulator.EndpointTelemetry, simulator.Fault{Body: `{"success":true,"errors":[],"messages":[],"result":{"count":0}}`})
		}},
		{"result null", func(s *simulator.Server) {
			s.SetFault("", simulator.EndpointTelemetry, simulator.Fault{Body: `{"success":true,"errors":[],"messages":[],"result":null}`})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim, c := newClient(t, api.Config{})
			tc.setup(sim)
			got, err := c.LatestSnapshot(context.Background(), simulator.AccountRetail, fixtureConnector)
			if err != nil || got != nil {
				t.Errorf("got %+v, %v; want nil, nil", got, err)
			}
		})
	}
}

func TestLatestSnapshotPicksTheMostRecentItem(t *testing.T) {
	sim, c := newClient(t, api.Config{})
	sim.SetFault("", simulator.EndpointTelemetry, simulator.Fault{
		Body: `{"success":true,"errors":[],"messages":[],"result":{"count":3,"items":[{"t":100},{"t":300,"cpu_count":2},{"t":200}]}}`,
	})
	got, err := c.LatestSnapshot(context.Background(), simulator.AccountRetail, fixtureConnector)
	if err != nil {
		t.Fatal(err)
	}
	if got.T != 300 || got.CPUCount == nil || *got.CPUCount != 2 {
		t.Errorf("got %+v, want the item with t 300", got)
	}
}

// TestLatestSnapshotFromSimulatedFleet checks the demo fleet's snapshots
// through the client: the clock moves them, and the stale connector's stays
// where it stopped.
func TestLatestSnapshotFromSimulatedFleet(t *testing.T) {
	var mu sync.Mutex
	now := testNow
	fleet := simulator.DemoFleet(testNow)
	sim := simulator.NewServer(fleet, simulator.WithToken(simulator.DemoToken),
		simulator.WithClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now }))
	c, err := api.New(api.Config{BaseURL: sim.Start(t), Auth: mustAuth(api.TokenAuth(simulator.DemoToken))})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const london = "c0ffee00000000000000000000001042"

	first, err := c.LatestSnapshot(ctx, simulator.AccountRetail, london)
	if err != nil {
		t.Fatal(err)
	}
	if first.T != float64(testNow.Unix()) || len(first.Tunnels) != 2 || len(first.Thermals) == 0 {
		t.Errorf("London snapshot: %+v", first)
	}
	mu.Lock()
	now = now.Add(5 * time.Minute)
	mu.Unlock()
	later, err := c.LatestSnapshot(ctx, simulator.AccountRetail, london)
	if err != nil {
		t.Fatal(err)
	}
	if later.T != first.T+300 {
		t.Errorf("t %v five minutes later, want %v", later.T, first.T+300)
	}
	if later.Netdevs[0].RecvBytes <= first.Netdevs[0].RecvBytes || later.Netdevs[0].SentBytes <= first.Netdevs[0].SentBytes {
		t.Errorf("counters did not grow: %+v then %+v", first.Netdevs[0], later.Netdevs[0])
	}

	stale, err := c.LatestSnapshot(ctx, simulator.AccountRetail, simulator.ConnectorStale)
	if err != nil {
		t.Fatal(err)
	}
	if want := float64(testNow.Add(-simulator.StaleHeartbeatAgo).Unix()); stale.T != want {
		t.Errorf("stale connector's snapshot t = %v, want %v", stale.T, want)
	}
	none, err := c.LatestSnapshot(ctx, simulator.AccountRetail, simulator.ConnectorNeverSeen)
	if err != nil || none != nil {
		t.Errorf("never activated connector: %+v, %v; want no snapshot", none, err)
	}
	for _, id := range []string{london, simulator.ConnectorStale, simulator.ConnectorNeverSeen} {
		if n := sim.SnapshotCalls(id); n < 1 {
			t.Errorf("SnapshotCalls(%s) = %d", id, n)
		}
	}
	if got := sim.Calls(simulator.EndpointTelemetry); got != 4 {
		t.Errorf("Calls(telemetry) = %d, want 4", got)
	}

	// The fleet's DHCP leases are there, for tests to look for, but the
	// client decodes none of them.
	personal := simulator.PersonalData(fleet)
	if len(personal) == 0 {
		t.Fatal("the demo fleet has no DHCP leases")
	}
	assertNoPersonalData(t, first, personal)
}

func TestLatestSnapshotFailures(t *testing.T) {
	for _, tc := range []struct {
		name       string
		connector  string
		fault      *simulator.Fault
		wantStatus int
		want       string
	}{
		{"502 HTML", fixtureConnector, &simulator.Fault{Status: 502, ContentType: "text/html", Body: "<html><title>502 Bad Gateway</title></html>"}, 502, `HTML title "502 Bad Gateway"`},
		{"success false", fixtureConnector, &simulator.Fault{Errors: []simulator.Message{{Code: 1000, Message: "Internal error"}}}, 200, "1000: Internal error"},
		{"429", fixtureConnector, &simulator.Fault{Status: 429, Header: http.Header{"Retry-After": {"30"}}, Errors: []simulator.Message{{Code: 971, Message: "Please wait and consider throttling your request speed"}}}, 429, "HTTP 429 Too Many Requests"},
		{"truncated", fixtureConnector, &simulator.Fault{Body: `{"success":true,"result":{"count":1,"items":[{"t":1`}, 200, "truncated JSON"},
		{"wrong type", fixtureConnector, &simulator.Fault{Body: `{"success":true,"result":{"count":1,"items":[{"t":"yesterday"}]}}`}, 200, "malformed JSON"},
		{"unknown connector", "0000000000000000000000000000dead", nil, 404, "connector not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim, c := newClient(t, api.Config{})
			if tc.fault != nil {
				sim.SetFault(simulator.AccountRetail, simulator.EndpointTelemetry, *tc.fault)
			}
			got, err := c.LatestSnapshot(context.Background(), simulator.AccountRetail, tc.connector)
			if err == nil {
				t.Fatalf("no error; result %+v", got)
			}
			var apiErr *api.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("error is %T, not *api.Error", err)
			}
			if apiErr.Endpoint != api.EndpointTelemetry || apiErr.StatusCode != tc.wantStatus {
				t.Errorf("Endpoint %q, StatusCode %d; want telemetry, %d", apiErr.Endpoint, apiErr.StatusCode, tc.wantStatus)
			}
			msg := err.Error()
			op := "GET /accounts/" + simulator.AccountRetail + "/magic/connectors/" + tc.connector + "/telemetry/snapshots/latest"
			if !strings.HasPrefix(msg, op) || !strings.Contains(msg, tc.want) {
				t.Errorf("error %q, want prefix %q and %q", msg, op, tc.want)
			}
			assertNoSecret(t, "error", msg)
		})
	}
}
