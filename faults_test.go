package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
)

// scrapeWithTimeout fetches /metrics as Prometheus does, announcing its
// scrape timeout.
func (p *exporterProcess) scrapeWithTimeout(t *testing.T, seconds float64) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, p.url+"/metrics", nil)
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", fmt.Sprint(seconds))
	hc := &http.Client{Timeout: time.Duration(seconds*float64(time.Second)) + 5*time.Second}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestFaultInjection breaks each endpoint in every way the API and the
// network can, and checks the exporter keeps serving: /metrics answers 200,
// the failing endpoint's up is 0, the other endpoint's series are intact,
// the log names the account, the endpoint and the cause, and no secret
// appears anywhere.
func TestFaultInjection(t *testing.T) {
	authErr := []simulator.Message{{Code: 10000, Message: "Authentication error"}}
	const maxBytes = 16 << 10
	huge := `{"success":true,"errors":[],"messages":[],"result":[` +
		strings.Repeat(`{"id":"c0ffee00000000000000000000000000","activated":true,"notes":"padding padding"},`, maxBytes/64) +
		`{"id":"last"}]}`
	for _, tc := range []struct {
		name  string
		fault simulator.Fault
		// up is the failing endpoint's expected up: 1 for a slow answer
		// that still makes the deadline.
		up    int
		cause string
	}{
		{"HTTP 500", simulator.Fault{Status: 500, Errors: []simulator.Message{{Code: 1000, Message: "Internal error"}}}, 0, "HTTP 500 Internal Server Error: 1000: Internal error (after 2 attempts)"},
		{"HTTP 502 with an HTML body", simulator.Fault{Status: 502, ContentType: "text/html", Body: "<html><head><title>502 Bad Gateway</title></head><body>cloudflare</body></html>"}, 0, `HTTP 502 Bad Gateway: response body is not JSON (Content-Type \"text/html\", HTML title \"502 Bad Gateway\")`},
		// A 429 is delayed so the other endpoint's call is made before
		// the backoff begins.
		{"429 with Retry-After", simulator.Fault{Delay: time.Second, Status: 429, Header: http.Header{"Retry-After": {"120"}}, Errors: []simulator.Message{{Code: 971, Message: "Please wait"}}}, 0, "no call for 2m0s"},
		{"429 without Retry-After", simulator.Fault{Delay: time.Second, Status: 429, Errors: []simulator.Message{{Code: 971, Message: "Please wait"}}}, 0, "no call for 5m0s"},
		{"success false under HTTP 200", simulator.Fault{Errors: []simulator.Message{{Code: 7003, Message: "Could not route"}}}, 0, "HTTP 200 OK: API answered success false: 7003: Could not route"},
		{"truncated JSON", simulator.Fault{Body: `{"success":true,"errors":[],"result":[{"id":"x","activ`}, 0, "response body is truncated JSON"},
		{"malformed JSON", simulator.Fault{Body: `{"success":true,"result":[{"id":"x"}}`}, 0, "response body is malformed JSON"},
		{"empty body", simulator.Fault{Status: 200}, 0, "response body is empty"},
		{"oversized body", simulator.Fault{Body: huge}, 0, fmt.Sprintf("response body larger than %d bytes", maxBytes)},
		{"hang", simulator.Fault{Hang: true}, 0, "context deadline exceeded"},
		{"slow response near the deadline", simulator.Fault{Delay: 600 * time.Millisecond}, 1, ""},
		{"closed connection", simulator.Fault{CloseConnection: true}, 0, "no response: EOF (after 2 attempts)"},
		{"401", simulator.Fault{Status: 401, Errors: authErr}, 0, `HTTP 401 Unauthorized: 10000: Authentication error" hint="the credential needs the Magic WAN Read permission`},
		{"403", simulator.Fault{Status: 403, Errors: authErr}, 0, `HTTP 403 Forbidden: 10000: Authentication error" hint="the credential needs the Magic WAN Read permission`},
	} {
		for _, endpoint := range []string{simulator.EndpointConnectors, simulator.EndpointApps} {
			other := map[string]string{simulator.EndpointConnectors: simulator.EndpointApps, simulator.EndpointApps: simulator.EndpointConnectors}[endpoint]
			t.Run(tc.name+"/"+endpoint, func(t *testing.T) {
				t.Parallel()
				sim, apiURL := startSimulatedAPI(t)
				sim.SetFault(simulator.AccountRetail, endpoint, tc.fault)
				p := startExporter(t, tokenEnv(apiURL), "--cloudflare.api-url="+apiURL,
					fmt.Sprintf("--cloudflare.max-response-bytes=%d", maxBytes))

				// Prometheus's scrape timeout of 3 s, less the 0.5 s
				// offset: the hang is cut after 2.5 s, and the slow
				// answer (0.6 s) has room to spare on a busy machine.
				code, page := p.scrapeWithTimeout(t, 3)
				if code != http.StatusOK {
					t.Fatalf("/metrics answered %d", code)
				}
				series := map[string]string{simulator.EndpointConnectors: "cloudflare_magic_connector_info", simulator.EndpointApps: "cloudflare_magic_app_info"}
				for _, want := range []string{
					fmt.Sprintf(`cloudflare_magic_up{account_id=%q,endpoint=%q} %d`, simulator.AccountRetail, endpoint, tc.up),
					fmt.Sprintf(`cloudflare_magic_up{account_id=%q,endpoint=%q} 1`, simulator.AccountRetail, other),
					fmt.Sprintf(`%s{account_id=%q`, series[other], simulator.AccountRetail),
					fmt.Sprintf(`cloudflare_magic_up{account_id=%q,endpoint=%q} 1`, simulator.AccountLabs, endpoint),
					fmt.Sprintf(`%s{account_id=%q`, series[endpoint], simulator.AccountLabs),
				} {
					if !strings.Contains(page, want) {
						t.Errorf("/metrics lacks %q", want)
					}
				}
				failed := fmt.Sprintf(`%s{account_id=%q`, series[endpoint], simulator.AccountRetail)
				if tc.up == 0 && strings.Contains(page, failed) {
					t.Errorf("/metrics serves series of the failed call: %q", failed)
				}
				if tc.cause != "" {
					waitForLog(t, p, "endpoint="+endpoint)
					line := logLine(p.logs.String(), "account_id="+simulator.AccountRetail+" endpoint="+endpoint)
					if line == "" || !strings.Contains(line, tc.cause) {
						t.Errorf("no log line names account, endpoint and cause %q:\n%s", tc.cause, p.logs.String())
					}
				}
				// The exporter keeps serving.
				if code, _ := p.get(t, "/metrics"); code != http.StatusOK {
					t.Errorf("second scrape answered %d", code)
				}
				assertNoSecret(t, "/metrics", page)
				assertNoSecret(t, "log", p.logs.String())
			})
		}
	}
}

