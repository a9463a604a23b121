package api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// The datasets and fields of the GraphQL Analytics API differ between
// accounts and over time (the HA fields exist since 2026; the thermal
// fields are spelt Celcius in the schema and Celsius in the docs), and one
// unknown field makes Cloudflare reject the whole query. So the exporter
// does not guess: DiscoverEdge asks the account what it has, through
// Cloudflare's own mechanisms, and the query is built from the answer.

// EndpointGraphQLDiscovery names DiscoverEdge's requests in errors,
// RequestInfo and metric labels: GraphQL requests, counted apart from the
// queries of data.
const EndpointGraphQLDiscovery = "graphql_discovery"

// IsGraphQL reports whether the endpoint is one of the GraphQL API's,
// which has its own rate limit.
func IsGraphQL(endpoint string) bool {
	return endpoint == EndpointGraphQL || endpoint == EndpointGraphQLDiscovery
}

// Where a dataset's fields were learnt.
const (
	FromSettings      = "settings"
	FromIntrospection = "introspection"
)

// EdgeSchema is what an account's GraphQL Analytics API offers the edge
// view: one DatasetSchema per declared dataset, in declaration order.
type EdgeSchema struct {
	Datasets []DatasetSchema
}

// DatasetSchema is one dataset as an account offers it.
type DatasetSchema struct {
	Dataset string
	// Source is where its fields were learnt: FromSettings (the settings
	// node's availableFields), FromIntrospection (its types), or "" when
	// the account's schema has no such dataset.
	Source string
	// Enabled is false when the settings node says the dataset is not
	// available to this requester, or the schema has no such dataset.
	Enabled bool
	// Fields are the GraphQL fields the account may ask of the dataset, as
	// paths: "count", "avg.tunnelState", "dimensions.tunnelName". Sorted.
	Fields []string
	// MaxPageSize is the most rows one query may ask (its limit);
	// MaxFields the most fields; NotOlderThan how far back a query may
	// reach; MaxDuration the widest window. Zero when the account did not
	// say (introspection does not tell).
	MaxPageSize, MaxFields    int
	NotOlderThan, MaxDuration time.Duration
}

// Dataset returns the named dataset's schema, nil when not declared.
func (s *EdgeSchema) Dataset(name string) *DatasetSchema {
	if s == nil {
		return nil
	}
	for i := range s.Datasets {
		if s.Datasets[i].Dataset == name {
			return &s.Datasets[i]
		}
	}
	return nil
}

// Has reports whether the account has the field, a path such as
// "max.currentCelcius".
func (s *DatasetSchema) Has(path string) bool {
	_, ok := slices.BinarySearch(s.Fields, path)
	return ok
}

// FieldChoice is one field a dataset is read for, and what the account
// has of it.
type FieldChoice struct {
	// Field is the field as the exporter reads it, a path such as
	// "max.currentCelsius".
	Field    string
	Required bool
	// Names are the GraphQL fields it can be read from, as paths, in order
	// of preference; Available says which of them the account has.
	Names     []string
	Available []bool
	// Chosen is the name asked for: the first one available, "" when none
	// is.
	Chosen string
}

// Choices returns what the account has of every field the dataset is read
// for, in declaration order; nil for an undeclared dataset.
func (s *DatasetSchema) Choices() []FieldChoice {
	d := findDataset(s.Dataset)
	if d == nil {
		return nil
	}
	fields := d.fields()
	out := make([]FieldChoice, len(fields))
	for i, f := range fields {
		c := FieldChoice{Field: f.path(), Required: f.required}
		for _, n := range f.names {
			p := joinPath(f.group, n)
			has := s.Has(p)
			c.Names, c.Available = append(c.Names, p), append(c.Available, has)
			if has && c.Chosen == "" {
				c.Chosen = p
			}
		}
		out[i] = c
	}
	return out
}

