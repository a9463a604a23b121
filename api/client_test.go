package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
)

var testNow = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// secrets are the strings no error may ever contain.
var secrets = []string{simulator.DemoToken, simulator.DemoKey, simulator.LicenseKeyPrefix, "LK-SECRET"}

func assertNoSecret(t *testing.T, what, s string) {
	t.Helper()
	for _, secret := range secrets {
		if strings.Contains(s, secret) {
			t.Errorf("%s contains the secret %q: %s", what, secret, s)
		}
	}
}

// newClient starts the simulated API with the demo fleet and returns it with
// a client authenticated by the demo token.
func newClient(t *testing.T, cfg api.Config) (*simulator.Server, *api.Client) {
	t.Helper()
	sim := simulator.NewServer(simulator.DemoFleet(testNow),
		simulator.WithClock(func() time.Time { return testNow }),
		simulator.WithToken(simulator.DemoToken),
		simulator.WithKey(simulator.DemoEmail, simulator.DemoKey))
	cfg.BaseURL = sim.Start(t)
	if cfg.Auth == nil {
		cfg.Auth = mustAuth(api.TokenAuth(simulator.DemoToken))
	}
	c, err := api.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sim, c
}

func mustAuth(a api.Auth, err error) api.Auth {
	if err != nil {
		panic(err)
	}
	return a
}

// withoutRev clears what identifies each record's bytes, for comparing
// records decoded from differently laid out answers.
func withoutRev[T any](items []T, rev func(*T) *uint64) []T {
	for i := range items {
		*rev(&items[i]) = 0
	}
	return items
}

