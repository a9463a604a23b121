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
	// Schema is what DiscoverEdge found of the account: a dataset is asked
	// only when Askable, with only the fields the account has, its limit
	// and window within what the account allows. Required.
	Schema *EdgeSchema
	// Datasets names the datasets to ask for (DatasetTunnelHealth, ...);
	// empty means every askable one.
	Datasets []string
	// Newest is, per dataset, the newest bucket already held (missing or
	// zero when none): its window starts there (DatasetSchema.Window).
	Newest map[string]time.Time
	// Now is when the windows end: at the end of its bucket.
	Now time.Time
}

// planned is one dataset of a query, as it is asked.
type planned struct {
	d          edgeDataset
	start, end time.Time
	limit      int
	// asked are the GraphQL fields asked, as paths; sel the selection.
	asked []string
	sel   string
}

// plan lays out the datasets q asks for, and notes each one's status in
// res.
func plan(q EdgeQuery, res *EdgeResult) ([]*planned, error) {
	if q.Schema == nil {
		return nil, errNoSchema
	}
	for _, n := range q.Datasets {
		if findDataset(n) == nil {
			return nil, fmt.Errorf("no edge dataset %q", n)
		}
	}
	var out []*planned
	for _, d := range edgeDatasets {
		st := d.status(res)
		st.Dataset = d.alias()
		if len(q.Datasets) > 0 && !slices.Contains(q.Datasets, d.alias()) {
			continue
		}
		ds := q.Schema.Dataset(d.alias())
		if ok, _ := ds.Askable(); !ok {
			continue
		}
		p := &planned{d: d, limit: ds.Limit()}
		p.start, p.end = ds.Window(q.Newest[d.alias()], q.Now)
		p.sel, p.asked = selection(d, ds)
		st.Queried, st.Start, st.End, st.Limit = true, p.start, p.end, p.limit
		out = append(out, p)
	}
	return out, nil
}

// selection is the GraphQL selection of a dataset's fields the account
// has, each under its key as an alias where the name differs, and the
// paths asked. Past the account's maxNumberOfFields, the optional fields
// declared last are left out.
func selection(d edgeDataset, ds *DatasetSchema) (string, []string) {
	choices := ds.Choices()
	fields := d.fields()
	keep := make([]bool, len(fields))
	n := 0
	for i := range fields {
		if keep[i] = choices[i].Chosen != ""; keep[i] {
			n++
		}
	}
	for i := len(fields) - 1; ds.MaxFields > 0 && n > ds.MaxFields && i >= 0; i-- {
		if keep[i] && !fields[i].required {
			keep[i] = false
			n--
		}
	}
	var b strings.Builder
	var asked []string
	group := ""
	for i, f := range fields {
		if !keep[i] {
			continue
		}
		if f.group != group {
			if group != "" {
				b.WriteString(" }")
			}
			if f.group != "" {
				b.WriteString(" " + f.group + " {")
			}
			group = f.group
		}
		chosen := choices[i].Chosen
		asked = append(asked, chosen)
		name := chosen[strings.LastIndexByte(chosen, '.')+1:]
		if name != f.key {
			b.WriteString(" " + f.key + ":")
		}
		b.WriteString(" " + name)
	}
	if group != "" {
		b.WriteString(" }")
	}
	return strings.TrimSpace(b.String()), asked
}

// EdgeQueryDocument returns the GraphQL query QueryEdge sends for q: one
// query, each dataset under its alias, with the variables $accountTag
// (string!), $end and one $<dataset>_start (Time!).
func EdgeQueryDocument(q EdgeQuery) (string, error) {
	plans, err := plan(q, &EdgeResult{})
	if err != nil {
		return "", err
	}
	return queryDocument(plans), nil
}

func queryDocument(plans []*planned) string {
	var b strings.Builder
	b.WriteString("query EdgeView($accountTag: string!, $end: Time!")
	for _, p := range plans {
		fmt.Fprintf(&b, ", $%s_start: Time!", p.d.alias())
	}
	b.WriteString(") {\n  viewer {\n    accounts(filter: {accountTag: $accountTag}) {\n")
	for _, p := range plans {
		fmt.Fprintf(&b, "      %s: %s(limit: %d, filter: {datetime_geq: $%s_start, datetime_lt: $end}, orderBy: [%s_DESC]) {\n        %s\n      }\n",
			p.d.alias(), p.d.graphQLName(), p.limit, p.d.alias(), p.d.timeDimension(), p.sel)
	}
	b.WriteString("    }\n  }\n}\n")
	return b.String()
}

