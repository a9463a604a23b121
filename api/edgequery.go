package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// MaxEdgeRows is the most rows Cloudflare answers per dataset of a query
// (the limit argument's maximum), and the limit QueryEdge asks for.
const MaxEdgeRows = 10000

// EdgeBucket is the width of the time buckets the edge datasets are read in
// (their datetimeFiveMinutes dimension).
const EdgeBucket = 5 * time.Minute

// EdgeLookback is how far back EdgeWindow reaches when no newer bucket is
// known: the data lags real time by a few minutes, so the newest complete
// bucket is within it.
const EdgeLookback = 15 * time.Minute

// EdgeWindow returns the window [start, end) to ask for, given the newest
// bucket already held (zero when none) and now: from the newest bucket held,
// which may have grown since, or EdgeLookback ago if that is later, to the
// end of the bucket holding now; both on EdgeBucket boundaries. Asking from
// the newest bucket held, not for the same hour on every refresh, keeps the
// answer small. When one query holds several datasets, newest is the oldest
// of their newest buckets, so that none misses a bucket.
func EdgeWindow(newest, now time.Time) (start, end time.Time) {
	now = now.UTC()
	start = now.Add(-EdgeLookback)
	if newest = newest.UTC(); newest.After(start) {
		start = newest
		if start.After(now) {
			start = now
		}
	}
	return start.Truncate(EdgeBucket), now.Truncate(EdgeBucket).Add(EdgeBucket)
}

// EdgeQuery says what QueryEdge asks for.
type EdgeQuery struct {
	// Start and End are the window [Start, End), as from EdgeWindow.
	Start, End time.Time
	// Datasets names the datasets to ask for (DatasetTunnelHealth, ...);
	// empty means every declared dataset.
	Datasets []string
	// Limit is the most rows asked per dataset; 0 means MaxEdgeRows.
	Limit int
}

// EdgeQueryDocument returns the GraphQL query QueryEdge sends for the named
// datasets (every declared one when none is named): one query, each dataset
// under its alias, with the variables $accountTag (string!), $start and $end
// (Time!) and limit rows per dataset, newest first.
func EdgeQueryDocument(limit int, datasets ...string) (string, error) {
	decls, err := selectDatasets(datasets)
	if err != nil {
		return "", err
	}
	return queryDocument(decls, limit), nil
}

func selectDatasets(names []string) ([]edgeDataset, error) {
	if len(names) == 0 {
		return slices.Clone(edgeDatasets), nil
	}
	var out []edgeDataset
	for _, d := range edgeDatasets {
		if slices.Contains(names, d.alias()) {
			out = append(out, d)
		}
	}
	for _, n := range names {
		if findDataset(n) == nil {
			return nil, fmt.Errorf("no edge dataset %q", n)
		}
	}
	return out, nil
}

func queryDocument(decls []edgeDataset, limit int) string {
	if limit <= 0 {
		limit = MaxEdgeRows
	}
	var b strings.Builder
	b.WriteString("query EdgeView($accountTag: string!, $start: Time!, $end: Time!) {\n")
	b.WriteString("  viewer {\n    accounts(filter: {accountTag: $accountTag}) {\n")
	for _, d := range decls {
		fmt.Fprintf(&b, "      %s: %s(limit: %d, filter: {datetime_geq: $start, datetime_lt: $end}, orderBy: [%s_DESC]) {\n        %s\n      }\n",
			d.alias(), d.graphQLName(), limit, d.timeDimension(), d.selection())
	}
	b.WriteString("    }\n  }\n}\n")
	return b.String()
}

