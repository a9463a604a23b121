// Package api is a client for the Cloudflare API v4 endpoints that describe
// Magic WAN Connectors and apps, and for the GraphQL Analytics datasets of
// Cloudflare's edge view of tunnels and connectors (QueryEdge).
//
// It mirrors the API's schema in typed structs, has one method per endpoint,
// and returns every failure as an *Error carrying the HTTP status and the
// Cloudflare code: message pairs. It imports nothing from Prometheus and logs
// nothing. No error it returns contains a credential.
package api

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/alecthomas/units"
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// DefaultBaseURL is the Cloudflare API v4 base URL.
const DefaultBaseURL = "https://api.cloudflare.com/client/v4"

// DefaultMaxResponseBytes bounds how much of a response body is read: what
// the largest fleet planned for needs, and no more. A connector takes 566
// bytes of JSON with every field set (the simulator's LargeFleet, license
// key included), so 50,000 connectors are 28.3 MB (27 MiB); 40 MiB leaves
// about half as much again for longer notes and fields added later. The
// other answers are smaller: 50,000 apps are 7.6 MB, the GraphQL edge
// answer at MaxEdgeRows 13 MB. A larger answer fails the call with an
// error naming --cloudflare.max-response-bytes.
const DefaultMaxResponseBytes = 40 << 20

// Endpoint names, as used in errors, RequestInfo and metric labels.
const (
	EndpointConnectors = "connectors"
	EndpointApps       = "apps"
)

// RequestInfo describes one HTTP request the client made. It is handed to
// Config.Observe after the response body has been read.
type RequestInfo struct {
	Endpoint string
	// StatusCode is 0 when no HTTP response arrived.
	StatusCode int
	Duration   time.Duration
	// RateLimit is what the response's rate-limit headers said.
	RateLimit RateLimit
	// Failed is true when the status was 2xx but the call failed all the
	// same: the body was cut short, too large or unreadable, not a valid
	// answer, or the answer said success false. StatusCode alone would
	// count such a call as a success.
	Failed bool
}

// Config configures a Client.
type Config struct {
	// BaseURL defaults to DefaultBaseURL.
	BaseURL string
	// Auth is required.
	Auth Auth
	// HTTPClient defaults to a client with its own transport. Whatever
	// client is given, the Client does not follow redirects: a credential
	// must not be forwarded to another host.
	HTTPClient *http.Client
	// UserAgent is sent with every request.
	UserAgent string
	// MaxResponseBytes defaults to DefaultMaxResponseBytes.
	MaxResponseBytes int64
	// MaxInflightBytes bounds the memory of answers being read at once by
	// all the client's calls together: their bytes as they arrive, and the
	// arrays decoding makes of them. It defaults to DefaultMaxInflightBytes
	// and must not be less than MaxResponseBytes.
	// A call that finds it reached waits, at most as long as its context
	// allows, and then fails with an *InflightError.
	MaxInflightBytes int64
	// OnCredentialError, if set, is called when re-reading a credential
	// file (TokenFileAuth) failed and the last good credential stays in
	// use: once per distinct failure, from the goroutine of the request
	// that found it. The error names the file, never the secret.
	OnCredentialError func(error)
	// AllowRetry, if set, is asked before a transient failure is tried
	// again, with the endpoint's name: a retry is one more request against
	// the rate limit, which a budget guard may not allow.
	AllowRetry func(endpoint string) bool
	// Observe, if set, is called once per HTTP request, from the goroutine
	// that made it.
	Observe func(RequestInfo)
	// Now defaults to time.Now; tests fix it.
	Now func() time.Time
}