func queryVariables(accountID string, plans []*planned) map[string]any {
	vars := map[string]any{"accountTag": accountID}
	for _, p := range plans {
		vars["end"] = p.end.UTC().Format(time.RFC3339)
		vars[p.d.alias()+"_start"] = p.start.UTC().Format(time.RFC3339)
	}
	return vars
}

// QueryEdge asks the GraphQL Analytics API, in one query, for the account's
// datasets, as q.Schema says the account has them, and returns each
// dataset's typed rows and status.
//
// The error is an *Error when the call failed as a whole, as a REST call
// does: no response, HTTP 401/403/429/5xx (429 pauses GraphQL queries as
// GraphQLBackoffRemaining says), a body cut short or unreadable. Otherwise
// it is nil, and what the server said about each dataset under HTTP 200 is
// that dataset's DatasetStatus.Err: an error whose path names the dataset's
// alias, or whose message names the dataset or one of the fields asked of
// it, concerns that dataset; any other concerns them all. Data null fails
// every dataset. A field the schema offered but the server does not know
// is in Result.Unknown; when the server rejected the whole query for such
// fields, QueryEdge asks once more without them (if Config.AllowRetry
// allows one more request), so that the other datasets keep their rows. A
// quota error that leaves no data pauses GraphQL queries as a 429 does.
func (c *Client) QueryEdge(ctx context.Context, accountID string, q EdgeQuery) (*EdgeResult, error) {
	res := &EdgeResult{}
	plans, err := plan(q, res)
	if err != nil {
		return nil, err
	}
	schema := q.Schema
	for len(plans) > 0 {
		res.Requests++
		resp, header, err := c.edgeCall(ctx, accountID, plans, res)
		if err != nil {
			return nil, err
		}
		rejected, unknown := resp.settle(res)
		res.Unknown = sortRefs(append(res.Unknown, unknown...))
		if resp.allQuota() {
			c.quotaPause(header)
		}
		if len(rejected) == 0 || res.Requests > 1 || c.allowRetry != nil && !c.allowRetry(EndpointGraphQL) {
			break
		}
		// The whole query was rejected: ask again without the unknown
		// fields, and without the datasets rejected for a cause that
		// names no field of theirs.
		schema = schema.Without(unknown)
		retry := EdgeQuery{Schema: schema, Newest: q.Newest, Now: q.Now}
		for _, p := range plans {
			pinned := slices.ContainsFunc(unknown, func(r FieldRef) bool { return r.Dataset == p.d.alias() })
			if !slices.Contains(rejected, p.d) || pinned {
				retry.Datasets = append(retry.Datasets, p.d.alias())
			}
		}
		if len(retry.Datasets) == 0 {
			break
		}
		kept := map[edgeDataset]DatasetStatus{}
		for _, d := range edgeDatasets {
			kept[d] = *d.status(res)
		}
		if plans, err = plan(retry, res); err != nil {
			return nil, err
		}
		// Those not asked again keep what the first answer said of them.
		for _, d := range edgeDatasets {
			if !slices.ContainsFunc(plans, func(p *planned) bool { return p.d == d }) {
				*d.status(res) = kept[d]
			}
		}
	}
	return res, nil
}

func (c *Client) edgeCall(ctx context.Context, accountID string, plans []*planned, res *EdgeResult) (*edgeResponse, http.Header, error) {
	body, err := json.Marshal(graphQLRequest{Query: queryDocument(plans), Variables: queryVariables(accountID, plans)})
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
		for _, p := range plans {
			p.d.reset(res)
		}
		return &edgeResponse{plans: plans, res: res, client: c}
	})
}

// edgeResponse decodes an answer straight into the result: each dataset's
// rows are read as they stream in, and one dataset's unreadable rows are
// that dataset's error only.
type edgeResponse struct {
	plans  []*planned
	res    *EdgeResult
	client *Client

	errors      gqlErrorList
	hasData     bool // data was an object, not null or absent
	hasAccount  bool
	seen        []edgeDataset
	nullData    []edgeDataset // datasets answered null
	decodeError map[edgeDataset]error
}

func (r *edgeResponse) messages() ([]Message, int) { return r.errors.messages() }

func (r *edgeResponse) check() error { return nil }