func logLine(logs, substr string) string {
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, substr) {
			return l
		}
	}
	return ""
}

func TestSIGTERMDrainsScrapes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault simulator.Fault
		up    int
	}{
		// A scrape that can finish in the grace period is answered whole.
		{"slow API", simulator.Fault{Delay: time.Second}, 1},
		// One that cannot has its calls cancelled and is answered at once.
		{"hanging API", simulator.Fault{Hang: true}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim, apiURL := startSimulatedAPI(t)
			sim.SetFault("", simulator.EndpointConnectors, tc.fault)
			p := startExporter(t, tokenEnv(apiURL), "--cloudflare.api-url="+apiURL, "--cloudflare.timeout=30s")

			type answer struct {
				code int
				page string
			}
			answered := make(chan answer, 1)
			go func() {
				resp, err := http.Get(p.url + "/metrics")
				if err != nil {
					answered <- answer{page: err.Error()}
					return
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				answered <- answer{resp.StatusCode, string(b)}
			}()
			for sim.Calls(simulator.EndpointConnectors) < 2 {
				time.Sleep(5 * time.Millisecond)
			}
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- p.cmd.Wait() }()
			select {
			case err := <-exited:
				if err != nil {
					t.Errorf("exit after SIGTERM: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("still running 5 s after SIGTERM")
			}
			a := <-answered
			want := fmt.Sprintf(`cloudflare_magic_up{account_id=%q,endpoint="connectors"} %d`, simulator.AccountRetail, tc.up)
			if a.code != http.StatusOK || !strings.Contains(a.page, want) {
				t.Errorf("the scrape in flight got %d, want 200 with %q:\n%s", a.code, want, a.page)
			}
			if !strings.Contains(p.logs.String(), "shutting down") {
				t.Error("the log does not say it is shutting down")
			}
		})
	}
}

func TestTokenRotationWithoutRestart(t *testing.T) {
	sim, apiURL := startSimulatedAPI(t)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	// Kubernetes mounts a Secret through a symlink it swaps on update.
	writeToken := func(token, version string) {
		t.Helper()
		data := filepath.Join(dir, version)
		if err := os.WriteFile(data, []byte(token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		link := tokenFile + ".tmp"
		if err := os.Symlink(data, link); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(link, tokenFile); err != nil {
			t.Fatal(err)
		}
	}
	writeToken(simulator.DemoToken, "v1")
	p := startExporter(t, []string{"CLOUDFLARE_ACCOUNT_ID=" + simulator.AccountLabs},
		"--cloudflare.api-url="+apiURL, "--cloudflare.api-token-file="+tokenFile)
	up := fmt.Sprintf(`cloudflare_magic_up{account_id=%q,endpoint="connectors"} 1`, simulator.AccountLabs)
	if _, page := p.get(t, "/metrics"); !strings.Contains(page, up) {
		t.Fatalf("before rotation: %q missing", up)
	}

	rotated := "rotated-f00dfeed-1234"
	sim.SetToken(rotated)
	writeToken(rotated, "v2")
	if _, page := p.get(t, "/metrics"); !strings.Contains(page, up) {
		t.Errorf("after rotation: %q missing; log:\n%s", up, p.logs.String())
	}
	for _, r := range sim.Requests()[len(sim.Requests())-2:] {
		if got := r.Header.Get("Authorization"); got != "Bearer "+rotated {
			t.Errorf("Authorization after rotation: %q", got)
		}
	}
	if strings.Contains(p.logs.String(), rotated) {
		t.Error("the log contains the rotated token")
	}
}