// Client calls the Cloudflare API. It is safe for concurrent use.
//
// After an HTTP 429 the client makes no request at all until Retry-After has
// passed: every call fails at once with an error wrapping ErrBackoff. A
// transient failure (no response, or HTTP 5xx) is retried once, after a
// short jittered pause, when the context's deadline leaves room.
type Client struct {
	baseURL   string
	auth      Auth
	http      *http.Client
	userAgent string
	maxBytes  int64
	inflight  *inflight
	observe   func(RequestInfo)
	// credErr receives a credential file's reload failures.
	credErr func(error)
	// allowRetry says whether a retry may be made; nil allows every one.
	allowRetry func(endpoint string) bool
	now        func() time.Time

	// memos remember the last answers of the list endpoints, to decode
	// only what changed.
	memos memos

	mu sync.Mutex
	// backoffUntil is, per budget, when calls may be made again after a
	// 429.
	backoffUntil [budgets]time.Time
}

// budget names a rate limit of Cloudflare's: REST calls and GraphQL
// queries are counted apart (1,200 and 300 per 5 minutes), so a 429 from
// one pauses only the calls of its own budget.
type budget int

const (
	budgetREST budget = iota
	budgetGraphQL
	budgets
)

// New returns a Client for cfg.
func New(cfg Config) (*Client, error) {
	if cfg.Auth == nil {
		return nil, errors.New("no credential configured")
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("API URL %q is not an absolute http(s) URL", base)
	}
	if u.User != nil {
		return nil, errors.New("API URL must not contain user information")
	}
	// A transport of its own: its connections are this client's to close.
	// Reading 64 KiB at a time rather than 4 halves the wakeups while a
	// large answer streams in.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.ReadBufferSize = 64 << 10
	hc := &http.Client{Transport: transport}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		hc = &c
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	maxBytes, maxInflight := cfg.MaxResponseBytes, cfg.MaxInflightBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxResponseBytes
	}
	if maxInflight <= 0 {
		maxInflight = max(DefaultMaxInflightBytes, maxBytes)
	}
	if maxInflight < maxBytes {
		return nil, fmt.Errorf("--cloudflare.max-inflight-bytes (%s) must not be less than --cloudflare.max-response-bytes (%s): "+
			"the largest answer could never be read", units.Base2Bytes(maxInflight), units.Base2Bytes(maxBytes))
	}
	observe := cfg.Observe
	if observe == nil {
		observe = func(RequestInfo) {}
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	credErr := cfg.OnCredentialError
	if credErr == nil {
		credErr = func(error) {}
	}
	return &Client{
		baseURL:    strings.TrimRight(u.String(), "/"),
		auth:       cfg.Auth,
		http:       hc,
		userAgent:  cfg.UserAgent,
		maxBytes:   maxBytes,
		inflight:   newInflight(maxInflight),
		observe:    observe,
		allowRetry: cfg.AllowRetry,
		credErr:    credErr,
		now:        now,
	}, nil
}

// CloseIdleConnections closes the client's idle keep-alive connections.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// BackoffRemaining is how long the client will still refuse to call the
// REST API after a 429; 0 when it calls normally.
func (c *Client) BackoffRemaining() time.Duration { return c.backoffRemaining(budgetREST) }

// GraphQLBackoffRemaining is how long the client will still refuse to send
// GraphQL queries after a 429 or a quota error; 0 when it sends them
// normally. The GraphQL budget is Cloudflare's own, apart from REST's.
func (c *Client) GraphQLBackoffRemaining() time.Duration { return c.backoffRemaining(budgetGraphQL) }

func (c *Client) backoffRemaining(b budget) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return max(c.backoffUntil[b].Sub(c.now()), 0)
}

// backOff records a 429's Retry-After for budget b; a later deadline wins.
func (c *Client) backOff(b budget, retryAfter string) time.Duration {
	now := c.now()
	d := parseRetryAfter(retryAfter, now)
	c.mu.Lock()
	defer c.mu.Unlock()
	if until := now.Add(d); until.After(c.backoffUntil[b]) {
		c.backoffUntil[b] = until
	}
	return d
}

// ListConnectors returns every Magic WAN Connector of the account
// (GET /accounts/{account_id}/magic/connectors).
//
// Connectors of the account's last answer whose bytes are the same but
// for their heartbeat are not decoded again (see memo.go).
func (c *Client) ListConnectors(ctx context.Context, accountID string) ([]Connector, error) {
	return listRemembered(ctx, c, EndpointConnectors, accountID, "/magic/connectors", "last_heartbeat", connectorsFrom)
}

