// Package simulator is a simulated Cloudflare API v4: the Magic WAN
// endpoints the exporter calls and the GraphQL Analytics API's edge
// datasets (POST /graphql, every query validated against its schema),
// served over real HTTP with the shapes documented in
// shared/cloudflare/API.md and GRAPHQL.md, a demo fleet, large fleets and
// fault injection.
//
// It is the engine of the exporter's --demo mode, which is why it is part of
// the release binary, and the one simulated API of the project's tests: the
// api and collector tests and the end-to-end test all use it. A Server is an
// http.Handler; tests wrap it in an httptest.Server, the demo serves it on a
// loopback listener.
package simulator

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
)

// PathPrefix is where the simulated API is mounted, as in the real base URL
// https://api.cloudflare.com/client/v4.
const PathPrefix = "/client/v4"

// Endpoint names, matching the api package's.
const (
	EndpointAccounts   = "accounts"
	EndpointConnectors = "connectors"
	EndpointApps       = "apps"
	EndpointSites      = "sites"
)

// Server is a simulated Cloudflare API holding a fleet of accounts. Its
// methods are safe for concurrent use, also while it serves requests.
type Server struct {
	mu       sync.Mutex
	now      func() time.Time
	token    string
	email    string
	key      string
	accounts map[string]*Account
	denied   map[string]bool
	faults   map[faultKey]*Fault
	calls    map[string]int
	requests []*http.Request
	mux      *http.ServeMux
	limit    rateLimiter

	latency        time.Duration
	bytesPerSecond int

	// churn and answers drive WithChurn: items changed per answer, and
	// answers so far per account and endpoint.
	churn   int
	churnOn bool
	answers map[faultKey]int

	gqlLimit   rateLimiter
	gqlCalls   map[string]int
	gqlStats   map[string]GraphQLStats
	gqlSeq     int
	gqlQueries []string
	schemas    map[string]*ast.Schema
	variant    SchemaVariant

	// paging is how GET /accounts pages its answer.
	paging AccountPaging

	snapshots     map[connectorKey]*Snapshot
	snapshotCalls map[string]int
	inFlight      map[string]int
	maxInFlight   map[string]int
}

// rateLimiter simulates Cloudflare's per-user budget: quota calls per
// window, and past it every call answered 429 for blockFor.
type rateLimiter struct {
	quota       int
	window      time.Duration
	blockFor    time.Duration
	windowStart time.Time
	used        int
	blockedTill time.Time
}

// take counts one call at now. It returns the rate-limit headers to send
// and, when the call must be refused, how long until calls are allowed.
func (l *rateLimiter) take(now time.Time) (remaining int, reset, refuse time.Duration) {
	if now.Before(l.blockedTill) {
		return 0, l.blockedTill.Sub(now), l.blockedTill.Sub(now)
	}
	if l.windowStart.IsZero() || now.Sub(l.windowStart) >= l.window {
		l.windowStart, l.used = now, 0
	}
	reset = l.windowStart.Add(l.window).Sub(now)
	if l.used >= l.quota {
		l.blockedTill = now.Add(l.blockFor)
		return 0, l.blockFor, l.blockFor
	}
	l.used++
	return l.quota - l.used, reset, 0
}

// Account is one simulated Cloudflare account.
type Account struct {
	ID         string
	Name       string
	Connectors []Connector
	Apps       []App
	// Sites are served as they are; nil serves an empty list.
	Sites []Site
	// Edge is what the GraphQL Analytics API knows of the account; nil
	// means nothing (every dataset answers no rows).
	Edge *Edge
}

// Option configures a Server.
type Option func(*Server)

// WithClock makes the server read the time from now, for deterministic
// heartbeats in tests.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithToken sets the API token the server accepts.
func WithToken(token string) Option { return func(s *Server) { s.token = token } }

// WithKey sets the email and global API key the server accepts.
func WithKey(email, key string) Option {
	return func(s *Server) { s.email, s.key = email, key }
}

// WithNetwork makes every answer wait latency before its first byte and then
// flow at bytesPerSecond, as over the Internet, rather than at loopback
// speed; benchmarks use it to compare the exporter's work with the time the
// API takes.
func WithNetwork(latency time.Duration, bytesPerSecond int) Option {
	return func(s *Server) { s.latency, s.bytesPerSecond = latency, bytesPerSecond }
}

