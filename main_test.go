package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
)

// binary is the exporter built once for every test here, version-stamped
// the way releases are.
var binary string

const testVersion = "0.0.0-e2e"

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cme-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, exporterName)
	build := exec.Command("go", "build", "-o", binary,
		"-ldflags", "-X github.com/prometheus/common/version.Version="+testVersion+
			" -X github.com/prometheus/common/version.Revision=e2e0000", ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the exporter:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// secrets are the strings no output of the exporter may contain.
var secrets = []string{simulator.DemoToken, simulator.DemoKey, simulator.LicenseKeyPrefix}

func assertNoSecret(t *testing.T, what, s string) {
	t.Helper()
	for _, secret := range secrets {
		if strings.Contains(s, secret) {
			t.Errorf("%s contains the secret %q", what, secret)
		}
	}
}

// syncBuffer collects a process's output while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type exporterProcess struct {
	url  string
	logs *syncBuffer
	cmd  *exec.Cmd
}

// listeningRE finds the listen address in a logfmt or JSON log line.
var listeningRE = regexp.MustCompile(`msg="Listening on" address=(\S+)|"address":"([^"]+)","caller":"[^"]*","level":"info","msg":"Listening on"`)

// startExporter runs the binary on a free loopback port with args and env
// (and nothing of the test's own environment that could carry a
// credential), and waits until it listens.
func startExporter(t *testing.T, env []string, args ...string) *exporterProcess {
	t.Helper()
	args = append([]string{"--web.listen-address=127.0.0.1:0"}, args...)
	cmd := exec.Command(binary, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &exporterProcess{logs: &syncBuffer{}, cmd: cmd}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("exporter log:\n%s", p.logs.String())
		}
	})
	addr := make(chan string, 1)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(p.logs, line)
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1] + m[2]:
				default:
				}
			}
		}
	}()
	select {
	case a := <-addr:
		p.url = "http://" + a
		p.waitReady(t)
	case <-exited:
		t.Fatalf("exporter exited at startup; log:\n%s", p.logs.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("exporter did not start listening; log:\n%s", p.logs.String())
	}
	return p
}

