package collector

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
)

// stack is the exporter wired as in main, against the simulated API over
// real HTTP, behind its metrics handler.
type stack struct {
	sim    *simulator.Server
	client *api.Client
	exp    *Exporter
	page   *httptest.Server
	logs   *bytes.Buffer
	clock  *simulator.Clock
}

func newStack(t *testing.T, minInterval time.Duration, opts ...simulator.Option) *stack {
	t.Helper()
	clk := simulator.NewClock(testNow)
	opts = append([]simulator.Option{simulator.WithClock(clk.Now), simulator.WithToken(simulator.DemoToken)}, opts...)
	sim := simulator.NewServer(simulator.DemoFleet(testNow), opts...)
	metrics := NewAPIMetrics(clk.Now)
	client, err := api.New(api.Config{
		BaseURL: sim.Start(t), Auth: mustToken(t), Now: clk.Now, Observe: metrics.Observe,
	})
	if err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	exp, err := New(Config{
		Client: client, Accounts: FixedAccounts(simulator.AccountRetail, simulator.AccountLabs),
		MinInterval: minInterval, Now: clk.Now, Timeout: 10 * time.Second,
		// As many accounts at once as there are, per scrape: concurrent
		// scrapes must not wait on one another for these slots.
		AccountConcurrency: 2,
		Logger:             log.NewLogfmtLogger(log.NewSyncWriter(logs)),
	})
	if err != nil {
		t.Fatal(err)
	}
	global := prometheus.NewRegistry()
	global.MustRegister(metrics)
	page := httptest.NewServer(NewHandler(exp, global, HandlerOpts{Timeout: 10 * time.Second, TimeoutOffset: 500 * time.Millisecond}))
	t.Cleanup(page.Close)
	t.Cleanup(client.CloseIdleConnections)
	return &stack{sim: sim, client: client, exp: exp, page: page, logs: logs, clock: clk}
}

func mustToken(t *testing.T) api.Auth {
	a, err := api.TokenAuth(simulator.DemoToken)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// scrape fetches the metrics page, as Prometheus would with a scrape
// timeout (seconds, 0 for none), and returns its body.
func (s *stack) scrape(t *testing.T, timeout float64) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.page.URL, nil)
	if timeout > 0 {
		req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", fmt.Sprint(timeout))
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	defer hc.CloseIdleConnections()
	resp, err := hc.Do(req)
	if err != nil {
		t.Errorf("scrape: %v", err)
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("scrape answered %d", resp.StatusCode)
	}
	return string(b)
}

func upLine(account, endpoint string, v int) string {
	return fmt.Sprintf(`cloudflare_magic_up{account_id=%q,endpoint=%q} %d`, account, endpoint, v)
}

// TestConcurrentScrapesShareOneCall holds the API's answers until all
// scrapes wait on the calls in flight, then checks twenty scrapes cost one
// call per endpoint per account and leave no goroutine behind.
func TestConcurrentScrapesShareOneCall(t *testing.T) {
	verifyNoLeak(t)
	const scrapes = 20
	s := newStack(t, 0)
	gate := make(chan struct{})
	s.sim.SetFault("", simulator.EndpointConnectors, simulator.Fault{Gate: gate})
	s.sim.SetFault("", simulator.EndpointApps, simulator.Fault{Gate: gate})

	pages := make([]string, scrapes)
	var wg sync.WaitGroup
	for i := range scrapes {
		wg.Go(func() { pages[i] = s.scrape(t, 0) })
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.exp.connectorsFetch.waiting(simulator.AccountRetail) < scrapes || s.exp.appsFetch.waiting(simulator.AccountLabs) < scrapes {
		if time.Now().After(deadline) {
			t.Fatal("scrapes never all waited on the calls in flight")
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(gate)
	wg.Wait()

	for _, endpoint := range []string{simulator.EndpointConnectors, simulator.EndpointApps} {
		if n := s.sim.Calls(endpoint); n != 2 {
			t.Errorf("%s called %d times for %d scrapes of 2 accounts, want 2", endpoint, n, scrapes)
		}
	}
	for i, page := range pages {
		if !strings.Contains(page, upLine(simulator.AccountRetail, "connectors", 1)) ||
			!strings.Contains(page, `connector_id="`+simulator.ConnectorStale+`"`) {
			t.Errorf("scrape %d did not get the shared result", i)
		}
	}
}

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
	s := newStack(t, 0, simulator.WithRateLimit(6, 5*time.Minute))
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

func TestScrapeTimeout(t *testing.T) {
	for _, tc := range []struct {
		header      string
		max, offset time.Duration
		want        time.Duration
	}{
		{"", 10 * time.Second, 500 * time.Millisecond, 10 * time.Second},
		{"", 0, 0, time.Minute},
		{"5", 10 * time.Second, 500 * time.Millisecond, 4500 * time.Millisecond},
		{"30", 10 * time.Second, 500 * time.Millisecond, 10 * time.Second},
		{"10.3", 10 * time.Second, 500 * time.Millisecond, 9800 * time.Millisecond},
		{"0.3", 10 * time.Second, 500 * time.Millisecond, 300 * time.Millisecond},
		{"NaN", 10 * time.Second, 0, 10 * time.Second},
		{"+Inf", 10 * time.Second, 0, 10 * time.Second},
		{"-1", 10 * time.Second, 0, 10 * time.Second},
		{"soon", 10 * time.Second, 0, 10 * time.Second},
	} {
		h := http.Header{}
		if tc.header != "" {
			h.Set("X-Prometheus-Scrape-Timeout-Seconds", tc.header)
		}
		if got := ScrapeTimeout(h, tc.max, tc.offset); got != tc.want {
			t.Errorf("ScrapeTimeout(%q, %v, %v) = %v, want %v", tc.header, tc.max, tc.offset, got, tc.want)
		}
	}
}

// verifyNoLeak checks, after every cleanup of the test has run (servers
// closed), that the goroutines are back to what they were.
func verifyNoLeak(t *testing.T) {
	baseline := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, baseline) })
}

func TestFetcherForgetsAbandonedCalls(t *testing.T) {
	verifyNoLeak(t)
	f := newFetcher[int](time.Hour, 0, time.Now)
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	go func() { <-started; cancel() }()
	o := f.fetch(ctx, "a", func(ctx context.Context) (int, error) {
		close(started)
		<-ctx.Done()
		return 0, ctx.Err()
	})
	if o.err == nil {
		t.Fatal("abandoned fetch succeeded")
	}
	// The cancelled call is not an outcome to reuse: the next fetch calls.
	o = f.fetch(context.Background(), "a", func(context.Context) (int, error) { return 42, nil })
	if o.err != nil || o.result != 42 || o.cached {
		t.Errorf("after an abandoned call: %+v", o)
	}
	o = f.fetch(context.Background(), "a", func(context.Context) (int, error) { return 0, nil })
	if !o.cached || o.result != 42 {
		t.Errorf("within the interval: %+v, want the cached 42", o)
	}
}
