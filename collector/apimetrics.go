package collector

import (
	"cmp"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/exposition"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/poll"
)

// APIMetrics records the exporter's use of the Cloudflare API over the
// life of the process: requests by endpoint and status, the rate limit the
// latest responses reported, and failed credential reloads. Hand Observe
// and CredentialError to the API client; /metrics shows what it holds.
type APIMetrics struct {
	now func() time.Time

	mu       sync.Mutex
	requests map[requestKey]float64
	latest   api.RateLimit
	seenAt   time.Time
	// credentialErrors counts failed re-reads of the credential file.
	credentialErrors float64
}

type requestKey struct{ endpoint, code string }

// requestRow is the count of requests to one endpoint with one status.
type requestRow struct {
	requestKey
	n float64
}

// rateLimitRow is the rate limit as the latest responses reported it.
type rateLimitRow struct {
	// remaining and reset are valid while hasWindow: after the window they
	// describe has passed, they would no longer be true.
	hasWindow        bool
	remaining, reset float64
	hasPolicy        bool
	limit            float64
}

// NewAPIMetrics returns an APIMetrics that has seen no request yet. now
// defaults to time.Now.
func NewAPIMetrics(now func() time.Time) *APIMetrics {
	if now == nil {
		now = time.Now
	}
	return &APIMetrics{now: now, requests: map[requestKey]float64{}}
}

// Observe counts one request and keeps its rate-limit headers. Its
// signature fits api.Config.Observe.
func (m *APIMetrics) Observe(ri api.RequestInfo) {
	code := "error"
	if ri.StatusCode != 0 && !ri.Failed {
		code = strconv.Itoa(ri.StatusCode)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[requestKey{ri.Endpoint, code}]++
	if api.IsGraphQL(ri.Endpoint) {
		// GraphQL has its own quota (300 per 5 minutes, not REST's 1,200):
		// mixed in, its remaining count read against REST's limit would
		// fire the nearly-exhausted alert. Its budget guard shows it.
		return
	}
	if rl := ri.RateLimit; rl.HasRemaining {
		// Concurrent responses arrive in any order: within one window the
		// lowest remaining count is the latest truth; a window ending
		// later is a new one.
		now := m.now()
		oldEnd, newEnd := m.seenAt.Add(m.latest.Reset), now.Add(rl.Reset)
		if !m.latest.HasRemaining || newEnd.Sub(oldEnd) > time.Second || rl.Remaining < m.latest.Remaining {
			m.latest.HasRemaining, m.latest.Remaining, m.latest.Reset = true, rl.Remaining, rl.Reset
			m.seenAt = now
		}
	}
	if ri.RateLimit.HasPolicy {
		m.latest.HasPolicy, m.latest.Limit, m.latest.Window = true, ri.RateLimit.Limit, ri.RateLimit.Window
	}
}

// CredentialError counts a failed re-read of the credential file. Its
// signature fits api.Config.OnCredentialError.
func (m *APIMetrics) CredentialError(error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.credentialErrors++
}

// addTo puts what m holds on the page.
func (m *APIMetrics) addTo(p *page) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, n := range m.requests {
		p.requests = append(p.requests, requestRow{k, n})
	}
	slices.SortFunc(p.requests, func(a, b requestRow) int {
		return cmp.Or(cmp.Compare(a.endpoint, b.endpoint), cmp.Compare(a.code, b.code))
	})
	r := rateLimitRow{hasPolicy: m.latest.HasPolicy, limit: m.latest.Limit}
	if m.latest.HasRemaining {
		if left := m.latest.Reset - m.now().Sub(m.seenAt); left > 0 {
			r.hasWindow, r.remaining, r.reset = true, m.latest.Remaining, left.Seconds()
		}
	}
	p.rateLimit = []rateLimitRow{r}
	p.credentialErrors = []float64{m.credentialErrors}
}

// budgetRow is the state of the budget guard of one API.
type budgetRow struct {
	api string
	poll.BudgetState
}

// budgetRows are the states of the budget guards, by API name.
func budgetRows(budgets map[string]*poll.Budget) []budgetRow {
	var out []budgetRow
	for _, name := range slices.Sorted(maps.Keys(budgets)) {
		out = append(out, budgetRow{api: name, BudgetState: budgets[name].State()})
	}
	return out
}

