package api_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
)

func TestRetryRecoversFromOneTransientFailure(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault simulator.Fault
		first int
	}{
		{"502", simulator.Fault{Status: 502, Body: "<html><title>502</title></html>", ContentType: "text/html", Times: 1}, 502},
		{"closed connection", simulator.Fault{CloseConnection: true, Times: 1}, 0},
		{"body cut short", simulator.Fault{Body: `{"success":true,"result":[{"id":"a"},{"id":"b"}]}`, CutAfter: 20, Times: 1}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var observed []int
			sim, c := newClient(t, api.Config{Observe: func(ri api.RequestInfo) { observed = append(observed, ri.StatusCode) }})
			sim.SetFault(simulator.AccountLabs, simulator.EndpointConnectors, tc.fault)
			got, err := c.ListConnectors(context.Background(), simulator.AccountLabs)
			if err != nil {
				t.Fatalf("retry did not recover: %v", err)
			}
			if len(got) != 2 {
				t.Errorf("%d connectors, want 2", len(got))
			}
			if len(observed) != 2 || observed[0] != tc.first || observed[1] != 200 {
				t.Errorf("requests %v, want [%d 200]", observed, tc.first)
			}
		})
	}
}

func TestNoRetry(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fault   simulator.Fault
		timeout time.Duration
	}{
		{"4xx", simulator.Fault{Status: 403, Errors: []simulator.Message{{Code: 10000, Message: "Authentication error"}}}, 0},
		{"success false", simulator.Fault{Errors: []simulator.Message{{Code: 1000, Message: "x"}}}, 0},
		{"malformed JSON", simulator.Fault{Body: `{"success":true,"result":[}`}, 0},
		{"5xx without room before the deadline", simulator.Fault{Status: 500, Body: `{}`}, 800 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim, c := newClient(t, api.Config{})
			sim.SetFault(simulator.AccountLabs, simulator.EndpointApps, tc.fault)
			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			_, err := c.ListApps(ctx, simulator.AccountLabs)
			if err == nil {
				t.Fatal("no error")
			}
			if n := sim.Calls(simulator.EndpointApps); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

func TestBackoffAfter429(t *testing.T) {
	clk := simulator.NewClock(testNow)
	sim := simulator.NewServer(simulator.DemoFleet(testNow), simulator.WithClock(clk.Now),
		simulator.WithToken(simulator.DemoToken), simulator.WithRateLimit(3, 5*time.Minute))
	c, err := api.New(api.Config{BaseURL: sim.Start(t), Auth: mustAuth(api.TokenAuth(simulator.DemoToken)), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := c.ListApps(ctx, simulator.AccountLabs); err != nil {
			t.Fatalf("call %d within the budget: %v", i+1, err)
		}
	}
	if c.BackoffRemaining() != 0 {
		t.Fatalf("backing off before any 429")
	}

	// The fourth call passes the budget: 429 with Retry-After 300.
	_, err = c.ListConnectors(ctx, simulator.AccountLabs)
	var backoff *api.BackoffError
	if !errors.Is(err, api.ErrBackoff) || !errors.As(err, &backoff) || !backoff.Started || api.StatusCode(err) != 429 {
		t.Fatalf("err = %v, want a 429 that starts a backoff", err)
	}
	if got := c.BackoffRemaining(); got != 300*time.Second {
		t.Errorf("BackoffRemaining = %v, want 5m", got)
	}
	calls := len(sim.Requests())

	// During the pause no request is made, for any endpoint or account.
	clk.Add(299 * time.Second)
	for _, call := range []func() error{
		func() error { _, err := c.ListApps(ctx, simulator.AccountRetail); return err },
		func() error { _, err := c.ListConnectors(ctx, simulator.AccountLabs); return err },
	} {
		err := call()
		if !errors.As(err, &backoff) || backoff.Started || backoff.Remaining != time.Second {
			t.Errorf("err = %v, want a refusal with 1s left", err)
		}
		var apiErr *api.Error
		if !errors.As(err, &apiErr) || apiErr.Attempts != 0 || apiErr.StatusCode != 0 {
			t.Errorf("refusal %+v should say no request was made", apiErr)
		}
		if !strings.Contains(err.Error(), "not called, 1s of backoff left") {
			t.Errorf("refusal message: %v", err)
		}
	}
	if n := len(sim.Requests()); n != calls {
		t.Errorf("%d requests made during the backoff", n-calls)
	}

	// Once Retry-After has passed, calls resume.
	clk.Add(2 * time.Second)
	if _, err := c.ListApps(ctx, simulator.AccountLabs); err != nil {
		t.Errorf("after the backoff: %v", err)
	}
}

func TestBackoffWithoutRetryAfterLastsFiveMinutes(t *testing.T) {
	sim, c := newClient(t, api.Config{})
	sim.SetFault("", simulator.EndpointApps, simulator.Fault{Status: 429, Body: "Too many requests", ContentType: "text/plain"})
	_, err := c.ListApps(context.Background(), simulator.AccountLabs)
	if !errors.Is(err, api.ErrBackoff) || !strings.Contains(err.Error(), "HTTP 429 Too Many Requests: rate limited by the Cloudflare API: no call for 5m0s") {
		t.Fatalf("err = %v", err)
	}
	if got := c.BackoffRemaining(); got < 299*time.Second || got > 300*time.Second {
		t.Errorf("BackoffRemaining = %v, want 5m", got)
	}
}

func TestRateLimitHeadersObserved(t *testing.T) {
	var got []api.RateLimit
	_, c := newClient(t, api.Config{Observe: func(ri api.RequestInfo) { got = append(got, ri.RateLimit) }})
	for i := 0; i < 2; i++ {
		if _, err := c.ListApps(context.Background(), simulator.AccountLabs); err != nil {
			t.Fatal(err)
		}
	}
	want := api.RateLimit{HasRemaining: true, Remaining: 1198, Reset: 300 * time.Second, HasPolicy: true, Limit: 1200, Window: 300 * time.Second}
	if len(got) != 2 || got[1] != want {
		t.Errorf("observed %+v, want second %+v", got, want)
	}
}

func TestTokenFileRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	write := func(s string) {
		t.Helper()
		// Write elsewhere and rename, as Kubernetes swaps a Secret.
		tmp := path + ".new"
		if err := os.WriteFile(tmp, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write(simulator.DemoToken + "\n")
	sim, c := newClient(t, api.Config{Auth: mustAuth(api.TokenFileAuth(path))})
	ctx := context.Background()
	if _, err := c.ListApps(ctx, simulator.AccountLabs); err != nil {
		t.Fatal(err)
	}

	rotated := "rotated-token-0f1e2d3c4b5a"
	sim.SetToken(rotated)
	write(rotated + "\n")
	if _, err := c.ListApps(ctx, simulator.AccountLabs); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	if got := sim.Requests()[1].Header.Get("Authorization"); got != "Bearer "+rotated {
		t.Errorf("Authorization after rotation = %q", got)
	}

	// A file caught empty mid-rotation does not lose the token in use.
	write("")
	if _, err := c.ListApps(ctx, simulator.AccountLabs); err != nil {
		t.Errorf("with an empty token file: %v", err)
	}
	// Nor does a missing file.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListApps(ctx, simulator.AccountLabs); err != nil {
		t.Errorf("with the token file gone: %v", err)
	}

	// An old token echoed by the server is still redacted.
	sim.SetFault("", simulator.EndpointApps, simulator.Fault{Status: 400, Errors: []simulator.Message{
		{Code: 6003, Message: "bad headers: " + simulator.DemoToken + " / " + rotated},
	}})
	_, err := c.ListApps(ctx, simulator.AccountLabs)
	if err == nil || strings.Contains(err.Error(), rotated) || strings.Contains(err.Error(), simulator.DemoToken) {
		t.Errorf("error leaks a token: %v", err)
	}
}

// TestRetryAsksAllowRetry: a transient failure is tried again only when
// Config.AllowRetry agrees, as the exporter's budget guard must for every
// request it spends.
func TestRetryAsksAllowRetry(t *testing.T) {
	for _, allow := range []bool{true, false} {
		var asked []string
		sim, c := newClient(t, api.Config{AllowRetry: func(endpoint string) bool {
			asked = append(asked, endpoint)
			return allow
		}})
		sim.SetFault(simulator.AccountRetail, simulator.EndpointApps, simulator.Fault{Status: 503, Times: 1})
		_, err := c.ListApps(context.Background(), simulator.AccountRetail)
		if allow != (err == nil) {
			t.Errorf("allow %v: %v", allow, err)
		}
		if len(asked) != 1 || asked[0] != api.EndpointApps {
			t.Errorf("allow %v: asked %v, want [apps]", allow, asked)
		}
	}
}