// Askable reports whether the dataset can be queried: it is enabled and
// the account has every field it cannot be read without. When not, why
// says why, for a person.
func (s *DatasetSchema) Askable() (ok bool, why string) {
	switch {
	case s == nil:
		return false, "the dataset is not in the schema discovered"
	case s.Source == "":
		return false, "the account's GraphQL schema has no dataset " + findDataset(s.Dataset).graphQLName()
	case !s.Enabled:
		return false, "the dataset is not enabled for this account (settings: enabled false)"
	}
	for _, c := range s.Choices() {
		if c.Required && c.Chosen == "" {
			return false, "the account's schema has no field " + strings.Join(c.Names, " nor ") + ", which the dataset cannot be read without"
		}
	}
	return true, ""
}

// Limit is the most rows to ask of the dataset: its maxPageSize, at most
// maxEdgePageSize, MaxEdgeRows when the account did not say.
func (s *DatasetSchema) Limit() int {
	if s.MaxPageSize <= 0 {
		return MaxEdgeRows
	}
	return min(s.MaxPageSize, maxEdgePageSize)
}

// maxEdgePageSize bounds the page size a settings node may set: the rows
// are held in memory until folded.
const maxEdgePageSize = 100_000

// Window returns the window [start, end) to ask the dataset for, as
// EdgeWindow does, narrowed to what the account allows: no further back
// than its notOlderThan, no wider than its maxDuration.
func (s *DatasetSchema) Window(newest, now time.Time) (start, end time.Time) {
	start, end = EdgeWindow(newest, now)
	ceil := func(t time.Time) time.Time {
		if c := t.Truncate(EdgeBucket); c.Before(t) {
			return c.Add(EdgeBucket)
		}
		return t
	}
	if s.NotOlderThan > 0 {
		// A bucket of margin for the server's clock.
		start = later(start, ceil(now.UTC().Add(-s.NotOlderThan+EdgeBucket)))
	}
	if s.MaxDuration > 0 {
		start = later(start, ceil(end.Add(-s.MaxDuration)))
	}
	// At least the bucket holding now, whatever the account says.
	return earlier(start, end.Add(-EdgeBucket)), end
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// FieldRef names one GraphQL field of a dataset, as a path; with Field
// empty, the dataset itself.
type FieldRef struct{ Dataset, Field string }

// Without returns a copy of s without the fields refs names: fields the
// server said it does not know, whatever discovery found.
func (s *EdgeSchema) Without(refs []FieldRef) *EdgeSchema {
	out := &EdgeSchema{Datasets: slices.Clone(s.Datasets)}
	for _, r := range refs {
		d := out.Dataset(r.Dataset)
		switch {
		case d == nil:
		case r.Field == "":
			d.Source, d.Enabled, d.Fields = "", false, nil
		default:
			d.Fields = slices.DeleteFunc(slices.Clone(d.Fields), func(f string) bool { return f == r.Field })
		}
	}
	return out
}

// DiscoverEdge asks the account which datasets and fields its GraphQL
// Analytics API offers the edge view, in two requests: one that checks the
// credential may see the account and introspects the types of every
// declared dataset and of the settings node, then one that reads the
// settings node (per dataset: enabled, availableFields, maxPageSize,
// maxNumberOfFields, notOlderThan, maxDuration). A dataset the settings
// node does not cover, or whose availableFields it leaves empty, is known
// by introspection alone. Both requests count as EndpointGraphQLDiscovery;
// the second is made only when Config.AllowRetry allows one more request.
//
// The error is an *Error when a request failed as a whole, or wraps a
// *DatasetError (Dataset "schema") for what the server refused under HTTP
// 200: IsPermission tells a missing Account Analytics Read permission.
func (c *Client) DiscoverEdge(ctx context.Context, accountID string) (*EdgeSchema, error) {
	types, err := discoveryCall[typesAnswer](ctx, c, accountID, typesQuery())
	if err != nil {
		return nil, err
	}
	if len(types.Data.viewer.Accounts) == 0 {
		return nil, &DatasetError{Dataset: "schema", Code: "no_account", Permission: true,
			Message: "the answer holds no account: the credential may not see it"}
	}
	settings := map[string]*wireSettings{}
	if q := settingsQuery(types.Data); q != "" && (c.allowRetry == nil || c.allowRetry(EndpointGraphQLDiscovery)) {
		// A refused settings node leaves introspection: not a failure.
		if ans, err := discoveryCall[settingsAnswer](ctx, c, accountID, q); err == nil {
			for _, a := range ans.Data.Viewer.Accounts {
				settings = a.Settings
			}
		} else if ctx.Err() != nil {
			return nil, err
		}
	}
	s := &EdgeSchema{}
	for _, d := range edgeDatasets {
		s.Datasets = append(s.Datasets, datasetSchema(d, types.Data, settings[d.alias()]))
	}
	return s, nil
}

// discoveryCall makes one discovery request and reads its answer; errors
// under HTTP 200 without data fail it.
func discoveryCall[D any](ctx context.Context, c *Client, accountID, query string) (*gqlAnswer[D], error) {
	body, err := json.Marshal(graphQLRequest{Query: query, Variables: map[string]any{"accountTag": accountID}})
	if err != nil {
		return nil, err
	}
	req := request{endpoint: EndpointGraphQLDiscovery, method: http.MethodPost, path: graphQLPath,
		op: "POST " + graphQLPath + " (discovery, account " + accountID + ")", body: body, budget: budgetGraphQL}
	ans, header, err := call(ctx, c, req, func() *gqlAnswer[D] { return &gqlAnswer[D]{} })
	if err != nil {
		return nil, err
	}
	if ans.Data == nil {
		errs := make([]*gqlError, len(ans.Errors.items))
		for i := range ans.Errors.items {
			e := &ans.Errors.items[i]
			e.Message = boundedString(c.redact(string(e.Message)))
			e.Extensions.Code = boundedString(c.redact(string(e.Extensions.Code)))
			errs[i] = e
		}
		if len(errs) == 0 {
			return nil, &DatasetError{Dataset: "schema", Code: "no_data", Message: errNoGraphQLData.Error()}
		}
		de := datasetError("schema", errs, ans.Errors.more)
		if de.Quota {
			c.quotaPause(header)
		}
		return nil, de
	}
	return ans, nil
}

// gqlAnswer is a GraphQL answer whose data is a D.
type gqlAnswer[D any] struct {
	Data   *D           `json:"data"`
	Errors gqlErrorList `json:"errors"`
}

func (a *gqlAnswer[D]) messages() ([]Message, int) { return a.Errors.messages() }
func (a *gqlAnswer[D]) check() error               { return nil }

// introType is what introspection says of a type: its fields' names.
type introType struct {
	Fields []struct {
		Name string `json:"name"`
	} `json:"fields"`
}

func (t *introType) names() []string {
	if t == nil {
		return nil
	}
	out := make([]string, len(t.Fields))
	for i, f := range t.Fields {
		out[i] = f.Name
	}
	return out
}

// typesAnswer is the first discovery answer: the account, and the types
// introspected under aliases.
type typesAnswer struct {
	viewer struct {
		Accounts []struct{} `json:"accounts"`
	}
	types map[string]*introType
}

func (t *typesAnswer) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	t.types = map[string]*introType{}
	return readObject(dec, func(name string) error {
		if name == "viewer" {
			return json.UnmarshalDecode(dec, &t.viewer, decodeOptions)
		}
		var it *introType
		if err := json.UnmarshalDecode(dec, &it, decodeOptions); err != nil {
			return err
		}
		t.types[name] = it
		return nil
	})
}

