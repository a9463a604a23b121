package collector

import (
	"strings"
	"testing"
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
)

// Tests of the whole stack: the simulated API over real HTTP, the api
// client, the poller, the exporter and its handler.

func TestAbandonedScrapeDoesNotFailOthers(t *testing.T) {
	s := newStack(t, 0)
	gate := make(chan struct{})
	s.sim.SetFault("", simulator.EndpointConnectors, simulator.Fault{Gate: gate})

	// A scrape with a short deadline gives up while a patient one waits.
	patient := make(chan string)
	go func() { patient <- s.scrape(t, 0) }()
	impatient := s.scrape(t, 1)
	if !strings.Contains(impatient, upLine(simulator.AccountLabs, "connectors", 0)) {
		t.Error("the impatient scrape did not time out")
	}
	close(gate)
	if page := <-patient; !strings.Contains(page, upLine(simulator.AccountLabs, "connectors", 1)) {
		t.Error("the patient scrape lost the call the impatient one gave up on")
	}
	if n := s.sim.Calls(simulator.EndpointConnectors); n != 2 {
		t.Errorf("connectors called %d times, want 2 (one per account)", n)
	}
}

func TestMinIntervalReusesOutcome(t *testing.T) {
	s := newStack(t, time.Minute)
	first := s.scrape(t, 0)
	ageLine := func(page string) string {
		for _, l := range strings.Split(page, "\n") {
			if strings.HasPrefix(l, `cloudflare_magic_connector_heartbeat_age_seconds{account_id="`+simulator.AccountRetail+`",connector_id="`+simulator.ConnectorStale+`"}`) {
				return l[strings.LastIndex(l, " ")+1:]
			}
		}
		return ""
	}
	lastSuccess := `cloudflare_magic_last_success_timestamp_seconds{account_id="` + simulator.AccountRetail + `",endpoint="connectors"} 1.7955216e+09`
	if ageLine(first) != "7200" || !strings.Contains(first, lastSuccess) {
		t.Fatalf("first scrape: age %q, or no last success line", ageLine(first))
	}

	// 30 s later: no call, the same data, the heartbeat age grown.
	s.clock.Add(30 * time.Second)
	second := s.scrape(t, 0)
	if n := s.sim.Calls(simulator.EndpointConnectors); n != 2 {
		t.Errorf("connectors called %d times, want 2: the outcome is younger than the interval", n)
	}
	if ageLine(second) != "7230" {
		t.Errorf("heartbeat age %q, want 7230: it is computed at scrape time", ageLine(second))
	}
	if !strings.Contains(second, lastSuccess) {
		t.Error("last success moved without a call")
	}

	// Past the interval, a new call; when it fails, no stale series.
	s.clock.Add(31 * time.Second)
	s.sim.SetFault(simulator.AccountRetail, simulator.EndpointConnectors, simulator.Fault{Status: 403, Errors: []simulator.Message{{Code: 10000, Message: "Authentication error"}}})
	third := s.scrape(t, 0)
	if n := s.sim.Calls(simulator.EndpointConnectors); n != 4 {
		t.Errorf("connectors called %d times, want 4", n)
	}
	if !strings.Contains(third, upLine(simulator.AccountRetail, "connectors", 0)) || !strings.Contains(third, lastSuccess) {
		t.Error("failed call: want up 0 and the old last success")
	}
	if strings.Contains(third, `connector_info{account_id="`+simulator.AccountRetail+`"`) {
		t.Error("stale connector series served after a failed call")
	}
	if !strings.Contains(third, `connector_info{account_id="`+simulator.AccountLabs+`"`) {
		t.Error("the other account's series are gone")
	}
	if !strings.Contains(s.logs.String(), `hint="the credential needs the Magic WAN Read permission`) {
		t.Errorf("no permission hint in the log:\n%s", s.logs.String())
	}
}

func TestRateLimitIsHonoured(t *testing.T) {
	s := newStackWith(t, stackConfig{noSites: true, simOpts: []simulator.Option{simulator.WithRateLimit(6, 5*time.Minute)}})
	page := s.scrape(t, 0) // 4 calls: 2 left
	for _, want := range []string{
		"cloudflare_magic_api_ratelimit_remaining 2",
		"cloudflare_magic_api_ratelimit_limit 6",
		"cloudflare_magic_api_ratelimit_reset_seconds 300",
		"cloudflare_magic_api_backoff_seconds 0",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("first scrape lacks %q", want)
		}
	}

	// The second scrape passes the budget: two calls answered, two 429s.
	s.clock.Add(10 * time.Second)
	page = s.scrape(t, 0)
	if !strings.Contains(page, "cloudflare_magic_api_backoff_seconds 300") {
		t.Errorf("no backoff after the 429:\n%s", grep(page, "backoff|up{"))
	}
	calls := len(s.sim.Requests())
	warnings := strings.Count(s.logs.String(), "rate limited by the Cloudflare API: pausing every call")
	if warnings == 0 {
		t.Fatalf("the 429 was not logged:\n%s", s.logs.String())
	}

	// During the pause: every endpoint up 0, no call, no more log lines.
	for i := 0; i < 3; i++ {
		s.clock.Add(20 * time.Second)
		page = s.scrape(t, 0)
		for _, a := range []string{simulator.AccountRetail, simulator.AccountLabs} {
			for _, ep := range []string{"connectors", "apps"} {
				if !strings.Contains(page, upLine(a, ep, 0)) {
					t.Errorf("scrape %d: %s/%s not 0 during the backoff", i, a, ep)
				}
			}
		}
	}
	if !strings.Contains(page, "cloudflare_magic_api_backoff_seconds 240") {
		t.Errorf("backoff not counting down:\n%s", grep(page, "backoff"))
	}
	if n := len(s.sim.Requests()); n != calls {
		t.Errorf("%d calls made during the backoff", n-calls)
	}
	if got := strings.Count(s.logs.String(), "rate limited by the Cloudflare API: pausing every call"); got != warnings {
		t.Errorf("the backoff was logged again: %d warnings, had %d", got, warnings)
	}
	if strings.Contains(s.logs.String(), "level=error") {
		t.Errorf("backoff refusals logged as errors:\n%s", s.logs.String())
	}
}

func grep(page, pattern string) string {
	var out []string
	for _, l := range strings.Split(page, "\n") {
		for _, p := range strings.Split(pattern, "|") {
			if strings.Contains(l, p) && !strings.HasPrefix(l, "#") {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

func TestScrapeDeadline(t *testing.T) {
	s := newStack(t, 0)
	s.sim.SetFault(simulator.AccountLabs, simulator.EndpointApps, simulator.Fault{Hang: true})
	// A scrape timeout of 1.5 s less the 0.5 s offset: the hanging call
	// is abandoned after 1 s and the page still answers, in time.
	page := s.scrape(t, 1.5)
	if !strings.Contains(page, upLine(simulator.AccountLabs, "apps", 0)) || !strings.Contains(page, upLine(simulator.AccountLabs, "connectors", 1)) {
		t.Errorf("hanging endpoint: want its up 0 and the other's 1:\n%s", grep(page, "up{"))
	}
	if !strings.Contains(s.logs.String(), "context deadline exceeded") {
		t.Errorf("the log does not say why:\n%s", s.logs.String())
	}
}