// waitReady polls /-/ready until the exporter knows its accounts.
func (p *exporterProcess) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(p.url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("exporter never ready; log:\n%s", p.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (p *exporterProcess) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(p.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func startSimulatedAPI(t *testing.T) (*simulator.Server, string) {
	t.Helper()
	sim := simulator.NewServer(simulator.DemoFleet(time.Now()),
		simulator.WithToken(simulator.DemoToken), simulator.WithKey(simulator.DemoEmail, simulator.DemoKey))
	return sim, sim.Start(t)
}

func tokenEnv(apiURL string) []string {
	return []string{
		"CLOUDFLARE_API_TOKEN=" + simulator.DemoToken,
		"CLOUDFLARE_ACCOUNT_ID=" + simulator.AccountRetail + "," + simulator.AccountLabs,
	}
}

func TestEndToEnd(t *testing.T) {
	sim, apiURL := startSimulatedAPI(t)
	p := startExporter(t, tokenEnv(apiURL), "--cloudflare.api-url="+apiURL)

	code, page := p.get(t, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics answered %d", code)
	}
	for _, want := range []string{
		`cloudflare_magic_up{account_id="` + simulator.AccountRetail + `",endpoint="connectors"} 1`,
		`cloudflare_magic_up{account_id="` + simulator.AccountRetail + `",endpoint="apps"} 1`,
		`cloudflare_magic_up{account_id="` + simulator.AccountLabs + `",endpoint="connectors"} 1`,
		`cloudflare_magic_up{account_id="` + simulator.AccountLabs + `",endpoint="apps"} 1`,
		`cloudflare_magic_connector_activated{account_id="` + simulator.AccountRetail + `",connector_id="` + simulator.ConnectorNeverSeen + `"} 0`,
		`cloudflare_magic_connector_primary{account_id="` + simulator.AccountRetail + `",connector_id="` + simulator.ConnectorSecondary + `"} 0`,
		`cloudflare_magic_apps{account_id="` + simulator.AccountRetail + `",source="account",type="unknown"} 1`,
		`cloudflare_magic_api_requests_total{code="200",endpoint="connectors"} 2`,
		`cloudflare_magic_exporter_build_info{`,
		`version="` + testVersion + `"`,
		`go_goroutines `,
		`process_resident_memory_bytes `,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(page, `cloudflare_magic_connector_heartbeat_age_seconds{account_id="`+simulator.AccountRetail+`",connector_id="`+simulator.ConnectorNeverSeen+`"}`) {
		t.Error("a never-heartbeated connector has a heartbeat age")
	}
	// Each scrape calls each endpoint once per account.
	if got := sim.Calls(simulator.EndpointConnectors); got != 2 {
		t.Errorf("connectors called %d times for one scrape of 2 accounts", got)
	}
	ua := sim.Requests()[0].Header.Get("User-Agent")
	if ua != exporterName+"/"+testVersion {
		t.Errorf("User-Agent %q", ua)
	}

	checkMetricsWithPromtool(t, page)

	_, landing := p.get(t, "/")
	if !strings.Contains(landing, exporterName) || !strings.Contains(landing, "/metrics") {
		t.Errorf("landing page lacks the name or the metrics link:\n%s", landing)
	}
	for path, want := range map[string]string{"/-/healthy": "Healthy", "/-/ready": "Ready"} {
		if code, body := p.get(t, path); code != 200 || !strings.Contains(body, want) {
			t.Errorf("%s answered %d %q", path, code, body)
		}
	}
	assertNoSecret(t, "/metrics", page)
	assertNoSecret(t, "landing page", landing)
	assertNoSecret(t, "log", p.logs.String())
}

// checkMetricsWithPromtool runs `promtool check metrics` on a real scrape;
// it must print nothing. CI installs promtool; elsewhere the check is
// skipped when promtool is missing.
func checkMetricsWithPromtool(t *testing.T, page string) {
	t.Helper()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool is not installed; .ci/run installs it")
		}
		t.Log("promtool not found: skipping promtool check metrics")
		return
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(page)
	out, err := cmd.CombinedOutput()
	if err != nil || len(out) != 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

func TestFailingEndpointKeepsThePage(t *testing.T) {
	sim, apiURL := startSimulatedAPI(t)
	sim.SetFault(simulator.AccountRetail, simulator.EndpointApps, simulator.Fault{
		Status: 502, ContentType: "text/html", Body: "<html><title>502 Bad Gateway</title></html>",
	})
	sim.SetFault(simulator.AccountLabs, simulator.EndpointConnectors, simulator.Fault{
		Status: 400, Errors: []simulator.Message{{Code: 6003, Message: "Invalid request headers: " + simulator.DemoToken}},
	})
	p := startExporter(t, tokenEnv(apiURL), "--cloudflare.api-url="+apiURL)

	code, page := p.get(t, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics answered %d", code)
	}
	for _, want := range []string{
		`cloudflare_magic_up{account_id="` + simulator.AccountRetail + `",endpoint="apps"} 0`,
		`cloudflare_magic_up{account_id="` + simulator.AccountRetail + `",endpoint="connectors"} 1`,
		`cloudflare_magic_up{account_id="` + simulator.AccountLabs + `",endpoint="connectors"} 0`,
		`cloudflare_magic_connector_info{account_id="` + simulator.AccountRetail + `"`,
		`cloudflare_magic_app_info{account_id="` + simulator.AccountLabs + `"`,
		`cloudflare_magic_api_requests_total{code="502",endpoint="apps"} 2`, // a 5xx is retried once
	} {
		if !strings.Contains(page, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	for _, unwanted := range []string{
		`cloudflare_magic_app_info{account_id="` + simulator.AccountRetail + `"`,
		`cloudflare_magic_connector_info{account_id="` + simulator.AccountLabs + `"`,
	} {
		if strings.Contains(page, unwanted) {
			t.Errorf("/metrics has series of a failed call: %q", unwanted)
		}
	}
	waitForLog(t, p, `endpoint=apps`)
	logs := p.logs.String()
	for _, want := range []string{
		`level=error`, `msg="scrape failed" account_id=` + simulator.AccountRetail + ` endpoint=apps`, `HTTP 502 Bad Gateway`,
		`msg="scrape failed" account_id=` + simulator.AccountLabs + ` endpoint=connectors`, `6003: Invalid request headers: [REDACTED]`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	assertNoSecret(t, "/metrics", page)
	assertNoSecret(t, "log", logs)
}

func waitForLog(t *testing.T, p *exporterProcess, substr string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(p.logs.String(), substr) {
		if time.Now().After(deadline) {
			t.Fatalf("log never contained %q", substr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCredentialsFromFilesAndFlags(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(tokenFile, []byte(simulator.DemoToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, []byte(simulator.DemoKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		env  []string
		args []string
	}{
		{"token file", nil, []string{"--cloudflare.api-token-file=" + tokenFile}},
		{"token flag", nil, []string{"--cloudflare.api-token=" + simulator.DemoToken}},
		{"email and key from the environment", []string{"CLOUDFLARE_API_EMAIL=" + simulator.DemoEmail, "CLOUDFLARE_API_KEY=" + simulator.DemoKey}, nil},
		{"email flag and key file", nil, []string{"--cloudflare.api-email=" + simulator.DemoEmail, "--cloudflare.api-key-file=" + keyFile}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, apiURL := startSimulatedAPI(t)
			args := append([]string{
				"--cloudflare.api-url=" + apiURL,
				"--cloudflare.account-id=" + simulator.AccountLabs,
				"--cloudflare.account-id=" + strings.ToUpper(simulator.AccountRetail),
			}, tc.args...)
			p := startExporter(t, tc.env, args...)
			_, page := p.get(t, "/metrics")
			for _, a := range []string{simulator.AccountLabs, simulator.AccountRetail} {
				want := `cloudflare_magic_up{account_id="` + a + `",endpoint="connectors"} 1`
				if !strings.Contains(page, want) {
					t.Errorf("/metrics lacks %q", want)
				}
			}
			assertNoSecret(t, "log", p.logs.String())
		})
	}
}

func TestStartupErrors(t *testing.T) {
	tokenEnv := "CLOUDFLARE_API_TOKEN=" + simulator.DemoToken
	accountEnv := "CLOUDFLARE_ACCOUNT_ID=" + simulator.AccountLabs
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"no credential", []string{accountEnv}, nil, "no Cloudflare credential: set --cloudflare.api-token-file"},
		{"bad account", []string{tokenEnv, "CLOUDFLARE_ACCOUNT_ID=acme"}, nil, `account ID \"acme\" is not 32 hex characters`},
		{"token and key", []string{tokenEnv, accountEnv, "CLOUDFLARE_API_KEY=" + simulator.DemoKey}, nil, "both an API token and an email/API key are set"},
		{"key without email", []string{accountEnv, "CLOUDFLARE_API_KEY=" + simulator.DemoKey}, nil, "set --cloudflare.api-email or CLOUDFLARE_API_EMAIL"},
		{"missing token file", []string{accountEnv}, []string{"--cloudflare.api-token-file=/nonexistent/token"}, "read API token file: stat /nonexistent/token: no such file or directory"},
		{"bad API URL", []string{tokenEnv, accountEnv}, []string{"--cloudflare.api-url=api.cloudflare.com"}, "is not an absolute http(s) URL"},
		{"bad telemetry concurrency", []string{tokenEnv, accountEnv}, []string{"--collector.telemetry", "--collector.telemetry.concurrency=0"}, "telemetry concurrency must be positive"},
		{"bad telemetry interval", []string{tokenEnv, accountEnv}, []string{"--collector.telemetry", "--collector.telemetry.interval=0s"}, "telemetry interval must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(binary, append([]string{"--web.listen-address=127.0.0.1:0"}, tc.args...)...)
			cmd.Env = tc.env
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			done := make(chan error, 1)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
					t.Errorf("exit: %v, want status 1", err)
				}
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatal("the exporter started instead of failing")
			}
			out := strings.TrimSpace(stderr.String())
			if strings.Count(out, "\n") != 0 {
				t.Errorf("want one line, got:\n%s", out)
			}
			if !strings.Contains(out, tc.want) || !strings.Contains(out, "level=error") {
				t.Errorf("error %q lacks %q", out, tc.want)
			}
			assertNoSecret(t, "error", out)
		})
	}
}

func TestHelpDoesNotShowSecrets(t *testing.T) {
	cmd := exec.Command(binary, "--help")
	cmd.Env = []string{"CLOUDFLARE_API_TOKEN=" + simulator.DemoToken, "CLOUDFLARE_API_KEY=" + simulator.DemoKey}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("--help: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--cloudflare.api-token") || !strings.Contains(string(out), "CLOUDFLARE_API_TOKEN") {
		t.Errorf("help lacks the token flag:\n%s", out)
	}
	assertNoSecret(t, "--help", string(out))

	out, err = exec.Command(binary, "--version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), testVersion) {
		t.Errorf("--version: %v %s", err, out)
	}
}

func TestDemo(t *testing.T) {
	p := startExporter(t, nil, "--demo")
	_, page := p.get(t, "/metrics")
	for _, want := range []string{
		`cloudflare_magic_up{account_id="` + simulator.AccountRetail + `",endpoint="connectors"} 1`,
		`cloudflare_magic_up{account_id="` + simulator.AccountLabs + `",endpoint="apps"} 1`,
		`cloudflare_magic_connector_heartbeat_age_seconds{account_id="` + simulator.AccountRetail + `",connector_id="` + simulator.ConnectorStale + `"} 720`, // stale for 2 hours: 7200 s and counting
		`version="2026.8.0"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("demo /metrics lacks %q", want)
		}
	}
	if !strings.Contains(p.logs.String(), "demo mode") {
		t.Error("the log does not say the data is simulated")
	}
}

func TestJSONLogs(t *testing.T) {
	p := startExporter(t, []string{"CLOUDFLARE_API_TOKEN=x", "CLOUDFLARE_ACCOUNT_ID=" + simulator.AccountLabs},
		"--log.format=json", "--cloudflare.api-url=http://127.0.0.1:1/client/v4")
	p.get(t, "/metrics") // fails to reach the API: one more log line
	waitForLog(t, p, "scrape failed")
	lines := strings.Split(strings.TrimSpace(p.logs.String()), "\n")
	if len(lines) < 4 {
		t.Fatalf("want at least 4 log lines, got:\n%s", p.logs.String())
	}
	for _, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("not JSON: %s", line)
			continue
		}
		for _, k := range []string{"level", "ts", "caller", "msg"} {
			if _, ok := rec[k]; !ok {
				t.Errorf("log line lacks %q: %s", k, line)
			}
		}
		if _, ok := rec["time"]; ok {
			t.Errorf("log line has both time and ts: %s", line)
		}
	}
}

// servedFamilies returns the cloudflare_magic_* families a page declares.
func servedFamilies(page string) map[string]bool {
	served := map[string]bool{}
	for _, m := range typeLineRE.FindAllStringSubmatch(page, -1) {
		served[m[1]] = true
	}
	return served
}

var typeLineRE = regexp.MustCompile(`(?m)^# TYPE (cloudflare_magic_\S+) `)

// readmeTable returns the first cell of every row of the table of a
// documentation file (docs/flags.md, docs/metrics.md) whose header row
// starts with header.
func readmeTable(t *testing.T, file, header string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var cells []string
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "| "+header+" |"):
			in = true
		case in && strings.HasPrefix(line, "|---"):
		case in && strings.HasPrefix(line, "| "):
			cell := strings.TrimSpace(strings.Split(line, "|")[1])
			cells = append(cells, strings.Trim(cell, "`"))
		default:
			in = false
		}
	}
	if len(cells) == 0 {
		t.Fatalf("%s has no table headed %q", file, header)
	}
	return cells
}

// TestReadmeFlagsTable keeps the README's flags table true to --help.
func TestReadmeFlagsTable(t *testing.T) {
	out, err := exec.Command(binary, "--help").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	help := map[string]bool{}
	for _, m := range regexp.MustCompile(`--(?:\[no-\])?([a-z][a-z0-9-]*(?:\.[a-z0-9-]+)*)`).FindAllStringSubmatch(string(out), -1) {
		help["--"+m[1]] = true
	}
	delete(help, "--help")
	delete(help, "--help-long")
	delete(help, "--help-man")
	readme := map[string]bool{}
	for _, f := range readmeTable(t, "docs/flags.md", "Flag") {
		readme[f] = true
		if !help[f] {
			t.Errorf("README documents %s, which --help does not list", f)
		}
	}
	for f := range help {
		if !readme[f] {
			t.Errorf("--help lists %s, which the README's flags table lacks", f)
		}
	}
}

// TestReadmeMetricsTable keeps the README's metrics table true to what the
// exporter serves for the demo fleet.
func TestReadmeMetricsTable(t *testing.T) {
	p := startExporter(t, nil, "--demo")
	_, page := p.get(t, "/metrics")
	served := servedFamilies(page)
	// Metrics the demo fleet has no occasion for; their tests are elsewhere.
	conditional := map[string]string{
		"cloudflare_magic_connector_config_errors_total": "no demo connector has an invalid window (collector.TestWindowConfigErrors)",
	}
	readme := map[string]bool{}
	for _, name := range readmeTable(t, "docs/metrics.md", "Metric") {
		readme[name] = true
		if !served[name] && conditional[name] == "" {
			t.Errorf("README documents %s, which the exporter does not serve", name)
		}
	}
	for name := range served {
		if !readme[name] {
			t.Errorf("the exporter serves %s, which the README's metrics table lacks", name)
		}
	}
}

// scrapeUntil scrapes /metrics until ready accepts the page, for at most 10
// seconds, and returns that page.
func scrapeUntil(t *testing.T, p *exporterProcess, what string, ready func(page string) bool) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, page := p.get(t, "/metrics")
		if ready(page) {
			return page
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics never had %s:\n%s", what, page)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// demoActivated is how many connectors of the demo fleet are activated:
// each has one telemetry snapshot to fetch.
const demoActivated = 9

// scrapeDemoTelemetry waits until the demo's first telemetry refresh is done
// and returns that page.
func scrapeDemoTelemetry(t *testing.T, p *exporterProcess) string {
	t.Helper()
	return scrapeUntil(t, p, "every snapshot", func(page string) bool {
		return strings.Count(page, "\ncloudflare_magic_connector_snapshot_timestamp_seconds{") == demoActivated
	})
}

func TestTelemetryEndToEnd(t *testing.T) {
	p := startExporter(t, nil, "--demo", "--collector.telemetry")
	page := scrapeDemoTelemetry(t, p)
	series := func(metric, account, connector, extra string) string {
		return metric + `{account_id="` + account + `",connector_id="` + connector + `"` + extra + `}`
	}
	for _, want := range []string{
		`cloudflare_magic_up{account_id="` + simulator.AccountRetail + `",endpoint="telemetry"} 1`,
		`cloudflare_magic_up{account_id="` + simulator.AccountLabs + `",endpoint="telemetry"} 1`,
		series("cloudflare_magic_connector_ha_state", simulator.AccountRetail, "c0ffee0000000000000000000000e701", "") + " 1",
		series("cloudflare_magic_connector_ha_state", simulator.AccountRetail, simulator.ConnectorSecondary, "") + " 2",
		series("cloudflare_magic_connector_tunnel_health", simulator.AccountRetail, "c0ffee00000000000000000000001161", `,interface_name="xfrm2",tunnel_id="02000000000000000000000000000002"`) + " 2",
		series("cloudflare_magic_connector_filesystem_avail_bytes", simulator.AccountRetail, "c0ffee00000000000000000000001161", `,mountpoint="/data"`),
		series("cloudflare_magic_connector_network_receive_bytes_total", simulator.AccountLabs, "c0ffee0000000000000000000000cab1", `,device="wan0"`),
		series("cloudflare_magic_connector_temperature_critical_celsius", simulator.AccountLabs, "c0ffee0000000000000000000000cab1", `,sensor="cpu_thermal"`) + " 105",
		"# TYPE cloudflare_magic_connector_network_receive_bytes_total counter",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	for _, unwanted := range []string{
		// never activated: never fetched
		series("cloudflare_magic_connector_snapshot_timestamp_seconds", simulator.AccountRetail, simulator.ConnectorNeverSeen, ""),
		// virtual: no sensors
		series("cloudflare_magic_connector_temperature_celsius", simulator.AccountRetail, simulator.ConnectorOldVersion, `,sensor="cpu_thermal"`),
	} {
		if strings.Contains(page, unwanted) {
			t.Errorf("/metrics has %q", unwanted)
		}
	}
	checkMetricsWithPromtool(t, page)

	// Scrapes read snapshots from memory: however many there are, one call
	// per activated connector per interval (60 s by default).
	for range 3 {
		p.get(t, "/metrics")
	}
	_, page = p.get(t, "/metrics")
	if want := fmt.Sprintf(`cloudflare_magic_api_requests_total{code="200",endpoint="telemetry"} %d`+"\n", demoActivated); !strings.Contains(page, want) {
		t.Errorf("/metrics lacks %q: scrapes called the snapshot endpoint", want)
	}

	logs := p.logs.String()
	for _, value := range simulator.PersonalData(simulator.DemoFleet(time.Now())) {
		if strings.Contains(page, value) || strings.Contains(logs, value) {
			t.Errorf("the DHCP lease value %q leaked into /metrics or the log", value)
		}
	}
	assertNoSecret(t, "/metrics", page)
	assertNoSecret(t, "log", logs)
}

// TestReadmeTelemetryMetricsTable keeps the README's telemetry metrics
// table true to what --collector.telemetry adds to the demo.
func TestReadmeTelemetryMetricsTable(t *testing.T) {
	p := startExporter(t, nil, "--demo", "--collector.telemetry")
	page := scrapeDemoTelemetry(t, p)
	served := servedFamilies(page)
	base := map[string]bool{}
	for _, name := range readmeTable(t, "docs/metrics.md", "Metric") {
		base[name] = true
	}
	telemetry := map[string]bool{}
	for _, name := range readmeTable(t, "docs/metrics.md", "Telemetry metric") {
		telemetry[name] = true
		if base[name] {
			t.Errorf("README documents %s in both metrics tables", name)
		}
		if !served[name] {
			t.Errorf("README documents %s, which --collector.telemetry does not serve", name)
		}
	}
	for name := range served {
		if !base[name] && !telemetry[name] {
			t.Errorf("--collector.telemetry serves %s, which the README's telemetry metrics table lacks", name)
		}
	}
}