// QueryEdge asks the GraphQL Analytics API, in one query, for the account's
// datasets over the window, and returns each dataset's typed rows and
// status.
//
// The error is an *Error when the call failed as a whole, as a REST call
// does: no response, HTTP 401/403/429/5xx (429 pauses GraphQL queries as
// GraphQLBackoffRemaining says), a body cut short or unreadable. Otherwise
// it is nil, and what the server said about each dataset under HTTP 200 is
// that dataset's DatasetStatus.Err: an error whose path names the dataset's
// alias, or whose message names the dataset or one of its own fields,
// concerns that dataset; any other concerns them all. Data null fails every
// dataset. A dataset the server refused never takes the others down: when
// the server rejects the whole query for some datasets only (an unknown
// field: data null, each error naming a dataset), QueryEdge asks once more
// without them. A quota error that leaves no data pauses GraphQL queries as
// a 429 does.
func (c *Client) QueryEdge(ctx context.Context, accountID string, q EdgeQuery) (*EdgeResult, error) {
	decls, err := selectDatasets(q.Datasets)
	if err != nil {
		return nil, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = MaxEdgeRows
	}
	res := &EdgeResult{Start: q.Start, End: q.End}
	for _, d := range decls {
		st := d.status(res)
		st.Dataset, st.Queried = d.alias(), true
	}
	for _, d := range edgeDatasets {
		d.status(res).Dataset = d.alias()
	}
	for len(decls) > 0 {
		res.Requests++
		resp, header, err := c.edgeCall(ctx, accountID, decls, limit, q.Start, q.End, res)
		if err != nil {
			return nil, err
		}
		rejected := resp.settle(res)
		if resp.allQuota() {
			c.quotaPause(header)
		}
		if len(rejected) == 0 || len(rejected) == len(decls) || res.Requests > 1 {
			break
		}
		decls = slices.DeleteFunc(decls, func(d edgeDataset) bool { return slices.Contains(rejected, d) })
	}
	return res, nil
}

func (c *Client) edgeCall(ctx context.Context, accountID string, decls []edgeDataset, limit int, start, end time.Time, res *EdgeResult) (*edgeResponse, http.Header, error) {
	body, err := json.Marshal(graphQLRequest{
		Query: queryDocument(decls, limit),
		Variables: map[string]any{
			"accountTag": accountID,
			"start":      start.UTC().Format(time.RFC3339),
			"end":        end.UTC().Format(time.RFC3339),
		},
	})
	if err != nil {
		return nil, nil, err
	}
	req := request{
		endpoint: EndpointGraphQL,
		method:   http.MethodPost,
		path:     graphQLPath,
		op:       "POST " + graphQLPath + " (account " + accountID + ")",
		body:     body,
		budget:   budgetGraphQL,
	}
	return call(ctx, c, req, func() *edgeResponse {
		// A retried request starts afresh: what an attempt cut short had
		// read must not add to the next one's rows and counts.
		for _, d := range decls {
			d.reset(res)
		}
		return &edgeResponse{decls: decls, limit: limit, res: res, client: c}
	})
}

// edgeResponse decodes an answer straight into the result: each dataset's
// rows are read as they stream in, and one dataset's unreadable rows are
// that dataset's error only.
type edgeResponse struct {
	decls  []edgeDataset
	limit  int
	res    *EdgeResult
	client *Client

	errors      []gqlError
	moreErrors  int
	hasData     bool // data was an object, not null or absent
	hasAccount  bool
	seen        []edgeDataset
	nullData    []edgeDataset // datasets answered null
	decodeError map[edgeDataset]error
}

func (r *edgeResponse) messages() ([]Message, int) {
	n := min(len(r.errors), maxErrorMessages)
	out := make([]Message, n)
	for i := range out {
		out[i] = r.errors[i].message()
	}
	return out, len(r.errors) - n + r.moreErrors
}

func (r *edgeResponse) check() error { return nil }

// UnmarshalJSONFrom reads {"data": ..., "errors": [...]}.
func (r *edgeResponse) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	return readObject(dec, func(name string) error {
		switch name {
		case "errors":
			return r.readErrors(dec)
		case "data":
			return r.readData(dec)
		}
		return dec.SkipValue()
	})
}

// readObject reads a JSON object, calling member for each name with the
// decoder before its value, which member must consume. null is an empty
// object.
func readObject(dec *jsontext.Decoder, member func(name string) error) error {
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	switch tok.Kind() {
	case 'n':
		return nil
	case '{':
	default:
		return fmt.Errorf("%s where an object belongs, at %s", tok.Kind(), dec.StackPointer())
	}
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		if err := member(tok.String()); err != nil {
			return err
		}
	}
	_, err = dec.ReadToken()
	return err
}