func connectorRev(c *api.Connector) *uint64 { return &c.Rev }

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestListConnectorsDecodesEveryField(t *testing.T) {
	sim, c := newClient(t, api.Config{})
	sim.SetFault(simulator.AccountRetail, simulator.EndpointConnectors, simulator.Fault{Body: readFile(t, "connectors.json")})

	got, err := c.ListConnectors(context.Background(), simulator.AccountRetail)
	if err != nil {
		t.Fatal(err)
	}
	want := []api.Connector{
		{ConnectorRecord: &api.ConnectorRecord{
			ID:                           "8e6a2c1f0b9d4e7fa3c5b1d2e4f60718",
			Activated:                    true,
			Device:                       &api.Device{ID: "dev-1", SerialNumber: "MC1000-0001", Type: "MANAGED"},
			InterruptWindowDaysOfWeek:    []string{"Sunday", "Wednesday"},
			InterruptWindowHourOfDay:     2,
			InterruptWindowDurationHours: 4,
			InterruptWindowEmbargoDates:  []string{"2026-12-24"},
			LastSeenVersion:              "2026.10.2",
			LastUpdated:                  time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC),
			Notes:                        "London - Oxford Street",
			Primary:                      true,
			SiteID:                       "site-lon",
			Timezone:                     "Europe/London",
		}, LastHeartbeat: time.Date(2026, 11, 20, 8, 15, 2, 123456000, time.UTC)},
		{ConnectorRecord: &api.ConnectorRecord{
			ID:                           "1b2c3d4e5f60718293a4b5c6d7e8f901",
			Activated:                    true,
			Device:                       &api.Device{ID: "dev-2"},
			InterruptWindowDaysOfWeek:    []string{},
			InterruptWindowHourOfDay:     23,
			InterruptWindowDurationHours: 24,
			InterruptWindowEmbargoDates:  []string{},
			LastUpdated:                  time.Date(2026, 11, 1, 9, 0, 0, 500000000, time.UTC),
			Notes:                        "New York (HA secondary)",
			Primary:                      false,
			Timezone:                     "America/New_York",
		}, LastHeartbeat: time.Date(2026, 11, 20, 8, 15, 2, 0, time.UTC)},
		{ConnectorRecord: &api.ConnectorRecord{
			// Empty last_heartbeat means never; absent primary means true.
			ID:                           "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
			InterruptWindowDaysOfWeek:    []string{},
			InterruptWindowDurationHours: 1,
			InterruptWindowEmbargoDates:  []string{},
			LastUpdated:                  time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC),
			Primary:                      true,
			Timezone:                     "Europe/Paris",
		}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d connectors, want %d", len(got), len(want))
	}
	for i := range want {
		if !got[i].LastUpdated.Equal(want[i].LastUpdated) || !got[i].LastHeartbeat.Equal(want[i].LastHeartbeat) {
			t.Errorf("connector %d: timestamps %v/%v, want %v/%v", i, got[i].LastHeartbeat, got[i].LastUpdated, want[i].LastHeartbeat, want[i].LastUpdated)
		}
		got[i].LastUpdated, want[i].LastUpdated = time.Time{}, time.Time{}
		got[i].LastHeartbeat, want[i].LastHeartbeat = time.Time{}, time.Time{}
		if got[i].Rev == 0 {
			t.Errorf("connector %d: no Rev", i)
		}
		got[i].Rev = 0
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("connector %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
	all, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	assertNoSecret(t, "decoded connectors", string(all))
}

// TestUnreadableTimestampIsOneConnectorsProblem: a timestamp that is not
// one is treated as absent and named, and the other connectors decode.
func TestUnreadableTimestampIsOneConnectorsProblem(t *testing.T) {
	sim, c := newClient(t, api.Config{})
	sim.SetFault(simulator.AccountRetail, simulator.EndpointConnectors, simulator.Fault{Body: `{"success":true,"result":[
		{"id":"abc","activated":true,"last_heartbeat":"yesterday","last_updated":"2026-11-01T10:00:00Z","timezone":"UTC"},
		{"id":"def","activated":true,"last_heartbeat":"2026-11-20T08:15:02Z","last_updated":"","timezone":"UTC"}]}`})
	got, err := c.ListConnectors(context.Background(), simulator.AccountRetail)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got[0].LastHeartbeat.IsZero() || !reflect.DeepEqual(got[0].InvalidFields, []string{"last_heartbeat"}) ||
		got[0].LastUpdated.IsZero() {
		t.Errorf("first connector: %+v", got[0])
	}
	if got[1].InvalidFields != nil || got[1].LastHeartbeat.IsZero() || !got[1].LastUpdated.IsZero() {
		t.Errorf("second connector (an empty timestamp is absent, not invalid): %+v", got[1])
	}
}

// TestTimestampOutOfRangeIsInvalid: a time the exporter cannot represent
// (past 2262-04-11 in Unix nanoseconds, where 9999-12-31 wrapped around to
// -4.85e9 seconds) or older than Cloudflare is invalid, as an unreadable
// one is; a time just within either bound is not.
func TestTimestampOutOfRangeIsInvalid(t *testing.T) {
	for heartbeat, invalid := range map[string]bool{
		"9999-12-31T23:59:59Z":           true,
		"2262-04-12T00:00:00Z":           true,
		"2262-04-11T23:47:16.854775807Z": false,
		"1677-09-20T00:00:00Z":           true,
		"1970-01-01T00:00:00Z":           true,
		"2008-12-31T23:59:59Z":           true,
		"2009-01-01T00:00:00Z":           false,
		"2026-11-24T11:59:50+01:00":      false,
	} {
		sim, c := newClient(t, api.Config{})
		sim.SetFault(simulator.AccountRetail, simulator.EndpointConnectors, simulator.Fault{Body: `{"success":true,"result":[
			{"id":"abc","activated":true,"last_heartbeat":"` + heartbeat + `","last_updated":"` + heartbeat + `","timezone":"UTC"}]}`})
		got, err := c.ListConnectors(context.Background(), simulator.AccountRetail)
		if err != nil {
			t.Fatal(err)
		}
		if got[0].LastHeartbeat.IsZero() != invalid || (len(got[0].InvalidFields) == 2) != invalid {
			t.Errorf("%s: heartbeat %v, invalid fields %v; want invalid %v", heartbeat, got[0].LastHeartbeat, got[0].InvalidFields, invalid)
		}
		if !invalid && got[0].LastHeartbeat.UnixNano() < 0 {
			t.Errorf("%s: %d ns, wrapped around", heartbeat, got[0].LastHeartbeat.UnixNano())
		}
	}
}

func TestListAppsDecodesBothShapes(t *testing.T) {
	sim, c := newClient(t, api.Config{})
	sim.SetFault(simulator.AccountRetail, simulator.EndpointApps, simulator.Fault{Body: readFile(t, "apps.json")})

	got, err := c.ListApps(context.Background(), simulator.AccountRetail)
	if err != nil {
		t.Fatal(err)
	}
	want := []api.App{
		{AppRecord: &api.AppRecord{ID: "a9f1c3e5b7d9f1a3c5e7b9d1f3a5c7e9", Source: api.AppSourceAccount, Name: "Internal Git", Type: "Development",
			Hostnames: []string{"git.example.com"}, IPSubnets: []string{"10.0.0.0/24"}, SourceSubnets: []string{"10.1.0.0/16"}}},
		{AppRecord: &api.AppRecord{ID: "zoom", Source: api.AppSourceManaged, Name: "Zoom", Type: "Collaboration", Hostnames: []string{"zoom.us"}}},
		{AppRecord: &api.AppRecord{ID: "b1a3c5e7f9b1d3f5a7c9e1b3d5f7a9c1", Source: api.AppSourceAccount, Name: "Legacy ERP"}},
		{AppRecord: &api.AppRecord{ID: "github", Source: api.AppSourceManaged, Name: "GitHub"}},
		{AppRecord: &api.AppRecord{Name: "A shape from the future"}},
	}
	if !reflect.DeepEqual(withoutRev(got, func(a *api.App) *uint64 { return &a.Rev }), want) {
		t.Errorf("apps:\n got %+v\nwant %+v", got, want)
	}
}

func TestListFromSimulatedFleet(t *testing.T) {
	_, c := newClient(t, api.Config{})
	connectors, err := c.ListConnectors(context.Background(), simulator.AccountRetail)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]api.Connector{}
	for _, cn := range connectors {
		byID[cn.ID] = cn
	}
	if len(byID) != 8 {
		t.Fatalf("got %d connectors, want 8", len(byID))
	}
	if !byID[simulator.ConnectorNeverSeen].LastHeartbeat.IsZero() || byID[simulator.ConnectorNeverSeen].Activated {
		t.Errorf("never-seen connector: %+v", byID[simulator.ConnectorNeverSeen])
	}
	if byID[simulator.ConnectorSecondary].Primary {
		t.Errorf("secondary connector decoded as primary")
	}
	if got := testNow.Sub(byID[simulator.ConnectorStale].LastHeartbeat); got != simulator.StaleHeartbeatAgo {
		t.Errorf("stale connector heartbeat age %v, want %v", got, simulator.StaleHeartbeatAgo)
	}
	apps, err := c.ListApps(context.Background(), simulator.AccountLabs)
	if err != nil {
		t.Fatal(err)
	}
	if len(apps) != 2 || apps[0].Source != api.AppSourceAccount || apps[1].Source != api.AppSourceManaged {
		t.Errorf("labs apps: %+v", apps)
	}
}

