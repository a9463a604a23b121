package api

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// The GraphQL Analytics API (POST {base}/graphql) shares the REST client's
// transport, credential, retry of transient failures, response size limit,
// Observe hook and *Error for every failure at the HTTP level: no response,
// 401, 403, 429, 5xx, a body cut short or unreadable. It has its own rate
// limit (300 queries per 5 minutes), so a 429 pauses GraphQL queries only.
//
// What is particular to GraphQL is that errors arrive under HTTP 200, with
// data null or partly filled; those become a *DatasetError on each dataset
// they concern (see QueryEdge).

// EndpointGraphQL names the GraphQL Analytics API in errors, RequestInfo and
// metric labels.
const EndpointGraphQL = "graphql"

// graphQLPath is the GraphQL endpoint under the base URL.
const graphQLPath = "/graphql"

// maxMessageBytes bounds every text taken from a GraphQL error: a hostile
// or broken server can send megabytes of it.
const maxMessageBytes = 300

// maxGraphQLErrors bounds how many errors of one answer are read; the rest
// are counted and skipped.
const maxGraphQLErrors = 100

// PermissionAnalyticsRead is the permission a token needs, on top of Magic
// WAN Read, to query the GraphQL Analytics API.
const PermissionAnalyticsRead = "Account Analytics: Read"

// DatasetError is a GraphQL error (HTTP 200) that concerns one dataset of a
// query: the server refused the dataset, could not answer it, or did not
// know one of its fields. Its text is bounded and holds no credential.
type DatasetError struct {
	// Dataset is the dataset's name, such as DatasetTunnelHealth.
	Dataset string
	// Code is the error's extensions.code, such as "authz", or a code of
	// this package's: "no_data" (data null without a word why), "missing"
	// (the answer does not hold the dataset), "no_account" (the answer
	// holds no account), "decode" (the rows could not be read).
	Code string
	// Message is the server's message, cut to a few hundred bytes.
	Message string
	// Permission is true when the credential may not read the dataset:
	// the token lacks PermissionAnalyticsRead.
	Permission bool
	// Quota is true when the query was refused for Cloudflare's GraphQL
	// quota or rate limit.
	Quota bool
	// Schema is true when the server did not know the dataset or one of its
	// fields: a renamed or misspelled field, fixed in its declaration.
	Schema bool
	// More is how many further errors concerned the dataset.
	More int
}

func (e *DatasetError) Error() string {
	var b strings.Builder
	b.WriteString("dataset ")
	b.WriteString(e.Dataset)
	b.WriteString(": ")
	if e.Code != "" {
		b.WriteString(e.Code)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	if e.Permission && !strings.Contains(e.Message, PermissionAnalyticsRead) {
		b.WriteString(" (the token needs the " + PermissionAnalyticsRead + " permission)")
	}
	if e.More > 0 {
		fmt.Fprintf(&b, " (and %d more errors)", e.More)
	}
	return b.String()
}

// gqlError is one entry of a GraphQL errors array. Code is read too, as a
// REST envelope's errors carry one, which an HTTP-level refusal may send.
type gqlError struct {
	Message    boundedString   `json:"message"`
	Code       number          `json:"code"`
	Path       []boundedString `json:"path"`
	Extensions struct {
		Code boundedString `json:"code"`
	} `json:"extensions"`
}

// kind classifies an error as the DatasetError flags do.
func (e *gqlError) kind() (permission, quota, schema bool) {
	code := strings.ToLower(string(e.Extensions.Code))
	msg := strings.ToLower(string(e.Message))
	has := func(s string, subs ...string) bool {
		for _, sub := range subs {
			if strings.Contains(s, sub) {
				return true
			}
		}
		return false
	}
	permission = has(code, "authz", "unauthori", "forbidden", "permission", "access") ||
		has(msg, "permission", "not authorized", "unauthorized", "access denied", "not allowed to access")
	quota = has(code, "quota", "budget", "ratelimit", "rate_limit", "too_many") ||
		has(msg, "quota", "rate limit", "ratelimit", "budget", "too many")
	schema = has(code, "validation", "parse_failed", "unknown_field") ||
		has(msg, "cannot query field", "unknown field", "unknown argument", "unknown type", "unknown dataset")
	return
}

// message is the error as a REST Message, for an *Error.
func (e *gqlError) message() Message {
	m := string(e.Message)
	if e.Extensions.Code != "" {
		m = string(e.Extensions.Code) + ": " + m
	}
	return Message{Code: e.Code.code(), Message: m}
}

// boundedString is a JSON string cut to maxMessageBytes; any other JSON
// value is kept as its text, cut the same way.
type boundedString string

func (s *boundedString) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	*s = boundedString(bound(jsonText(v)))
	return nil
}

