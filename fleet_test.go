package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
)

// TestDiscoveryThroughTheBinary runs the exporter with no account flag: it
// lists every account the token sees and scrapes them all.
func TestDiscoveryThroughTheBinary(t *testing.T) {
	sim, apiURL := startSimulatedAPI(t)
	sim.Deny(simulator.AccountLabs)
	p := startExporter(t, []string{"CLOUDFLARE_API_TOKEN=" + simulator.DemoToken}, "--cloudflare.api-url="+apiURL)
	_, page := p.get(t, "/metrics")
	for _, want := range []string{
		`cloudflare_magic_account_info{account_id="` + simulator.AccountRetail + `",account_name="Acme Retail"} 1`,
		`cloudflare_magic_account_info{account_id="` + simulator.AccountLabs + `",account_name="Acme Labs"} 1`,
		`cloudflare_magic_up{account_id="",endpoint="accounts"} 1`,
		`cloudflare_magic_up{account_id="` + simulator.AccountRetail + `",endpoint="connectors"} 1`,
		// The token lacks permission on one account: only its up is 0.
		`cloudflare_magic_up{account_id="` + simulator.AccountLabs + `",endpoint="connectors"} 0`,
		`cloudflare_magic_connector_interrupt_window_duration_seconds{account_id="` + simulator.AccountRetail + `",connector_id="` + simulator.ConnectorNoDevice + `"} 86400`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if !strings.Contains(p.logs.String(), `msg="accounts discovered" accounts=2`) {
		t.Errorf("log:\n%s", p.logs.String())
	}
}

// TestProbeSharding runs an exporter that serves accounts only through
// /probe, as a shard behind a Service.
func TestProbeSharding(t *testing.T) {
	sim, apiURL := startSimulatedAPI(t)
	p := startExporter(t, []string{"CLOUDFLARE_API_TOKEN=" + simulator.DemoToken}, "--cloudflare.api-url="+apiURL, "--no-collector.accounts")
	code, page := p.get(t, "/probe?account="+simulator.AccountRetail)
	if code != http.StatusOK || !strings.Contains(page, `cloudflare_magic_up{account_id="`+simulator.AccountRetail+`",endpoint="apps"} 1`) {
		t.Errorf("/probe answered %d:\n%s", code, page)
	}
	if strings.Contains(page, simulator.AccountLabs) {
		t.Error("/probe carries another account")
	}
	checkMetricsWithPromtool(t, page)
	before := sim.Calls(simulator.EndpointConnectors)
	if code, body := p.get(t, "/probe?account=acme"); code != http.StatusBadRequest || !strings.Contains(body, "32 hex characters") {
		t.Errorf("bad account answered %d %q", code, body)
	}
	if _, page := p.get(t, "/metrics"); strings.Contains(page, "cloudflare_magic_up{") {
		t.Error("/metrics scrapes accounts with --no-collector.accounts")
	}
	if n := sim.Calls(simulator.EndpointConnectors); n != before {
		t.Errorf("%d connectors calls after the first probe, want none", n-before)
	}

	// With accounts given, /probe serves only those.
	p = startExporter(t, []string{"CLOUDFLARE_API_TOKEN=" + simulator.DemoToken, "CLOUDFLARE_ACCOUNT_ID=" + simulator.AccountLabs}, "--cloudflare.api-url="+apiURL)
	if code, _ := p.get(t, "/probe?account="+simulator.AccountRetail); code != http.StatusForbidden {
		t.Errorf("an account outside --cloudflare.account-id answered %d, want 403", code)
	}
}