func TestAuthHeaders(t *testing.T) {
	for _, tc := range []struct {
		name string
		auth api.Auth
		want map[string]string
	}{
		{"token", mustAuth(api.TokenAuth(" " + simulator.DemoToken + "\n")), map[string]string{
			"Authorization": "Bearer " + simulator.DemoToken, "X-Auth-Key": "", "X-Auth-Email": "",
		}},
		{"email and key", mustAuth(api.KeyAuth(simulator.DemoEmail, simulator.DemoKey)), map[string]string{
			"Authorization": "", "X-Auth-Email": simulator.DemoEmail, "X-Auth-Key": simulator.DemoKey,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim, c := newClient(t, api.Config{Auth: tc.auth, UserAgent: "cloudflare_magic_exporter/1.2.3"})
			if _, err := c.ListApps(context.Background(), simulator.AccountRetail); err != nil {
				t.Fatal(err)
			}
			reqs := sim.Requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			h := reqs[0].Header
			for k, v := range tc.want {
				if h.Get(k) != v {
					t.Errorf("header %s = %q, want %q", k, h.Get(k), v)
				}
			}
			if h.Get("User-Agent") != "cloudflare_magic_exporter/1.2.3" {
				t.Errorf("User-Agent = %q", h.Get("User-Agent"))
			}
			if reqs[0].URL.Path != "/client/v4/accounts/"+simulator.AccountRetail+"/magic/apps" {
				t.Errorf("path = %q", reqs[0].URL.Path)
			}
		})
	}
}