// ListApps returns every Magic WAN app of the account, custom and managed
// (GET /accounts/{account_id}/magic/apps).
//
// Apps of the account's last answer whose bytes are the same are not
// decoded again (see memo.go).
func (c *Client) ListApps(ctx context.Context, accountID string) ([]App, error) {
	return listRemembered(ctx, c, EndpointApps, accountID, "/magic/apps", "", appsFrom)
}

// listRemembered reads a list endpoint of the account through its memo of
// the last answer: items of wire shape W whose bytes, the volatile member
// aside, did not change are not decoded again; convert makes the answer.
func listRemembered[W, T any](ctx context.Context, c *Client, endpoint, accountID, path, volatile string,
	convert func([]memoEntry[W], memoState[T], *interner) []T) ([]T, error) {
	m := memoFor[T](&c.memos, endpoint, accountID)
	last := m.load()
	wire, err := get[list[memoEntry[W]]](ctx, c, endpoint, accountPath(accountID, path), memoUnmarshaler[W](last, volatile))
	if err != nil {
		return nil, err
	}
	out := convert(wire.items, last, &c.memos.intern)
	m.store(remember(out, func(i int) memoItem { return wire.items[i].memo }))
	return out, nil
}

func accountPath(accountID, rest string) string {
	return "/accounts/" + url.PathEscape(accountID) + rest
}

// envelope is the response shape shared by every v4 endpoint. Its
// messages array is never used, so it is skipped, not held.
type envelope[T any] struct {
	Success    *bool       `json:"success"`
	Errors     messageList `json:"errors"`
	Result     T           `json:"result"`
	ResultInfo *resultInfo `json:"result_info"`
}

// resultInfo is the paging information of a paginated list.
type resultInfo struct {
	Page       int `json:"page"`
	PerPage    int `json:"per_page"`
	TotalPages int `json:"total_pages"`
}

var (
	errNoSuccessField = errors.New(`response has no "success" field`)
	errSuccessFalse   = errors.New("API answered success false")
)

func get[T any](ctx context.Context, c *Client, endpoint, path string, opts ...func(*bufio.Reader, charger) *json.Unmarshalers) (T, error) {
	env, err := getEnvelope[T](ctx, c, endpoint, path, opts...)
	if err != nil {
		var zero T
		return zero, err
	}
	return env.Result, nil
}

// getEnvelope is get, returning the whole envelope.
func getEnvelope[T any](ctx context.Context, c *Client, endpoint, path string, opts ...func(*bufio.Reader, charger) *json.Unmarshalers) (*envelope[T], error) {
	req := request{endpoint: endpoint, method: http.MethodGet, path: path, budget: budgetREST, opts: opts}
	env, _, err := call(ctx, c, req, func() *envelope[T] { return new(envelope[T]) })
	if err != nil {
		return nil, err
	}
	return env, nil
}

func (e *envelope[T]) messages() ([]Message, int) { return e.Errors.items, e.Errors.more }

func (e *envelope[T]) check() error {
	switch {
	case e.Success == nil:
		return errNoSuccessField
	case !*e.Success:
		return errSuccessFalse
	}
	if r, ok := any(&e.Result).(interface{ check() error }); ok {
		return r.check()
	}
	return nil
}

// request is one API call: what to send, and which rate-limit budget a 429
// pauses.
type request struct {
	endpoint string
	method   string
	path     string
	// op describes the call in errors; method and path when empty.
	op string
	// body is sent as application/json when not nil.
	body   []byte
	budget budget
	// opts make more unmarshalers to decode the answer with, given the
	// buffered reader of its body and what charges its memory.
	opts []func(*bufio.Reader, charger) *json.Unmarshalers
}

// answer is a decoded response body.
type answer interface {
	// messages are the first errors the body carried, reported when the
	// call failed, and how many more it carried.
	messages() ([]Message, int)
	// check says what is wrong with a body that came with a 2xx status.
	check() error
}