// WithRateLimit sets the simulated budget: quota calls per window (default
// 1,200 per 5 minutes, as Cloudflare's), past which every call is answered
// 429 for five minutes.
func WithRateLimit(quota int, window time.Duration) Option {
	return func(s *Server) { s.limit.quota, s.limit.window = quota, window }
}

// NewServer returns a simulated API serving accounts.
func NewServer(accounts []Account, opts ...Option) *Server {
	s := &Server{
		now:      time.Now,
		accounts: map[string]*Account{},
		denied:   map[string]bool{},
		faults:   map[faultKey]*Fault{},
		calls:    map[string]int{},
		answers:  map[faultKey]int{},
		limit:    rateLimiter{quota: 1200, window: 5 * time.Minute, blockFor: 5 * time.Minute},
		gqlLimit: rateLimiter{quota: DefaultGraphQLQuota, window: 5 * time.Minute, blockFor: 5 * time.Minute},
		gqlCalls: map[string]int{},
		gqlStats: map[string]GraphQLStats{},
		schemas:  map[string]*ast.Schema{},

		snapshots:     map[connectorKey]*Snapshot{},
		snapshotCalls: map[string]int{},
		inFlight:      map[string]int{},
		maxInFlight:   map[string]int{},
	}
	for _, o := range opts {
		o(s)
	}
	for i := range accounts {
		a := accounts[i]
		s.accounts[a.ID] = &a
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET "+PathPrefix+"/accounts", s.listAccounts)
	s.mux.HandleFunc("GET "+PathPrefix+"/accounts/{account_id}/magic/connectors", s.connectors)
	s.mux.HandleFunc("GET "+PathPrefix+"/accounts/{account_id}/magic/apps", list(s, EndpointApps, func(a *Account) []App { return a.Apps }))
	s.mux.HandleFunc("GET "+PathPrefix+"/accounts/{account_id}/magic/sites", list(s, EndpointSites, func(a *Account) []Site { return a.Sites }))
	s.mux.HandleFunc("GET "+PathPrefix+"/accounts/{account_id}/magic/connectors/{connector_id}/telemetry/snapshots/latest", s.telemetry)
	s.mux.HandleFunc("POST "+PathPrefix+"/graphql", s.graphql)
	s.mux.HandleFunc(PathPrefix+"/", func(w http.ResponseWriter, r *http.Request) {
		writeEnvelope(w, http.StatusNotFound, nil, Message{Code: 7003, Message: "No route for that URI"})
	})
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.latency > 0 || s.bytesPerSecond > 0 {
		select {
		case <-time.After(s.latency):
		case <-r.Context().Done():
			return
		}
		w = &throttled{ResponseWriter: w, rate: s.bytesPerSecond, start: time.Now()}
	}
	s.mux.ServeHTTP(w, r)
}

// throttled writes at most rate bytes per second.
type throttled struct {
	http.ResponseWriter
	rate  int
	start time.Time
	sent  int
}

func (t *throttled) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		n := min(len(p), 16<<10)
		if t.rate > 0 {
			due := t.start.Add(time.Duration(float64(t.sent+n) / float64(t.rate) * float64(time.Second)))
			time.Sleep(time.Until(due))
		}
		m, err := t.ResponseWriter.Write(p[:n])
		written += m
		t.sent += m
		if err != nil {
			return written, err
		}
		if f, ok := t.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		p = p[n:]
	}
	return written, nil
}

// SetToken changes the API token the server accepts, as a rotation does.
func (s *Server) SetToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = token
}

// Deny makes the server refuse the account to the configured credential, as
// Cloudflare does when a token lacks permission for an account.
func (s *Server) Deny(accountID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied[accountID] = true
}

// SetConnectors replaces an account's connectors.
func (s *Server) SetConnectors(accountID string, connectors []Connector) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.account(accountID).Connectors = connectors
}

// SetApps replaces an account's apps.
func (s *Server) SetApps(accountID string, apps []App) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.account(accountID).Apps = apps
}

