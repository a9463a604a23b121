package api_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
)

// heapPeak samples the heap while f runs and returns how far HeapInuse
// rose above where it was, after a collection, before f.
func heapPeak(t *testing.T, f func()) uint64 {
	t.Helper()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	base := m.HeapInuse
	stop, peak := make(chan struct{}), make(chan uint64)
	go func() {
		var p uint64
		var m runtime.MemStats
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&m)
			p = max(p, m.HeapInuse)
			select {
			case <-stop:
				peak <- p
				return
			case <-tick.C:
			}
		}
	}()
	f()
	close(stop)
	return max(<-peak, base) - base
}

func TestHugeErrorTextIsBoundedAndStreamed(t *testing.T) {
	huge := strings.Repeat("A", 30<<20)
	var errs []string
	errs = append(errs, fmt.Sprintf(`{"code":1000,"message":%q,"documentation_url":"https://developers.cloudflare.com/"}`, huge))
	for i := range 16 {
		errs = append(errs, fmt.Sprintf(`{"code":%d,"message":"error %d"}`, 1001+i, i))
	}
	for _, tc := range []struct {
		name string
		body string
		want []string
	}{
		{"30 MB message and 16 more errors",
			`{"success":false,"errors":[` + strings.Join(errs, ",") + `],"messages":[` + errs[1] + `],"result":null}`,
			[]string{"HTTP 400 Bad Request", "1000: AAAA", "...; 1001: error 0;", "1004: error 3 (and 12 more)"}},
		{"30 MB member name",
			`{"success":false,"errors":[{"code":1,"message":"x"}],"` + huge + `":1}`,
			[]string{"1: x"}},
		{"30 MB of text",
			huge,
			[]string{"not JSON"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim, c := newClient(t, api.Config{})
			sim.SetFault("", simulator.EndpointConnectors, simulator.Fault{Status: 400, Body: tc.body})
			var err error
			grew := heapPeak(t, func() { _, err = c.ListConnectors(context.Background(), simulator.AccountRetail) })
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			t.Logf("error of %d bytes, heap grew %.1f MiB while reading %d MB", len(msg), float64(grew)/(1<<20), len(tc.body)>>20)
			if len(msg) > 2<<10 {
				t.Errorf("error of %d bytes: %.300s", len(msg), msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %.500q lacks %q", msg, w)
				}
			}
			var apiErr *api.Error
			if !errors.As(err, &apiErr) || len(apiErr.Errors) > 5 {
				t.Errorf("error %T with %d errors", err, len(apiErr.Errors))
			}
			// The body streams through: nothing near its size is held.
			if grew > 16<<20 {
				t.Errorf("heap grew %d MiB reading a body of %d MiB", grew>>20, len(tc.body)>>20)
			}
		})
	}
}

func TestCutErrorTextHidesTheCredential(t *testing.T) {
	sim, c := newClient(t, api.Config{})
	// The credential straddles the 300-byte cut: its start must not show.
	pad := strings.Repeat("x", 300-len("Bearer ")-6)
	sim.SetFault("", simulator.EndpointApps, simulator.Fault{Status: 400, Errors: []simulator.Message{{Code: 6003, Message: pad + "Bearer " + simulator.DemoToken}}})
	_, err := c.ListApps(context.Background(), simulator.AccountRetail)
	if err == nil || !strings.Contains(err.Error(), "Bearer [REDACTED]...") {
		t.Errorf("error: %v", err)
	}
	if strings.Contains(err.Error(), simulator.DemoToken[:6]) {
		t.Errorf("error holds the start of the token: %v", err)
	}
}

// TestResultOfTheWrongShapeFails: a result that is null, absent or not a
// list is a failed call, never an empty list, for every list endpoint.
func TestResultOfTheWrongShapeFails(t *testing.T) {
	calls := map[string]func(*api.Client) error{
		simulator.EndpointConnectors: func(c *api.Client) error {
			_, err := c.ListConnectors(context.Background(), simulator.AccountRetail)
			return err
		},
		simulator.EndpointApps: func(c *api.Client) error {
			_, err := c.ListApps(context.Background(), simulator.AccountRetail)
			return err
		},
		simulator.EndpointSites: func(c *api.Client) error {
			_, err := c.ListSites(context.Background(), simulator.AccountRetail)
			return err
		},
		simulator.EndpointAccounts: func(c *api.Client) error {
			_, err := c.ListAccounts(context.Background())
			return err
		},
	}
	for _, tc := range []struct{ result, want string }{
		{`null`, "result is null, not a list"},
		{`{"id":"x"}`, "result is not a list but an object"},
		{`"x"`, "result is not a list but a string"},
		{`0`, "result is not a list but a number"},
		{``, `response has no "result"`},
	} {
		for endpoint, call := range calls {
			t.Run(endpoint+"/"+tc.result, func(t *testing.T) {
				var observed []api.RequestInfo
				sim, c := newClient(t, api.Config{Observe: func(ri api.RequestInfo) { observed = append(observed, ri) }})
				body := `{"success":true,"errors":[],"messages":[]}`
				if tc.result != "" {
					body = `{"success":true,"errors":[],"messages":[],"result":` + tc.result + `,"result_info":{"page":1,"total_pages":1}}`
				}
				sim.SetFault("", endpoint, simulator.Fault{Body: body})
				err := call(c)
				var apiErr *api.Error
				if !errors.As(err, &apiErr) || apiErr.StatusCode != 200 || !strings.HasSuffix(err.Error(), "HTTP 200 OK: "+tc.want) {
					t.Fatalf("error %v, want an *api.Error ending %q", err, tc.want)
				}
				if len(observed) != 1 || !observed[0].Failed || observed[0].StatusCode != 200 {
					t.Errorf("observed %+v, want one request, failed", observed)
				}
			})
		}
	}
}