// Aliases of the first discovery request.
const (
	aliasSettingsType = "settingsType"
	aliasSettingType  = "settingType"
)

// typeName is the GraphQL type of a dataset's rows, or of one of their
// groups: "AccountMagicTransitTunnelHealthChecksAdaptiveGroupsAvg".
func typeName(d edgeDataset, group string) string {
	upper := func(s string) string {
		if s == "" {
			return s
		}
		r := []rune(s)
		r[0] = unicode.ToUpper(r[0])
		return string(r)
	}
	return "Account" + upper(d.graphQLName()) + upper(group)
}

func typeAlias(d edgeDataset, group string) string {
	if group == "" {
		return "t_" + d.alias()
	}
	return "t_" + d.alias() + "_" + group
}

// groups are the groups a dataset's fields are under, in order.
func groups(d edgeDataset) []string {
	var out []string
	for _, f := range d.fields() {
		if f.group != "" && !slices.Contains(out, f.group) {
			out = append(out, f.group)
		}
	}
	return out
}

func typesQuery() string {
	var b strings.Builder
	b.WriteString("query EdgeDiscoveryTypes($accountTag: string!) {\n")
	b.WriteString("  viewer { accounts(filter: {accountTag: $accountTag}) { __typename } }\n")
	fmt.Fprintf(&b, "  %s: __type(name: \"AccountSettings\") { fields { name } }\n", aliasSettingsType)
	fmt.Fprintf(&b, "  %s: __type(name: \"Settings\") { fields { name } }\n", aliasSettingType)
	for _, d := range edgeDatasets {
		for _, g := range append([]string{""}, groups(d)...) {
			fmt.Fprintf(&b, "  %s: __type(name: %q) { fields { name } }\n", typeAlias(d, g), typeName(d, g))
		}
	}
	b.WriteString("}\n")
	return b.String()
}