// UnmarshalJSONFrom reads {"data": ..., "errors": [...]}.
func (r *edgeResponse) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	return readObject(dec, func(name string) error {
		switch name {
		case "errors":
			if err := r.errors.UnmarshalJSONFrom(dec); err != nil {
				return err
			}
			for i := range r.errors.items {
				e := &r.errors.items[i]
				e.Message = boundedString(r.client.redact(string(e.Message)))
				e.Extensions.Code = boundedString(r.client.redact(string(e.Extensions.Code)))
			}
			return nil
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
		i := slices.IndexFunc(r.plans, func(p *planned) bool { return p.d.alias() == alias })
		if i < 0 || slices.Contains(r.seen, r.plans[i].d) {
			return dec.SkipValue()
		}
		d := r.plans[i].d
		r.seen = append(r.seen, d)
		switch dec.PeekKind() {
		case 'n':
			r.nullData = append(r.nullData, d)
			return dec.SkipValue()
		case '[':
			err := d.decode(dec, r.res)
			var semantic *json.SemanticError
			if err != nil && !errors.As(err, &semantic) {
				return err // the body itself is broken
			}
			r.setDecodeError(d, err)
			return nil
		}
		r.setDecodeError(d, fmt.Errorf("%s where the list of rows belongs", kindName(dec.PeekKind())))
		return dec.SkipValue()
	}
}

func (r *edgeResponse) setDecodeError(d edgeDataset, err error) {
	if err == nil {
		return
	}
	if r.decodeError == nil {
		r.decodeError = map[edgeDataset]error{}
	}
	r.decodeError[d] = err
}

// settle turns the answer's errors and gaps into each dataset's Err. It
// returns the datasets the server rejected the whole query for, when it
// rejected it for some datasets only, and the fields it said it does not
// know.
func (r *edgeResponse) settle(res *EdgeResult) (rejected []edgeDataset, unknown []FieldRef) {
	errs := map[edgeDataset][]*gqlError{}
	var general []*gqlError
	for i := range r.errors.items {
		e := &r.errors.items[i]
		unknown = append(unknown, unknownFields(e, r.plans)...)
		concerned := r.concerns(e)
		if concerned == nil {
			general = append(general, e)
			for _, p := range r.plans {
				errs[p.d] = append(errs[p.d], e)
			}
			continue
		}
		for _, d := range concerned {
			errs[d] = append(errs[d], e)
		}
	}
	for _, p := range r.plans {
		d := p.d
		st := d.status(res)
		st.Err = nil
		switch es := errs[d]; {
		case len(es) > 0:
			st.Err = datasetError(d.alias(), es, r.errors.more)
		case !r.hasData:
			st.Err = &DatasetError{Dataset: d.alias(), Code: "no_data", Message: "the answer's data is null, with no error saying why"}
			if len(r.errors.items) == 0 {
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
	if !r.hasData && len(general) == 0 && len(r.errors.items) > 0 {
		for _, p := range r.plans {
			if len(errs[p.d]) > 0 {
				rejected = append(rejected, p.d)
			}
		}
	}
	return rejected, unknown
}

// allQuota reports whether the answer holds no data and only quota errors.
func (r *edgeResponse) allQuota() bool {
	if r.hasData || len(r.errors.items) == 0 {
		return false
	}
	for i := range r.errors.items {
		if _, quota, _ := r.errors.items[i].kind(); !quota {
			return false
		}
	}
	return true
}

// concerns returns the datasets an error is about, nil for all: the
// dataset whose alias is in the error's path; else those whose GraphQL name
// or type the message holds; else those asked for a field the message
// quotes, if not all are.
func (r *edgeResponse) concerns(e *gqlError) []edgeDataset {
	for _, p := range e.Path {
		for _, pl := range r.plans {
			if string(p) == pl.d.alias() {
				return []edgeDataset{pl.d}
			}
		}
	}
	// A validator's suggestions ("Did you mean ...?") name other fields.
	full, _, _ := strings.Cut(string(e.Message), "Did you mean")
	msg := strings.ToLower(full)
	var named []edgeDataset
	for _, p := range r.plans {
		if strings.Contains(msg, strings.ToLower(p.d.graphQLName())) || containsWord(msg, p.d.alias()) {
			named = append(named, p.d)
		}
	}
	if len(named) > 0 {
		return named
	}
	for _, field := range quoted(full) {
		var have []edgeDataset
		for _, p := range r.plans {
			if slices.ContainsFunc(p.asked, func(a string) bool { return a == field || strings.HasSuffix(a, "."+field) }) {
				have = append(have, p.d)
			}
		}
		if len(have) > 0 && len(have) < len(r.plans) {
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