func (s *Server) account(id string) *Account {
	a, ok := s.accounts[id]
	if !ok {
		a = &Account{ID: id}
		s.accounts[id] = a
	}
	return a
}

// Calls returns how many requests reached endpoint ("connectors", "apps",
// "telemetry", "graphql").
func (s *Server) Calls(endpoint string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[endpoint]
}

// maxRequests bounds the requests kept for Requests, so that a long-running
// --demo does not grow forever.
const maxRequests = 1000

// Requests returns a copy of the requests received so far, bodies aside:
// the latest maxRequests of them.
func (s *Server) Requests() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*http.Request(nil), s.requests...)
}

// Message is one entry of a Cloudflare errors or messages array.
type Message struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type envelope struct {
	Success  bool      `json:"success"`
	Errors   []Message `json:"errors"`
	Messages []Message `json:"messages"`
	Result   any       `json:"result"`
}

func writeEnvelope(w http.ResponseWriter, status int, result any, errs ...Message) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	env := envelope{Success: len(errs) == 0, Errors: errs, Messages: []Message{}, Result: result}
	if env.Errors == nil {
		env.Errors = []Message{}
	}
	_ = json.NewEncoder(w).Encode(env)
}

// handle does what every endpoint shares: counting, authentication,
// permission and fault injection. It returns the account to answer from, or
// nil when it has answered already.
func (s *Server) handle(w http.ResponseWriter, r *http.Request, endpoint string) *Account {
	accountID := r.PathValue("account_id")
	s.mu.Lock()
	s.calls[endpoint]++
	s.requests = append(s.requests, r.Clone(r.Context()))
	if len(s.requests) > maxRequests {
		s.requests = slices.Delete(s.requests, 0, len(s.requests)-maxRequests)
	}
	fault := s.takeFault(accountID, endpoint)
	authErr := s.authenticate(r)
	account, known := s.accounts[accountID]
	denied := s.denied[accountID]
	remaining, reset, refuse := s.limit.take(s.now())
	s.mu.Unlock()

	// Every answer carries the rate-limit headers, as Cloudflare's do.
	w.Header().Set("Ratelimit", fmt.Sprintf(`"default";r=%d;t=%d`, remaining, ceilSeconds(reset)))
	w.Header().Set("Ratelimit-Policy", fmt.Sprintf(`"default";q=%d;w=%d`, s.limit.quota, ceilSeconds(s.limit.window)))
	if refuse > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(ceilSeconds(refuse)))
		writeEnvelope(w, http.StatusTooManyRequests, nil, Message{Code: 971, Message: "Please wait and consider throttling your request speed"})
		return nil
	}
	if fault != nil {
		if fault.serve(w, r) {
			return nil
		}
	}
	if authErr != nil {
		writeEnvelope(w, http.StatusForbidden, nil, authErr...)
		return nil
	}
	if endpoint == EndpointAccounts {
		return &Account{}
	}
	if !known || denied {
		writeEnvelope(w, http.StatusForbidden, nil, Message{Code: 10000, Message: "Authentication error"})
		return nil
	}
	// Copy under the lock so a concurrent Set* cannot race the encoder.
	s.mu.Lock()
	defer s.mu.Unlock()
	s.churnLocked(account, endpoint)
	c := *account
	return &c
}

// authenticate returns the errors Cloudflare answers a bad credential with,
// or nil when the request carries the configured token or key.
func (s *Server) authenticate(r *http.Request) []Message {
	authz := r.Header.Get("Authorization")
	switch {
	case strings.HasPrefix(authz, "Bearer "):
		if s.token != "" && strings.TrimPrefix(authz, "Bearer ") == s.token {
			return nil
		}
		return []Message{{Code: 9109, Message: "Invalid access token"}, {Code: 10000, Message: "Authentication error"}}
	case r.Header.Get("X-Auth-Key") != "":
		if s.key != "" && r.Header.Get("X-Auth-Key") == s.key && r.Header.Get("X-Auth-Email") == s.email {
			return nil
		}
	}
	return []Message{{Code: 10000, Message: "Authentication error"}}
}