// call makes req, decoding the body into a fresh answer, and retries a
// transient failure once. It returns the answer and the response headers,
// or an *Error.
func call[A answer](ctx context.Context, c *Client, req request, fresh func() A) (A, http.Header, error) {
	var zero A
	for attempt := 1; ; attempt++ {
		result, header, err, retry := callOnce(ctx, c, req, fresh())
		if err == nil {
			return result, header, nil
		}
		// Attempts counts the requests made: a call refused during a
		// backoff made none.
		err.Attempts = attempt
		var backoff *BackoffError
		if errors.As(err.Err, &backoff) && !backoff.Started {
			err.Attempts--
		}
		if !retry || attempt == maxAttempts {
			return zero, nil, err
		}
		pause := retryPause()
		if !roomToRetry(ctx, pause, time.Now()) || c.allowRetry != nil && !c.allowRetry(req.endpoint) {
			return zero, nil, err
		}
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return zero, nil, err
		}
	}
}

// maxAttempts is how often a transient failure is tried: once more.
const maxAttempts = 2

// retryPause is a jittered pause between 100 and 300 ms, so that replicas
// that failed together do not retry together.
func retryPause() time.Duration {
	return 100*time.Millisecond + rand.N(200*time.Millisecond)
}

// minRetryRoom is the least time a retry must have left after its pause to
// be worth making.
const minRetryRoom = time.Second

func roomToRetry(ctx context.Context, pause time.Duration, now time.Time) bool {
	deadline, ok := ctx.Deadline()
	return !ok || deadline.Sub(now) >= pause+minRetryRoom
}

// callOnce makes one request. retry reports whether the failure is
// transient: no response, or an HTTP 5xx.
func callOnce[A answer](ctx context.Context, c *Client, r request, v A) (_ A, _ http.Header, _ *Error, retry bool) {
	var zero A
	op := r.op
	if op == "" {
		op = r.method + " " + r.path
	}
	fail := func(status int, v answer, err error) *Error {
		e := &Error{Endpoint: r.endpoint, Op: op, StatusCode: status, Err: c.redactErr(err)}
		if v != nil {
			msgs, more := v.messages()
			e.Errors, e.MoreErrors = c.redactMessages(msgs), more
		}
		return e
	}
	if wait := c.backoffRemaining(r.budget); wait > 0 {
		return zero, nil, fail(0, nil, &BackoffError{Remaining: wait}), false
	}

	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, c.baseURL+r.path, body)
	if err != nil {
		return zero, nil, fail(0, nil, err), false
	}
	if err := c.auth.apply(req.Header, func(err error) { c.credErr(c.redactErr(err)) }); err != nil {
		return zero, nil, fail(0, nil, err), false
	}
	req.Header.Set("Accept", "application/json")
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}

	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.observe(RequestInfo{Endpoint: r.endpoint, Duration: time.Since(start)})
		return zero, nil, fail(0, nil, transportError(err)), ctx.Err() == nil
	}
	// The body takes its bytes from the bound shared by every call, and
	// gives them back once decoded.
	counted := c.inflight.body(ctx, resp.Body)
	resp.Body = counted
	decodeErr := decodeBody(resp, v, c.maxBytes, counted, r.opts...)
	closeBody(resp.Body)
	if overLimit(decodeErr) {
		// What the answer made before it failed is garbage, up to the
		// whole bound: collected and given back to the system now, before
		// its bytes go to the next answers, rather than left to pile up
		// until the heap doubles (five accounts of endless empty strings
		// peaked at 112 MiB RSS with runtime.GC here, 91 MiB with this,
		// medians of 3). Only an answer over a limit pays it.
		v = zero
		debug.FreeOSMemory()
	}
	counted.done()
	ok2xx := resp.StatusCode >= 200 && resp.StatusCode <= 299
	var checkErr error
	if decodeErr == nil && ok2xx {
		checkErr = v.check()
	}
	c.observe(RequestInfo{
		Endpoint:   r.endpoint,
		StatusCode: resp.StatusCode,
		Duration:   time.Since(start),
		RateLimit:  ParseRateLimit(resp.Header),
		Failed:     ok2xx && (decodeErr != nil || checkErr != nil),
	})

	if resp.StatusCode == http.StatusTooManyRequests {
		// The status says it all; the body may be anything, so a decode
		// error is not reported.
		pause := c.backOff(r.budget, resp.Header.Get("Retry-After"))
		return zero, nil, fail(resp.StatusCode, v, &BackoffError{Remaining: pause, Started: true}), false
	}
	transient := resp.StatusCode >= 500 && ctx.Err() == nil
	switch {
	case decodeErr != nil:
		// A body cut short by the network is as transient as a 5xx.
		var read *readErr
		return zero, nil, fail(resp.StatusCode, nil, decodeErr), transient || (errors.As(decodeErr, &read) && ctx.Err() == nil)
	case !ok2xx:
		return zero, nil, fail(resp.StatusCode, v, nil), transient
	case checkErr != nil:
		return zero, nil, fail(resp.StatusCode, v, checkErr), false
	}
	return v, resp.Header, nil, false
}