func TestAuthConstructorsRejectBadCredentials(t *testing.T) {
	secret := "tok\nen-" + simulator.DemoToken
	if _, err := api.TokenAuth(secret); err == nil {
		t.Error("token with a newline accepted")
	} else {
		assertNoSecret(t, "error", err.Error())
	}
	if _, err := api.TokenAuth("  \n"); err == nil {
		t.Error("blank token accepted")
	}
	if _, err := api.KeyAuth("", simulator.DemoKey); err == nil {
		t.Error("key without email accepted")
	}
	dir := t.TempDir()
	if _, err := api.TokenFileAuth(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing token file: err = %v", err)
	}
	path := filepath.Join(dir, "token")
	if err := os.WriteFile(path, []byte(simulator.DemoToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sim, c := newClient(t, api.Config{Auth: mustAuth(api.TokenFileAuth(path))})
	if _, err := c.ListApps(context.Background(), simulator.AccountRetail); err != nil {
		t.Fatalf("token from file refused: %v", err)
	}
	if got := sim.Requests()[0].Header.Get("Authorization"); got != "Bearer "+simulator.DemoToken {
		t.Errorf("Authorization = %q", got)
	}
}

// TestFailures runs every way a call can fail through real HTTP and checks
// the error says what was called and why, and carries no secret.
func TestFailures(t *testing.T) {
	html := `<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>` + strings.Repeat("x", 1000) + `</body></html>`
	okBody := readFile(t, "connectors.json")
	for _, tc := range []struct {
		name       string
		fault      simulator.Fault
		auth       api.Auth
		maxBytes   int64
		wantStatus int
		wantAuth   bool
		// transient failures are tried twice
		transient bool
		want      []string
	}{
		{
			name:       "500 with Cloudflare errors",
			fault:      simulator.Fault{Status: 500, Errors: []simulator.Message{{Code: 1000, Message: "Internal error"}, {Code: 1001, Message: "Try again"}}},
			wantStatus: 500,
			transient:  true,
			want:       []string{"HTTP 500 Internal Server Error", "1000: Internal error; 1001: Try again"},
		},
		{
			name:       "502 with an HTML page",
			fault:      simulator.Fault{Status: 502, Body: html, ContentType: "text/html"},
			wantStatus: 502,
			transient:  true,
			want:       []string{"HTTP 502 Bad Gateway", "not JSON", `"text/html"`, `HTML title "502 Bad Gateway"`},
		},
		{
			name:       "bad token",
			auth:       mustAuth(api.TokenAuth("not-the-token")),
			wantStatus: 403,
			wantAuth:   true,
			want:       []string{"HTTP 403 Forbidden", "9109: Invalid access token; 10000: Authentication error"},
		},
		{
			name:       "401",
			fault:      simulator.Fault{Status: 401, Errors: []simulator.Message{{Code: 10000, Message: "Authentication error"}}},
			wantStatus: 401,
			wantAuth:   true,
			want:       []string{"HTTP 401 Unauthorized", "10000: Authentication error"},
		},
		{
			name:       "success false under HTTP 200",
			fault:      simulator.Fault{Errors: []simulator.Message{{Code: 7003, Message: "Could not route to /accounts"}}},
			wantStatus: 200,
			want:       []string{"HTTP 200 OK", "success false", "7003: Could not route to /accounts"},
		},
		{
			name:       "success false without errors",
			fault:      simulator.Fault{Body: `{"success":false,"errors":[],"messages":[],"result":null}`},
			wantStatus: 200,
			want:       []string{"success false"},
		},
		{
			name:       "no success field",
			fault:      simulator.Fault{Body: `{"result":[]}`},
			wantStatus: 200,
			want:       []string{`no "success" field`},
		},
		{
			name:       "truncated JSON",
			fault:      simulator.Fault{Body: okBody[:len(okBody)/2]},
			wantStatus: 200,
			want:       []string{"truncated JSON"},
		},
		{
			name:       "malformed JSON",
			fault:      simulator.Fault{Body: `{"success":true,"result":[{"id": "x",}]}`},
			wantStatus: 200,
			want:       []string{"malformed JSON", "invalid character"},
		},
		{
			name:       "wrong JSON type",
			fault:      simulator.Fault{Body: `{"success":true,"result":{"id":"x"}}`},
			wantStatus: 200,
			want:       []string{"result is not a list but an object"},
		},
		{
			name:       "null result",
			fault:      simulator.Fault{Body: `{"success":true,"errors":[],"result":null}`},
			wantStatus: 200,
			want:       []string{"HTTP 200 OK: result is null, not a list"},
		},
		{
			name:       "no result",
			fault:      simulator.Fault{Body: `{"success":true,"errors":[]}`},
			wantStatus: 200,
			want:       []string{`response has no "result"`},
		},
		{
			name:       "wrong type inside the result",
			fault:      simulator.Fault{Body: `{"success":true,"result":[{"id":7}]}`},
			wantStatus: 200,
			want:       []string{"malformed JSON", `within "/result/0/id"`},
		},
		{
			name:       "empty body",
			fault:      simulator.Fault{Status: 200, Body: ""},
			wantStatus: 200,
			want:       []string{"response body is empty"},
		},
		{
			name:       "empty body on 503",
			fault:      simulator.Fault{Status: 503},
			wantStatus: 503,
			transient:  true,
			want:       []string{"HTTP 503 Service Unavailable", "response body is empty"},
		},
		{
			name:       "oversized body",
			maxBytes:   1024,
			fault:      simulator.Fault{Body: `{"success":true,"result":[` + strings.Repeat(`{"id":"x"},`, 500) + `{"id":"y"}]}`},
			wantStatus: 200,
			want:       []string{"response body larger than 1024 bytes"},
		},
		{
			name:      "connection closed before answering",
			fault:     simulator.Fault{CloseConnection: true},
			transient: true,
			want:      []string{"no response", "EOF"},
		},
		{
			name:       "connection closed mid-body",
			fault:      simulator.Fault{Body: okBody, CutAfter: 100},
			wantStatus: 200,
			transient:  true,
			want:       []string{"read response body", "unexpected EOF"},
		},
		{
			// Complete JSON, but the body ends before its Content-Length:
			// the rest of the answer is lost, whatever the JSON says.
			name:       "body shorter than its Content-Length, JSON complete",
			fault:      simulator.Fault{Body: `{"success":true,"errors":[],"result":[]}` + strings.Repeat(" ", 100) + `{"id":"x"}`, CutAfter: len(`{"success":true,"errors":[],"result":[]}`)},
			wantStatus: 200,
			transient:  true,
			want:       []string{"read response body", "unexpected EOF"},
		},
		{
			name:       "a second JSON value after the first",
			fault:      simulator.Fault{Body: `{"success":true,"errors":[],"result":[]} {"success":true,"result":[{"id":"x"}]}`},
			wantStatus: 200,
			want:       []string{"response body holds more after its JSON value"},
		},
		{
			name:       "bytes after the JSON value",
			fault:      simulator.Fault{Body: `{"success":true,"errors":[],"result":[]}</html>`},
			wantStatus: 200,
			want:       []string{"response body holds more after its JSON value"},
		},
		{
			name:       "429",
			fault:      simulator.Fault{Status: 429, Header: http.Header{"Retry-After": {"30"}}, Errors: []simulator.Message{{Code: 971, Message: "Please wait and consider throttling your request speed"}}},
			wantStatus: 429,
			want:       []string{"HTTP 429 Too Many Requests", "rate limited by the Cloudflare API: no call for 30s", "971: Please wait"},
		},
		{
			name:       "redirect is not followed",
			fault:      simulator.Fault{Status: 302, Header: http.Header{"Location": {"https://elsewhere.example/"}}, Body: `{"success":true,"result":[]}`},
			wantStatus: 302,
			want:       []string{"HTTP 302 Found"},
		},
		{
			name:       "server echoes the credential",
			fault:      simulator.Fault{Status: 400, Errors: []simulator.Message{{Code: 6003, Message: "Invalid request headers: Bearer " + simulator.DemoToken}}},
			wantStatus: 400,
			want:       []string{"6003: Invalid request headers: Bearer [REDACTED]"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var observed []api.RequestInfo
			sim, c := newClient(t, api.Config{
				Auth:             tc.auth,
				MaxResponseBytes: tc.maxBytes,
				Observe:          func(ri api.RequestInfo) { observed = append(observed, ri) },
			})
			sim.SetFault(simulator.AccountRetail, simulator.EndpointConnectors, tc.fault)

			got, err := c.ListConnectors(context.Background(), simulator.AccountRetail)
			if err == nil {
				t.Fatalf("no error; result %+v", got)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "GET /accounts/"+simulator.AccountRetail+"/magic/connectors") {
				t.Errorf("error does not say what was called: %s", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			assertNoSecret(t, "error", msg)
			var apiErr *api.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("error is %T, not *api.Error", err)
			}
			if apiErr.StatusCode != tc.wantStatus || api.StatusCode(err) != tc.wantStatus {
				t.Errorf("StatusCode = %d, want %d", apiErr.StatusCode, tc.wantStatus)
			}
			if apiErr.IsAuth() != tc.wantAuth {
				t.Errorf("IsAuth = %v, want %v", apiErr.IsAuth(), tc.wantAuth)
			}
			if apiErr.Endpoint != api.EndpointConnectors {
				t.Errorf("Endpoint = %q", apiErr.Endpoint)
			}
			wantAttempts := 1
			if tc.transient {
				wantAttempts = 2
				if !strings.HasSuffix(msg, "(after 2 attempts)") {
					t.Errorf("error %q does not say the call was retried", msg)
				}
			}
			if apiErr.Attempts != wantAttempts || len(observed) != wantAttempts {
				t.Errorf("%d attempts, %d observed, want %d", apiErr.Attempts, len(observed), wantAttempts)
			}
			// A 2xx answer that failed all the same is observed as failed,
			// so that it is not counted as a success.
			wantFailed := tc.wantStatus >= 200 && tc.wantStatus <= 299
			for _, o := range observed {
				if o.StatusCode != tc.wantStatus || o.Endpoint != api.EndpointConnectors || o.Failed != wantFailed {
					t.Errorf("observed %+v, want status %d, failed %v", o, tc.wantStatus, wantFailed)
				}
			}
		})
	}
}

func TestContextEndsAHangingCall(t *testing.T) {
	sim, c := newClient(t, api.Config{})
	sim.SetFault("", simulator.EndpointApps, simulator.Fault{Hang: true})

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := c.ListApps(ctx, simulator.AccountRetail)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline error", err)
	}
	if !strings.Contains(err.Error(), "no response") {
		t.Errorf("error %q does not say no response arrived", err)
	}
}

func TestTransportErrorNamesTheCall(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now

	c, err := api.New(api.Config{BaseURL: simulator.BaseURL(addr), Auth: mustAuth(api.TokenAuth(simulator.DemoToken))})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListConnectors(context.Background(), simulator.AccountRetail)
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	want := "GET /accounts/" + simulator.AccountRetail + "/magic/connectors: no response: dial tcp " + addr
	if !strings.HasPrefix(msg, want) {
		t.Errorf("error %q, want prefix %q", msg, want)
	}
	if api.StatusCode(err) != 0 {
		t.Errorf("StatusCode = %d, want 0", api.StatusCode(err))
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	auth := mustAuth(api.TokenAuth(simulator.DemoToken))
	for _, tc := range []api.Config{
		{BaseURL: "https://api.example.com"},
		{BaseURL: "ftp://api.example.com", Auth: auth},
		{BaseURL: "api.example.com/client/v4", Auth: auth},
		{BaseURL: "https://user:" + simulator.DemoToken + "@api.example.com/", Auth: auth},
	} {
		_, err := api.New(tc)
		if err == nil {
			t.Errorf("New(%q) accepted", tc.BaseURL)
			continue
		}
		assertNoSecret(t, "error", err.Error())
	}
}