func (s *Server) connectors(w http.ResponseWriter, r *http.Request) {
	defer s.track(EndpointConnectors)()
	a := s.handle(w, r, EndpointConnectors)
	if a == nil {
		return
	}
	now := s.now()
	out := make([]Connector, 0, len(a.Connectors))
	for _, c := range a.Connectors {
		if dt := r.URL.Query().Get("device_type"); dt != "" && (c.Device == nil || c.Device.Type != dt) {
			continue
		}
		if s.churnOn {
			out = append(out, c.renewed(now))
		} else {
			out = append(out, c.At(now))
		}
	}
	writeEnvelope(w, http.StatusOK, out)
}

// AccountPaging is how GET /accounts pages its answer: honestly, or in one
// of the ways a broken or hostile API could.
type AccountPaging int

const (
	// PagingHonest answers each page as asked, as the real API does.
	PagingHonest AccountPaging = iota
	// PagingRepeat answers every page with the accounts of the first,
	// numbered as asked, and announces one page more: a cursor that
	// repeats forever.
	PagingRepeat
	// PagingEndless answers every page with accounts never listed before,
	// and announces one page more: a listing that never ends.
	PagingEndless
)

// SetAccountPaging changes how GET /accounts pages its answer.
func (s *Server) SetAccountPaging(p AccountPaging) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.paging = p
}

// listAccounts answers GET /accounts a page at a time, sorted by ID, as the
// real API does with page and per_page (default 20, at most 50). Accounts
// the credential is denied Magic WAN on are listed all the same.
func (s *Server) listAccounts(w http.ResponseWriter, r *http.Request) {
	if s.handle(w, r, EndpointAccounts) == nil {
		return
	}
	page, perPage := queryInt(r, "page", 1), queryInt(r, "per_page", 20)
	if page < 1 || perPage < 5 || perPage > 50 {
		writeEnvelope(w, http.StatusBadRequest, nil, Message{Code: 1001, Message: "Invalid page or per_page"})
		return
	}
	s.mu.Lock()
	paging := s.paging
	all := make([]accountJSON, 0, len(s.accounts))
	for _, a := range s.accounts {
		all = append(all, accountJSON{ID: a.ID, Name: a.Name, Type: "standard"})
	}
	s.mu.Unlock()
	slices.SortFunc(all, func(a, b accountJSON) int { return strings.Compare(a.ID, b.ID) })
	totalPages := (len(all) + perPage - 1) / perPage
	from, to := min((page-1)*perPage, len(all)), min(page*perPage, len(all))
	result := all[from:to]
	switch paging {
	case PagingRepeat:
		result, totalPages = all[:min(perPage, len(all))], page+1
	case PagingEndless:
		result, totalPages = make([]accountJSON, perPage), page+1
		for i := range result {
			id := fmt.Sprintf("%032x", 1<<60+(page-1)*perPage+i)
			result[i] = accountJSON{ID: id, Name: "Endless " + id[26:], Type: "standard"}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"success": true, "errors": []Message{}, "messages": []Message{},
		"result": result,
		"result_info": map[string]int{
			"page": page, "per_page": perPage, "count": len(result), "total_count": totalPages * perPage,
			"total_pages": totalPages,
		},
	})
}

type accountJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
}

func queryInt(r *http.Request, key string, def int) int {
	v := r.URL.Query().Get(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return -1
	}
	return n
}

// list answers a list endpoint of an account with its items, [] for none.
func list[T any](s *Server, endpoint string, items func(*Account) []T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		defer s.track(endpoint)()
		a := s.handle(w, r, endpoint)
		if a == nil {
			return
		}
		out := items(a)
		if out == nil {
			out = []T{}
		}
		writeEnvelope(w, http.StatusOK, out)
	}
}

func ceilSeconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}

// BaseURL is the API base URL of a Server listening on addr (host:port).
func BaseURL(addr string) string { return "http://" + addr + PathPrefix }

// TB is the part of testing.TB that Start needs; this package does not
// import testing, so the exporter's demo mode can use it.
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
}

// Start serves s on a loopback port until the test ends and returns the
// base URL to give the client.
func (s *Server) Start(t TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return BaseURL(l.Addr().String())
}