// transportError strips the *url.Error wrapper, whose text repeats the full
// URL, and says that no response arrived.
func transportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("no response: %w", err)
}

// closeBody reads a little of what is left so the connection can be reused,
// then closes the body.
func closeBody(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 64<<10))
	_ = body.Close()
}

// decodeOptions make the decoder as lenient as encoding/json's: invalid
// UTF-8 becomes U+FFFD (label values must be valid UTF-8) and a repeated
// member name is not an error. Unknown members are skipped.
var decodeOptions = json.JoinOptions(jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true))

// decodeBody decodes a JSON envelope from resp into v, reading at most limit
// bytes and charging c (nil: nothing) for what decoding allocates, and
// explains every way the body can be unusable. The body streams through:
// no string longer than maxJSONString, and no run of whitespace, is held,
// whatever was sent. It must end with the JSON value: bytes after it, or a
// body shorter than its Content-Length, fail the call however complete
// the JSON looks.
func decodeBody(resp *http.Response, v any, limit int64, c *inflightBody, opts ...func(*bufio.Reader, charger) *json.Unmarshalers) error {
	lr := &limitedReader{r: resp.Body, left: limit, limit: limit}
	pads := &padFilter{r: lr, max: maxJSONString}
	br := bufio.NewReaderSize(pads, 64<<10)
	first, err := firstNonSpace(br)
	switch {
	case errors.Is(err, io.EOF):
		return errors.New("response body is empty")
	case err != nil:
		return readError(err)
	case first != '{':
		return notJSON(resp.Header.Get("Content-Type"), br)
	}
	dec := jsontext.NewDecoder(br, decodeOptions)
	more := make([]*json.Unmarshalers, len(opts))
	for i, o := range opts {
		more[i] = o(br, c)
	}
	err = json.UnmarshalDecode(dec, v, chargedSlices(c, more...))
	if err == nil {
		err = atEnd(dec)
	}
	switch {
	case err == nil:
		return nil
	case lr.err != nil:
		// The body could not be read to the end: too large, or the
		// connection failed. That, not the JSON it cut short, is the cause.
		return readError(lr.err)
	case pads.err != nil:
		return pads.err
	case c != nil && c.err != nil:
		return c.err
	case errors.Is(err, errTrailing):
		return err
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("response body is truncated JSON")
	}
	// The decoder's error may quote a member name: keep it short.
	return fmt.Errorf("response body is malformed JSON: %s", bound(err.Error()))
}

var errTrailing = errors.New("response body holds more after its JSON value")

// atEnd reads what follows the JSON value: nothing but whitespace, up to
// the end of the body.
func atEnd(dec *jsontext.Decoder) error {
	if dec.PeekKind() != 0 {
		return errTrailing
	}
	switch _, err := dec.ReadToken(); {
	case err == io.EOF:
		return nil
	case errors.As(err, new(*jsontext.SyntacticError)):
		return errTrailing
	default:
		return err
	}
}

func firstNonSpace(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		switch b {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return b, br.UnreadByte()
	}
}