// settingFields are the fields of a dataset's settings the exporter reads.
var settingFields = []string{"enabled", "availableFields", "maxPageSize", "maxNumberOfFields", "notOlderThan", "maxDuration"}

// settingsQuery asks the settings of the declared datasets that the
// settings node has; "" when it has none.
func settingsQuery(types *typesAnswer) string {
	in := types.types[aliasSettingsType].names()
	var fields []string
	for _, f := range types.types[aliasSettingType].names() {
		if slices.Contains(settingFields, f) {
			fields = append(fields, f)
		}
	}
	if !slices.Contains(fields, "enabled") {
		return ""
	}
	var b strings.Builder
	for _, d := range edgeDatasets {
		if slices.Contains(in, d.graphQLName()) {
			fmt.Fprintf(&b, "        %s: %s { %s }\n", d.alias(), d.graphQLName(), strings.Join(fields, " "))
		}
	}
	if b.Len() == 0 {
		return ""
	}
	return "query EdgeDiscoverySettings($accountTag: string!) {\n  viewer {\n    accounts(filter: {accountTag: $accountTag}) {\n      settings {\n" +
		b.String() + "      }\n    }\n  }\n}\n"
}

// wireSettings is one dataset's settings.
type wireSettings struct {
	Enabled           bool     `json:"enabled"`
	AvailableFields   []string `json:"availableFields"`
	MaxPageSize       number   `json:"maxPageSize"`
	MaxNumberOfFields number   `json:"maxNumberOfFields"`
	NotOlderThan      number   `json:"notOlderThan"`
	MaxDuration       number   `json:"maxDuration"`
}

type settingsAnswer struct {
	Viewer struct {
		Accounts []struct {
			Settings map[string]*wireSettings `json:"settings"`
		} `json:"accounts"`
	} `json:"viewer"`
}

// datasetSchema puts together what the settings node (ws, nil when it did
// not answer for d) and introspection said of d.
func datasetSchema(d edgeDataset, types *typesAnswer, ws *wireSettings) DatasetSchema {
	ds := DatasetSchema{Dataset: d.alias()}
	top := types.types[typeAlias(d, "")]
	if ws != nil {
		ds.Source, ds.Enabled = FromSettings, ws.Enabled
		ds.MaxPageSize, ds.MaxFields = positiveInt(ws.MaxPageSize), positiveInt(ws.MaxNumberOfFields)
		ds.NotOlderThan = time.Duration(positiveInt(ws.NotOlderThan)) * time.Second
		ds.MaxDuration = time.Duration(positiveInt(ws.MaxDuration)) * time.Second
		for _, f := range ws.AvailableFields {
			// Nested fields are paths joined by underscores: sum_bits.
			if group, name, nested := strings.Cut(f, "_"); nested {
				f = group + "." + name
			}
			ds.Fields = append(ds.Fields, f)
		}
	}
	if len(ds.Fields) == 0 && top != nil {
		// Settings did not answer for the fields: the types say.
		if ds.Source == "" {
			ds.Source, ds.Enabled = FromIntrospection, true
		} else {
			ds.Source = FromIntrospection
		}
		groupNames := groups(d)
		for _, f := range top.names() {
			if !slices.Contains(groupNames, f) {
				ds.Fields = append(ds.Fields, f)
			}
		}
		for _, g := range groupNames {
			for _, f := range types.types[typeAlias(d, g)].names() {
				ds.Fields = append(ds.Fields, g+"."+f)
			}
		}
	}
	slices.Sort(ds.Fields)
	ds.Fields = slices.Compact(ds.Fields)
	return ds
}