func (r *edgeResponse) readErrors(dec *jsontext.Decoder) error {
	if dec.PeekKind() != '[' {
		return dec.SkipValue()
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	for dec.PeekKind() != ']' {
		if len(r.errors) == maxGraphQLErrors {
			r.moreErrors++
			if err := dec.SkipValue(); err != nil {
				return err
			}
			continue
		}
		var e gqlError
		raw, err := dec.ReadValue()
		if err != nil {
			return err
		}
		if json.Unmarshal(raw, &e, decodeOptions) != nil {
			e = gqlError{Message: boundedString(bound(string(raw)))}
		}
		e.Message = boundedString(r.client.redact(string(e.Message)))
		e.Extensions.Code = boundedString(r.client.redact(string(e.Extensions.Code)))
		r.errors = append(r.errors, e)
	}
	_, err := dec.ReadToken()
	return err
}

func (r *edgeResponse) readData(dec *jsontext.Decoder) error {
	if dec.PeekKind() != '{' {
		return dec.SkipValue()
	}
	r.hasData = true
	return readObject(dec, func(name string) error {
		if name != "viewer" {
			return dec.SkipValue()
		}
		return readObject(dec, func(name string) error {
			if name != "accounts" || dec.PeekKind() != '[' {
				return dec.SkipValue()
			}
			if _, err := dec.ReadToken(); err != nil {
				return err
			}
			for dec.PeekKind() != ']' {
				if r.hasAccount || dec.PeekKind() != '{' {
					if err := dec.SkipValue(); err != nil {
						return err
					}
					continue
				}
				r.hasAccount = true
				if err := readObject(dec, r.readDataset(dec)); err != nil {
					return err
				}
			}
			_, err := dec.ReadToken()
			return err
		})
	})
}

func (r *edgeResponse) readDataset(dec *jsontext.Decoder) func(string) error {
	return func(alias string) error {
		i := slices.IndexFunc(r.decls, func(d edgeDataset) bool { return d.alias() == alias })
		if i < 0 {
			return dec.SkipValue()
		}
		d := r.decls[i]
		r.seen = append(r.seen, d)
		raw, err := dec.ReadValue()
		if err != nil {
			return err
		}
		if raw.Kind() == 'n' {
			r.nullData = append(r.nullData, d)
			return nil
		}
		if err := d.decode(raw, r.limit, r.res); err != nil {
			if r.decodeError == nil {
				r.decodeError = map[edgeDataset]error{}
			}
			r.decodeError[d] = err
		}
		return nil
	}
}

func unmarshalRows(raw []byte, v any) error {
	return json.Unmarshal(raw, v, decodeOptions)
}

// settle turns the answer's errors and gaps into each dataset's Err. It
// returns the datasets the server rejected the whole query for, when it
// rejected it for some datasets only.
func (r *edgeResponse) settle(res *EdgeResult) (rejected []edgeDataset) {
	errs := map[edgeDataset][]*gqlError{}
	var general []*gqlError
	for i := range r.errors {
		e := &r.errors[i]
		concerned := r.concerns(e)
		if concerned == nil {
			general = append(general, e)
			for _, d := range r.decls {
				errs[d] = append(errs[d], e)
			}
			continue
		}
		for _, d := range concerned {
			errs[d] = append(errs[d], e)
		}
	}
	for _, d := range r.decls {
		st := d.status(res)
		st.Err = nil
		switch es := errs[d]; {
		case len(es) > 0:
			st.Err = datasetError(d.alias(), es, r.moreErrors)
		case !r.hasData:
			st.Err = &DatasetError{Dataset: d.alias(), Code: "no_data", Message: "the answer's data is null, with no error saying why"}
			if len(r.errors) == 0 {
				st.Err.Message = errNoGraphQLData.Error()
			}
		case !r.hasAccount:
			st.Err = &DatasetError{Dataset: d.alias(), Code: "no_account", Permission: true,
				Message: "the answer holds no account: the credential may not see it"}
		case r.decodeError[d] != nil:
			st.Err = &DatasetError{Dataset: d.alias(), Code: "decode",
				Message: r.client.redact(bound("rows unreadable: " + r.decodeError[d].Error()))}
		case slices.Contains(r.nullData, d):
			st.Err = &DatasetError{Dataset: d.alias(), Code: "no_data", Message: "the dataset's rows are null, with no error saying why"}
		case !slices.Contains(r.seen, d):
			st.Err = &DatasetError{Dataset: d.alias(), Code: "missing", Message: "the answer does not hold the dataset"}
		}
	}
	// The server rejected the whole query, and only for some datasets:
	// those can be left out of a second try.
	if !r.hasData && len(general) == 0 && len(r.errors) > 0 {
		for _, d := range r.decls {
			if len(errs[d]) > 0 {
				rejected = append(rejected, d)
			}
		}
	}
	return rejected
}

// allQuota reports whether the answer holds no data and only quota errors.
func (r *edgeResponse) allQuota() bool {
	if r.hasData || len(r.errors) == 0 {
		return false
	}
	for i := range r.errors {
		if _, quota, _ := r.errors[i].kind(); !quota {
			return false
		}
	}
	return true
}

// concerns returns the datasets an error is about, nil for all: the
// dataset whose alias is in the error's path; else those whose GraphQL name
// the message holds; else those that ask for a field the message quotes, if
// not all do.
func (r *edgeResponse) concerns(e *gqlError) []edgeDataset {
	for _, p := range e.Path {
		for _, d := range r.decls {
			if string(p) == d.alias() {
				return []edgeDataset{d}
			}
		}
	}
	// A validator's suggestions ("Did you mean ...?") name other fields.
	full, _, _ := strings.Cut(string(e.Message), "Did you mean")
	msg := strings.ToLower(full)
	var named []edgeDataset
	for _, d := range r.decls {
		if strings.Contains(msg, strings.ToLower(d.graphQLName())) || containsWord(msg, d.alias()) {
			named = append(named, d)
		}
	}
	if len(named) > 0 {
		return named
	}
	for _, field := range quoted(full) {
		var have []edgeDataset
		for _, d := range r.decls {
			if slices.Contains(d.fields(), field) {
				have = append(have, d)
			}
		}
		if len(have) > 0 && len(have) < len(r.decls) {
			return have
		}
	}
	return nil
}

// containsWord reports whether s holds word not as part of a longer name.
func containsWord(s, word string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], word)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(word)
		if (j == 0 || !isNameByte(s[j-1])) && (end == len(s) || !isNameByte(s[end])) {
			return true
		}
		i = j + 1
	}
}

func isNameByte(b byte) bool {
	return b == '_' || '0' <= b && b <= '9' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z'
}

// quoted returns the strings a message quotes in double quotes.
func quoted(msg string) []string {
	var out []string
	for {
		i := strings.IndexByte(msg, '"')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(msg[i+1:], '"')
		if j < 0 {
			return out
		}
		out = append(out, msg[i+1:i+1+j])
		msg = msg[i+2+j:]
	}
}

func datasetError(dataset string, es []*gqlError, more int) *DatasetError {
	e := es[0]
	de := &DatasetError{
		Dataset: dataset,
		Code:    string(e.Extensions.Code),
		Message: string(e.Message),
		More:    len(es) - 1 + more,
	}
	for _, e := range es {
		p, q, s := e.kind()
		de.Permission = de.Permission || p
		de.Quota = de.Quota || q
		de.Schema = de.Schema || s
	}
	if de.Message == "" {
		de.Message = "error without a message"
	}
	return de
}

// IsPermission reports whether err is, or wraps, a *DatasetError for a
// missing permission.
func IsPermission(err error) bool {
	var de *DatasetError
	return errors.As(err, &de) && de.Permission
}