// overLimit reports whether a decode failed on a bound of memory: the
// answer's size, the memory it takes, or the answers in flight.
func overLimit(err error) bool {
	var tooLarge errTooLarge
	var decoded errDecodedTooLarge
	var inflight *InflightError
	return errors.As(err, &tooLarge) || errors.As(err, &decoded) || errors.As(err, &inflight)
}

func readError(err error) error {
	if overLimit(err) {
		return err
	}
	return &readErr{err}
}

// readErr is a body the network cut short.
type readErr struct{ err error }

func (e *readErr) Error() string { return "read response body: " + e.err.Error() }
func (e *readErr) Unwrap() error { return e.err }

var htmlTitle = regexp.MustCompile(`(?is)<title[^>]*>\s*(.*?)\s*</title>`)

// notJSON describes a body that is not JSON, such as the HTML error page of
// a proxy. Only the page's title is quoted, never the body itself.
func notJSON(contentType string, br *bufio.Reader) error {
	head, _ := br.Peek(8 << 10)
	desc := fmt.Sprintf("response body is not JSON (Content-Type %q", contentType)
	if m := htmlTitle.FindSubmatch(head); m != nil {
		title := strings.Join(strings.Fields(string(m[1])), " ")
		if len(title) > 120 {
			title = title[:120] + "..."
		}
		desc += fmt.Sprintf(", HTML title %q", title)
	}
	return errors.New(desc + ")")
}

// limitedReader returns errTooLarge once more than limit bytes are read,
// and remembers the first error other than io.EOF its reader returned.
type limitedReader struct {
	r           io.Reader
	left, limit int64
	err         error
}

func (l *limitedReader) Read(p []byte) (n int, err error) {
	defer func() {
		if err != nil && err != io.EOF && l.err == nil {
			l.err = err
		}
	}()
	if l.left <= 0 {
		var probe [1]byte
		n, err := l.r.Read(probe[:])
		// With MaxInflightBytes equal to MaxResponseBytes, an answer at
		// its limit holds the whole in-flight bound, and the probe is
		// refused for that: the answer is too large all the same.
		var inflight *InflightError
		if n > 0 || errors.As(err, &inflight) && inflight.whole {
			return 0, errTooLarge{limit: l.limit}
		}
		return 0, err
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err = l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// redactMessages removes credential text from messages the server sent. A
// well-behaved API never echoes a credential; a misconfigured proxy might.
func (c *Client) redactMessages(msgs []Message) []Message {
	if len(msgs) == 0 {
		return nil
	}
	out := make([]Message, len(msgs))
	for i, m := range msgs {
		out[i] = Message{Code: m.Code, Message: c.redact(m.Message)}
	}
	return out
}

func (c *Client) redactErr(err error) error {
	if err == nil {
		return nil
	}
	if s := err.Error(); c.redact(s) != s {
		return errors.New(c.redact(s))
	}
	return err
}

func (c *Client) redact(s string) string {
	for _, secret := range c.auth.secrets() {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "[REDACTED]")
			s = redactCutSecret(s, secret)
		}
	}
	return s
}

// redactCutSecret redacts the start of a secret left where a text was cut
// short ("...", as bound and the HTML title cut), which the whole secret
// does not match. The cut text may be followed by more, as a quoted title
// is by its closing quote, so every "..." is looked at, not only a last one.
func redactCutSecret(s, secret string) string {
	if !strings.Contains(s, "...") {
		return s
	}
	var b strings.Builder
	for {
		body, rest, cut := strings.Cut(s, "...")
		if !cut {
			b.WriteString(s)
			return b.String()
		}
		for n := len(secret) - 1; n >= minSecretPrefix; n-- {
			if strings.HasSuffix(body, secret[:n]) {
				body = body[:len(body)-n] + "[REDACTED]"
				break
			}
		}
		b.WriteString(body)
		b.WriteString("...")
		s = rest
	}
}

// minSecretPrefix is the shortest start of a secret redactCutSecret
// removes: shorter ones are as likely to be ordinary text.
const minSecretPrefix = 4
