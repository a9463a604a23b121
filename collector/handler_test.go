package collector

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
)

func TestHandlerServesEvenWhenEveryCallFails(t *testing.T) {
	client := newFakeClient()
	for _, a := range []string{simulator.AccountRetail, simulator.AccountLabs} {
		client.errs[a+"/connectors"] = errors.New("boom")
		client.errs[a+"/apps"] = errors.New("boom")
	}
	global := prometheus.NewRegistry()
	requests := NewAPIMetrics(nil)
	requests.Observe(api.RequestInfo{Endpoint: api.EndpointApps})
	requests.Observe(api.RequestInfo{Endpoint: api.EndpointApps, StatusCode: 429})
	global.MustRegister(requests)

	srv := httptest.NewServer(NewHandler(newTestExporter(t, client, nil), global, HandlerOpts{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d:\n%s", resp.StatusCode, body)
	}
	for _, want := range []string{
		`cloudflare_magic_up{account_id="` + simulator.AccountLabs + `",endpoint="apps"} 0`,
		`cloudflare_magic_api_requests_total{code="error",endpoint="apps"} 1`,
		`cloudflare_magic_api_requests_total{code="429",endpoint="apps"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(string(body), "cloudflare_magic_connector_info") {
		t.Error("connector series served although every call failed")
	}
}

func TestHandlerMethods(t *testing.T) {
	client := newFakeClient()
	srv := httptest.NewServer(NewHandler(newTestExporter(t, client, nil), prometheus.NewRegistry(), HandlerOpts{}))
	defer srv.Close()
	resp, err := http.Head(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") == "" {
		t.Errorf("HEAD answered %d %v", resp.StatusCode, resp.Header)
	}
	resp, err = http.Post(srv.URL, "text/plain", strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST answered %d", resp.StatusCode)
	}
	if n := client.callCount(simulator.AccountRetail + "/connectors"); n != 0 {
		t.Errorf("HEAD or POST made %d API calls", n)
	}
}