func apiFamilies() []renderer {
	rateLimit := func(p *page) []rateLimitRow { return p.rateLimit }
	budget := bind(SourceExporter, func(p *page) []budgetRow { return p.budgets },
		&Family[budgetRow]{
			Name: namespace + "_api_budget_guard_active",
			Help: "Whether the budget guard is skipping API calls and serving the last answers (1) or not (0).",
			Doc: "The guard keeps the exporter within `--cloudflare.budget-share` of the Cloudflare rate limit whatever " +
				"the number of scrapers; `cloudflare_magic_last_success_timestamp_seconds` shows the age of what is served.",
			Type: exposition.Gauge, Labels: []string{"api"},
			Samples: func(s Sampler, r *budgetRow) { s.Add(boolToFloat(r.Active), r.api) },
		},
		&Family[budgetRow]{
			Name: namespace + "_api_budget_round_seconds",
			Help: "Seconds the budget share takes to call every account once; past the scrape interval, accounts wait.",
			Doc: "The calls of a scrape of every account (accounts times endpoints) over the calls the share allows per second. " +
				"Longer than the scrape interval, each scrape serves the accounts waiting longest and the last answers for the others, " +
				"each account at least once per round: shard the accounts over several exporters ([sharding](sharding.md)). " +
				"Absent until the accounts are known, and for the guard of an API that does not report its demand (`graphql`).",
			Type: exposition.Gauge, Labels: []string{"api"},
			Samples: func(s Sampler, r *budgetRow) {
				if r.Round > 0 {
					s.Add(r.Round.Seconds(), r.api)
				}
			},
		},
		&Family[budgetRow]{
			Name: namespace + "_api_budget_skipped_calls_total",
			Help: "API calls the budget guard skipped.",
			Type: exposition.Counter, Labels: []string{"api"},
			Samples: func(s Sampler, r *budgetRow) { s.Add(r.Denied, r.api) },
		})
	credentials := bind(SourceExporter, func(p *page) []float64 { return p.credentialErrors },
		&Family[float64]{
			Name: namespace + "_credential_reload_errors_total",
			Help: "Failed re-reads of the API token file; the last good token stays in use.",
			Doc: "Counted once per distinct failure (file empty, unreadable or gone) until the file reads well again; " +
				"the log says which. The exporter will fail when the token in use expires or is revoked.",
			Type:    exposition.Counter,
			Samples: func(s Sampler, n *float64) { s.Add(*n) },
		})
	return append(append(budget, credentials...), append(
		bind(SourceExporter, func(p *page) []requestRow { return p.requests },
			&Family[requestRow]{
				Name: namespace + "_api_requests_total",
				Help: "Requests made to the Cloudflare API, by endpoint and HTTP status code.",
				Doc: "`code` is `error` when no response arrived, or when a 2xx answer failed all the same (cut short, too large, " +
					"not a valid answer). A rise in 429 means the rate limit is reached; in 403, the token lacks permission.",
				Type: exposition.Counter, Labels: []string{"endpoint", "code"},
				Samples: func(s Sampler, r *requestRow) { s.Add(r.n, r.endpoint, r.code) },
			}),
		bind(SourceExporter, rateLimit,
			rateLimitGauge("remaining", "Requests left in the current rate-limit window, from the latest response.",
				"From the `Ratelimit` header. Near 0, every call will soon be answered 429 for five minutes. Absent when unknown.",
				func(r *rateLimitRow) (float64, bool) { return r.remaining, r.hasWindow }),
			rateLimitGauge("reset_seconds", "Seconds until the current rate-limit window resets, from the latest response.",
				"From the `Ratelimit` header. Absent when unknown.",
				func(r *rateLimitRow) (float64, bool) { return r.reset, r.hasWindow }),
			rateLimitGauge("limit", "Requests allowed per rate-limit window, from the Ratelimit-Policy header.",
				"Shared by every token, key and dashboard session of the Cloudflare user. Absent when the API sent none.",
				func(r *rateLimitRow) (float64, bool) { return r.limit, r.hasPolicy }),
		)...)...)
}

// rateLimitGauge declares a gauge read from the latest rate-limit headers,
// absent while value reports false.
func rateLimitGauge(name, help, doc string, value func(*rateLimitRow) (float64, bool)) *Family[rateLimitRow] {
	return &Family[rateLimitRow]{
		Name: namespace + "_api_ratelimit_" + name, Help: help, Doc: doc, Type: exposition.Gauge,
		Samples: func(s Sampler, r *rateLimitRow) {
			if v, ok := value(r); ok {
				s.Add(v)
			}
		},
	}
}
