package collector

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/exportertest"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/poll"
)

// The rendering of telemetry snapshots, and telemetry through the whole
// stack. The refresh schedule itself (interval, concurrency, forgetting,
// staleness) is tested in package poll.

// Demo connectors the telemetry tests single out.
const (
	connectorLondon    = "c0ffee00000000000000000000001042"
	connectorCambridge = "c0ffee0000000000000000000000cab1"
	connectorSFO       = "c0ffee0000000000000000000000cab2"
)

// telemetryOnly filters the families of the telemetry snapshots.
var telemetryOnly = familiesOf(func(r Reference) bool { return r.Source == SourceTelemetry })

// fixtureSnapshot fetches the api package's fixture through the client,
// from the simulated API.
func fixtureSnapshot(t *testing.T, fixture string) *api.Snapshot {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("..", "api", "testdata", fixture))
	if err != nil {
		t.Fatal(err)
	}
	sim := simulator.NewServer(simulator.DemoFleet(testNow), simulator.WithToken(simulator.DemoToken),
		simulator.WithClock(func() time.Time { return testNow }))
	sim.SetFault(simulator.AccountRetail, simulator.EndpointTelemetry, simulator.Fault{Body: string(body)})
	client, err := api.New(api.Config{BaseURL: sim.Start(t), Auth: mustToken(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.CloseIdleConnections)
	snap, err := client.LatestSnapshot(context.Background(), simulator.AccountRetail, connectorLondon)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// snapshotPage renders the telemetry families of one snapshot of the retail
// account's London connector.
func snapshotPage(t *testing.T, snap *api.Snapshot) string {
	t.Helper()
	res := &poll.Result{Accounts: []poll.AccountResult{{
		Account:   api.Account{ID: simulator.AccountRetail},
		Snapshots: []poll.Snapshot{{ConnectorID: connectorLondon, Snapshot: snap}},
	}}}
	return render(t, offlineExporter(t), res, telemetryOnly)
}

// fixturePersonalData is every DHCP lease value in api/testdata/snapshot_full.json.
var fixturePersonalData = []string{
	"Janes-iPhone", "3c:22:fb:9a:41:07", "10.42.0.157", "01:3c:22:fb:9a:41:07",
	"till-07.oxford-street", "c8:2b:1e:00:07:a1", "10.42.0.207", "ff:c8:2b:1e:00:07:a1",
}

// TestTelemetryMetrics renders the api package's snapshot fixtures: the
// full one, which has every field (values checked one per family), and
// the minimal one, whose few fields give their series and nothing else.
func TestTelemetryMetrics(t *testing.T) {
	const prefix = "cloudflare_magic_connector_"
	id := []string{"account_id", simulator.AccountRetail, "connector_id", connectorLondon}
	with := func(kv ...string) []string { return append(append([]string{}, id...), kv...) }
	type want struct {
		family string
		labels []string
		value  float64
	}
	for _, tc := range []struct {
		fixture string
		wants   []want
		// series is how many series the page holds, 0 for any number.
		series int
	}{
		{"snapshot_full.json", []want{
			{"boot_time_seconds", id, 1.7940528e+09},
			{"cpu_cores", id, 4},
			{"filesystem_avail_bytes", with("mountpoint", "/data"), 2.748779069e+09},
			{"filesystem_size_bytes", with("mountpoint", "/"), 1.7179869184e+10},
			{"ha_state", id, 1},
			{"interface_speed_bytes", with("interface", "wan1"), 1.25e+07}, // 100 Mbit/s
			{"interface_up", with("interface", "wan1"), 0},
			{"load1", id, 0.42},
			{"load5", id, 0.38},
			{"load15", id, 0.35},
			{"memory_available_bytes", id, 5.637144576e+09},
			{"memory_total_bytes", id, 8.589934592e+09},
			{"network_receive_bytes_total", with("device", "wan0"), 8.12345678901e+11},
			{"network_receive_drop_total", with("device", "wan0"), 41},
			{"network_receive_errors_total", with("device", "wan0"), 3},
			{"network_transmit_bytes_total", with("device", "lan0"), 9.23456789012e+11},
			{"network_transmit_drop_total", with("device", "wan0"), 2},
			{"network_transmit_errors_total", with("device", "lan0"), 7},
			{"snapshot_timestamp_seconds", id, 1.79552154025e+09},
			{"temperature_celsius", with("sensor", "nvme0"), 41.85},
			{"temperature_critical_celsius", with("sensor", "cpu_thermal"), 105},
			{"tunnel_health", with("tunnel_id", "2a1b2c3d4e5f60718293a4b5c6d7e8f9", "interface_name", "xfrm4"), 3},
			{"tunnel_probed_mtu_bytes", with("tunnel_id", "1a1b2c3d4e5f60718293a4b5c6d7e8f9"), 1280},
		}, 0},
		{"snapshot_minimal.json", []want{
			{"interface_up", with("interface", "eth0"), 0},
			{"snapshot_timestamp_seconds", id, 1.79552148e+09},
			{"temperature_celsius", with("sensor", "acpitz"), 27.8},
			{"tunnel_health", with("tunnel_id", "3a1b2c3d4e5f60718293a4b5c6d7e8f9", "interface_name", "xfrm1"), 0},
		}, 4},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			p := parse(t, snapshotPage(t, fixtureSnapshot(t, tc.fixture)))
			for _, w := range tc.wants {
				if got := p.value(t, prefix+w.family, w.labels...); got != w.value {
					t.Errorf("%s%s%v = %v, want %v", prefix, w.family, w.labels, got, w.value)
				}
			}
			n := 0
			for _, mf := range p {
				n += len(mf.Metric)
			}
			if tc.series > 0 && n != tc.series {
				t.Errorf("%d series, want %d", n, tc.series)
			}
		})
	}
}