// jsonText is a JSON string's content, "" for null, or else the value's
// JSON text.
func jsonText(v jsontext.Value) string {
	switch v.Kind() {
	case '"':
		if len(v) > 4*maxMessageBytes+2 {
			// Unquote no more than will be kept.
			v = v[:4*maxMessageBytes]
			return strings.TrimPrefix(string(v), `"`)
		}
		b, err := jsontext.AppendUnquote(nil, v)
		if err != nil {
			return string(v)
		}
		return string(b)
	case 'n':
		return ""
	}
	return string(v)
}

// bound cuts s to at most maxMessageBytes, at a rune boundary, and makes it
// valid UTF-8.
func bound(s string) string {
	if len(s) > maxMessageBytes {
		cut := maxMessageBytes
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// number is a JSON number read leniently: null, a string ("NaN", "12"),
// any other value and a number out of float64's range are kept as unusable
// rather than failing the whole answer.
type number struct {
	v     float64
	state numberState
}

type numberState uint8

const (
	numberAbsent numberState = iota
	numberOK
	numberBad
)

func (n number) ok() bool { return n.state == numberOK }

// code is n as an error code: 0 unless a number from 0 to 1e9.
func (n number) code() int {
	if n.ok() && n.v >= 0 && n.v < 1e9 {
		return int(n.v)
	}
	return 0
}

func (n *number) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	n.state = numberBad
	v, err := scalar(dec)
	if err != nil || v == nil {
		return err
	}
	if v.Kind() == '0' {
		f, err := strconv.ParseFloat(string(v), 64)
		if err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			n.v, n.state = f, numberOK
		}
	}
	return nil
}

// scalar reads a value that should be a string, number, boolean or null;
// an object or array, which no row field is, is skipped token by token
// rather than held, and read as nil.
func scalar(dec *jsontext.Decoder) (jsontext.Value, error) {
	if k := dec.PeekKind(); k == '[' || k == '{' {
		return nil, dec.SkipValue()
	}
	return dec.ReadValue()
}

// text is a dimension's value: a JSON string, "" for null, or the text of
// any other value (a number, say), so that one odd value cannot fail a
// dataset.
type text string

func (t *text) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	*t = ""
	v, err := scalar(dec)
	if err != nil || v == nil {
		return err
	}
	switch v.Kind() {
	case '"':
		b, err := jsontext.AppendUnquote(nil, v)
		if err != nil {
			return err
		}
		*t = text(strings.ToValidUTF8(string(b), "\uFFFD"))
	case 'n':
		*t = ""
	default:
		*t = text(v)
	}
	return nil
}

// bucket is a time dimension such as datetimeFiveMinutes: an RFC 3339
// timestamp, the start of the bucket. Anything else leaves it zero.
type bucket struct{ t time.Time }

func (b *bucket) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	b.t = time.Time{}
	v, err := scalar(dec)
	if err != nil || v == nil {
		return err
	}
	if v.Kind() == '"' {
		var s string
		if json.Unmarshal(v, &s) == nil {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				b.t = t.UTC()
			}
		}
	}
	return nil
}

// graphQLRequest is the body of a GraphQL query.
type graphQLRequest struct {
	Query     string         `json:"query"`
	Variables map[string]any `json:"variables"`
}

// quotaPause is how long to pause GraphQL queries after a quota error under
// HTTP 200: the Retry-After header if the answer had one, else the
// Ratelimit header's reset when it said nothing remains, else
// DefaultRetryAfter.
func (c *Client) quotaPause(h http.Header) time.Duration {
	if h.Get("Retry-After") != "" {
		return c.backOff(budgetGraphQL, h.Get("Retry-After"))
	}
	if rl := ParseRateLimit(h); rl.HasRemaining && rl.Remaining == 0 && rl.Reset > 0 {
		return c.backOff(budgetGraphQL, strconv.Itoa(int((rl.Reset+time.Second-1)/time.Second)))
	}
	return c.backOff(budgetGraphQL, "")
}

var errNoGraphQLData = errors.New("answer holds neither data nor errors")