// positiveInt is n as an int when it is a positive number, else 0.
func positiveInt(n number) int {
	if !n.ok() || n.v <= 0 {
		return 0
	}
	return int(min(n.v, 1<<40))
}

// gqlErrorList is the errors array of a GraphQL answer: at most
// maxGraphQLErrors entries, each bounded, and a count of the rest.
type gqlErrorList struct {
	items []gqlError
	more  int
}

func (l *gqlErrorList) UnmarshalJSONFrom(dec *jsontext.Decoder) (err error) {
	l.more, err = readList(dec, maxGraphQLErrors, func() error {
		var e gqlError
		raw, err := dec.ReadValue()
		if err != nil {
			return err
		}
		if json.Unmarshal(raw, &e, decodeOptions) != nil {
			e = gqlError{Message: boundedString(bound(string(raw)))}
		}
		l.items = append(l.items, e)
		return nil
	})
	return err
}

// readList reads a JSON array, each of its first max elements with read
// (which must consume it), and skips and counts the rest. Anything but an
// array is skipped as no elements.
func readList(dec *jsontext.Decoder, max int, read func() error) (more int, err error) {
	if dec.PeekKind() != '[' {
		return 0, dec.SkipValue()
	}
	if _, err := dec.ReadToken(); err != nil {
		return 0, err
	}
	for n := 0; dec.PeekKind() != ']'; n++ {
		if n >= max {
			more++
			if err := dec.SkipValue(); err != nil {
				return more, err
			}
			continue
		}
		if err := read(); err != nil {
			return more, err
		}
	}
	_, err = dec.ReadToken()
	return more, err
}

func (l *gqlErrorList) messages() ([]Message, int) {
	n := min(len(l.items), maxErrorMessages)
	out := make([]Message, n)
	for i := range out {
		out[i] = l.items[i].message()
	}
	return out, len(l.items) - n + l.more
}

// unknownFields returns the fields an error says the server does not know,
// among those asked: a validator quotes the field and the type holding it
// (graphql-js: "Cannot query field \"x\" on type \"Y\"."). Where it quotes
// no type of ours, a field name asked of one dataset only is taken as that
// one.
func unknownFields(e *gqlError, plans []*planned) []FieldRef {
	if _, _, schema := e.kind(); !schema {
		return nil
	}
	full, _, _ := strings.Cut(string(e.Message), "Did you mean")
	q := quoted(full)
	var typed, named []FieldRef
	for _, p := range plans {
		for _, a := range p.asked {
			group, name := "", a
			if i := strings.IndexByte(a, '.'); i >= 0 {
				group, name = a[:i], a[i+1:]
			}
			if !slices.Contains(q, name) {
				continue
			}
			named = append(named, FieldRef{p.d.alias(), a})
			if slices.Contains(q, typeName(p.d, group)) {
				typed = append(typed, FieldRef{p.d.alias(), a})
			}
		}
	}
	// A dataset the account type does not know.
	for _, p := range plans {
		if slices.Contains(q, p.d.graphQLName()) && !slices.Contains(q, typeName(p.d, "")) {
			typed = append(typed, FieldRef{Dataset: p.d.alias()})
		}
	}
	if len(typed) > 0 {
		return typed
	}
	if len(named) == 1 {
		return named
	}
	return nil
}

var errNoSchema = errors.New("no edge schema: discover it first (DiscoverEdge)")

// sortRefs orders refs for stable output.
func sortRefs(refs []FieldRef) []FieldRef {
	slices.SortFunc(refs, func(a, b FieldRef) int {
		return cmp.Or(strings.Compare(a.Dataset, b.Dataset), strings.Compare(a.Field, b.Field))
	})
	return slices.Compact(refs)
}