func TestTelemetryLint(t *testing.T) {
	page := snapshotPage(t, fixtureSnapshot(t, "snapshot_full.json"))
	if n := strings.Count(page, "\n") - 2*strings.Count(page, "# HELP"); n < 30 {
		t.Fatalf("only %d series to lint", n)
	}
	lint(t, page)
}

// failingSnapshots fails the snapshot calls of the connectors in fail.
type failingSnapshots struct {
	poll.TelemetryClient
	mu   sync.Mutex
	fail map[string]error
}

func (f *failingSnapshots) LatestSnapshot(ctx context.Context, account, connector string) (*api.Snapshot, error) {
	f.mu.Lock()
	err := f.fail[connector]
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return f.TelemetryClient.LatestSnapshot(ctx, account, connector)
}

func (f *failingSnapshots) set(connector string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[connector] = err
}

// TestTelemetryThroughTheExporter follows one connector through a scrape
// before any refresh, a good refresh, a failed one, a recovery and an empty
// answer.
func TestTelemetryThroughTheExporter(t *testing.T) {
	const interval = 100 * time.Millisecond // of the stack's clock
	failing := &failingSnapshots{fail: map[string]error{}}
	s := newStackWith(t, stackConfig{fixed: []string{simulator.AccountLabs}, telemetry: interval,
		telemetryClient: func(c poll.TelemetryClient) poll.TelemetryClient { failing.TelemetryClient = c; return failing }})
	series := func(page, metric, connector string) int {
		return strings.Count(page, metric+`{account_id="`+simulator.AccountLabs+`",connector_id="`+connector+`"`)
	}
	up := func(page string, v int) bool {
		return strings.Contains(page, upLine(simulator.AccountLabs, "telemetry", v))
	}
	var page string
	waitFor := func(what string, cond func(page string) bool) {
		t.Helper()
		exportertest.Eventually(t, what, 10*time.Second, func() bool { page = s.scrape(t, 0); return cond(page) })
	}

	// Before the first refresh: nothing failed, nothing to show yet.
	page = s.scrape(t, 0)
	if !up(page, 1) || !strings.Contains(page, upLine(simulator.AccountLabs, "connectors", 1)) {
		t.Errorf("before any refresh:\n%s", strings.Join(samples(page, "cloudflare_magic_up"), "\n"))
	}
	if n := series(page, "cloudflare_magic_connector_snapshot_timestamp_seconds", connectorCambridge); n != 0 {
		t.Errorf("%d snapshot series before any refresh", n)
	}
	if n := s.sim.Calls(simulator.EndpointTelemetry); n != 0 {
		t.Errorf("a scrape called the snapshot endpoint %d times; only Run may", n)
	}

	s.startTelemetry(t)
	waitFor("a refresh", func(page string) bool {
		return series(page, "cloudflare_magic_connector_snapshot_timestamp_seconds", connectorCambridge) == 1
	})
	if !up(page, 1) {
		t.Error("telemetry not up after a good refresh")
	}

	// A failed refresh keeps the last snapshot and the list metrics, and
	// says so through up and the log.
	failing.set(connectorCambridge, &api.Error{
		Endpoint: api.EndpointTelemetry, StatusCode: 502,
		Op: "GET /accounts/" + simulator.AccountLabs + "/magic/connectors/" + connectorCambridge + "/telemetry/snapshots/latest",
	})
	s.logs.Reset()
	s.clock.Add(interval)
	waitFor("a failed refresh", func(page string) bool { return up(page, 0) })
	for _, metric := range []string{"cloudflare_magic_connector_info", "cloudflare_magic_connector_last_heartbeat_timestamp_seconds", "cloudflare_magic_connector_snapshot_timestamp_seconds", "cloudflare_magic_connector_tunnel_health"} {
		if series(page, metric, connectorCambridge) == 0 {
			t.Errorf("%s of the connector whose snapshot call failed is gone", metric)
		}
	}
	want := `level=error msg="API call failed" account_id=` + simulator.AccountLabs + ` endpoint=telemetry err="latest snapshot of 1 of 2 connectors failed, connector ` + connectorCambridge + `: GET /accounts/` + simulator.AccountLabs + `/magic/connectors/` + connectorCambridge + `/telemetry/snapshots/latest: HTTP 502 Bad Gateway"`
	if !strings.Contains(s.logs.String(), want) {
		t.Errorf("log lacks\n%s\n got:\n%s", want, s.logs.String())
	}

	// The next good refresh clears it.
	failing.set(connectorCambridge, nil)
	s.clock.Add(interval)
	waitFor("a good refresh", func(page string) bool { return up(page, 1) })

	// A connector whose snapshot is gone (count 0) has no telemetry series,
	// and that is no failure.
	connectors := simulator.DemoFleet(testNow)[1].Connectors
	connectors[1].Snapshot = nil
	s.sim.SetConnectors(simulator.AccountLabs, connectors)
	s.clock.Add(interval)
	waitFor("the snapshot to go", func(page string) bool {
		return series(page, "cloudflare_magic_connector_tunnel_health", connectorSFO) == 0
	})
	if !up(page, 1) {
		t.Error("a connector without a snapshot counts as a failure")
	}
	if n := series(page, "cloudflare_magic_connector_info", connectorSFO); n != 1 {
		t.Errorf("%d info series for a connector without a snapshot, want 1", n)
	}
}

// TestTelemetryNoPersonalData scrapes the demo fleet's telemetry, whose
// snapshots carry DHCP leases, and the fixture with every field, and looks
// for every lease value in the output and the log.
func TestTelemetryNoPersonalData(t *testing.T) {
	s := newStackWith(t, stackConfig{telemetry: time.Minute})
	s.startTelemetry(t)
	s.scrape(t, 0) // tells telemetry the connectors
	var out string
	exportertest.Eventually(t, "the snapshots", 10*time.Second, func() bool {
		out = s.scrape(t, 0)
		return strings.Count(out, "cloudflare_magic_connector_tunnel_health{") >= 10
	})
	out += snapshotPage(t, fixtureSnapshot(t, "snapshot_full.json"))

	personal := append(simulator.PersonalData(simulator.DemoFleet(testNow)), fixturePersonalData...)
	if len(personal) < 16 {
		t.Fatalf("only %d personal values to look for", len(personal))
	}
	for _, p := range personal {
		if strings.Contains(out, p) {
			t.Errorf("metrics contain the DHCP lease value %q", p)
		}
		if strings.Contains(s.logs.String(), p) {
			t.Errorf("log contains the DHCP lease value %q", p)
		}
	}
}

// TestTelemetryDuplicatesAreSkipped keeps a snapshot that lists a mount or
// a device twice from breaking the page.
func TestTelemetryDuplicatesAreSkipped(t *testing.T) {
	page := snapshotPage(t, &api.Snapshot{
		T:       1,
		Mounts:  []api.SnapshotMount{{MountPoint: "/", TotalBytes: new(float64)}, {MountPoint: "/", TotalBytes: new(float64)}},
		Netdevs: []api.SnapshotNetdev{{Name: "eth0"}, {Name: "eth0"}},
	})
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(page), "\n") {
		if !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	if got, want := len(lines), 1+1+6; got != want {
		t.Errorf("%d series, want %d:\n%s", got, want, page)
	}
	lint(t, page)
}
