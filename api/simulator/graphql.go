package simulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
	// The validation rules register themselves with the validator.
	_ "github.com/vektah/gqlparser/v2/validator/rules"
)

// EndpointGraphQL names the GraphQL Analytics API (POST /graphql), matching
// the api package's.
const EndpointGraphQL = "graphql"

// GraphQLFault disturbs an otherwise normal GraphQL answer; set it as
// Fault.GraphQL for EndpointGraphQL. Each field is one thing a real server
// does.
type GraphQLFault struct {
	// Unknown renames these fields or datasets (GraphQL names) in the
	// schema, settings node and introspection, as when Cloudflare renames
	// a field: a query that asks for one fails validation, data null, an
	// error naming the field and the type holding it (extensions code
	// GRAPHQL_VALIDATION_FAILED).
	Unknown []string
	// Deny refuses these datasets (GraphQL names): their rows are null and
	// an error with path ["viewer","accounts",0,<alias>] and extensions code
	// "authz" names the missing Account Analytics: Read permission. The
	// other datasets are answered.
	Deny []string
	// Quota answers data null and a quota error (extensions code
	// "quota_exceeded"), with Retry-After, as past the GraphQL rate limit.
	Quota bool
	// DataNull answers data null with an internal error.
	DataNull bool
	// EmptyTunnelNames blanks the tunnel name of every other row of the
	// tunnel health and traffic datasets.
	EmptyTunnelNames bool
	// Duplicates sends every row twice (still at most limit rows).
	Duplicates bool
	// NaN sends these value fields, such as "tunnelState", as the string
	// "NaN" in every row.
	NaN []string
	// ExtraSeries adds that many tunnels and connectors to the account's
	// edge view, so that datasets pass the 10,000-row limit.
	ExtraSeries int
	// ErrorBytes pads every error message to at least that many bytes, as
	// a hostile server might.
	ErrorBytes int
	// EchoCredential appends the request's credential to every error
	// message, as a misconfigured proxy might.
	EchoCredential bool
	// PastLimit sends that many rows beyond the limit the query asked.
	PastLimit int
	// Values sends these fields, by name, with the raw JSON given in every
	// row: {"tunnelState": "-5"}.
	Values map[string]string
	// FutureBuckets adds rows stamped in the two buckets after now, which
	// no query can have asked for.
	FutureBuckets bool
	// FreshNames makes the ExtraSeries tunnels and connectors new ones,
	// under names never sent before, on every request.
	FreshNames bool
}

// GraphQLStats counts the GraphQL requests of one account.
type GraphQLStats struct {
	// Data are the requests that asked for a dataset's rows; Discovery
	// those that asked only the settings node or introspection.
	Data, Discovery int
	// Errored are the requests answered with errors.
	Errored int
}

// DefaultGraphQLQuota is Cloudflare's GraphQL rate limit: 300 queries per
// 5 minutes per user, apart from the REST budget.
const DefaultGraphQLQuota = 300

// WithGraphQLRateLimit sets the simulated GraphQL budget: quota queries per
// window (default DefaultGraphQLQuota per 5 minutes), past which every query
// is answered with a quota error under HTTP 200 and Retry-After, for five
// minutes.
func WithGraphQLRateLimit(quota int, window time.Duration) Option {
	return func(s *Server) { s.gqlLimit.quota, s.gqlLimit.window = quota, window }
}

// GraphQLCalls returns how many GraphQL requests named the account (by the
// accountTag variable), faulted and refused ones included.
func (s *Server) GraphQLCalls(accountID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gqlCalls[accountID]
}

// GraphQLStats returns what the account's GraphQL requests were, and how
// many were answered with errors.
func (s *Server) GraphQLStats(accountID string) GraphQLStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gqlStats[accountID]
}

// GraphQLQueries returns the query documents received so far, the latest
// maxRequests of them.
func (s *Server) GraphQLQueries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.gqlQueries)
}

type graphQLBody struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName"`
	Variables     map[string]any `json:"variables"`
}

// gqlAnswer is a GraphQL answer: data (raw JSON, "null" when none) and
// errors.
type gqlAnswer struct {
	data   []byte
	errors []*gqlerror.Error
}

// errored returns what to call when an answer to the account holds errors.
func (s *Server) errored(accountID string) func() {
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		st := s.gqlStats[accountID]
		st.Errored++
		s.gqlStats[accountID] = st
	}
}

// datasetNode matches a query that asks a dataset's rows: only those take a
// limit.
var datasetNode = regexp.MustCompile(`AdaptiveGroups\s*\(`)

func (a *gqlAnswer) write(w http.ResponseWriter, f *GraphQLFault, r *http.Request, errored func()) {
	if len(a.errors) > 0 {
		errored()
	}
	if f != nil {
		for _, e := range a.errors {
			if f.ErrorBytes > len(e.Message) {
				e.Message += " " + strings.Repeat("x", f.ErrorBytes-len(e.Message))
			}
			if f.EchoCredential {
				e.Message += " (request had Authorization: " + r.Header.Get("Authorization") + ", X-Auth-Key: " + r.Header.Get("X-Auth-Key") + ")"
			}
		}
	}
	var b bytes.Buffer
	b.WriteString(`{"data":`)
	if a.data == nil {
		b.WriteString("null")
	} else {
		b.Write(a.data)
	}
	if len(a.errors) > 0 {
		b.WriteString(`,"errors":`)
		errs, _ := json.Marshal(a.errors)
		b.Write(errs)
	}
	b.WriteString("}\n")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.Bytes())
}

func gqlErr(msg, code string, path ...any) *gqlerror.Error {
	e := &gqlerror.Error{Message: msg}
	if code != "" {
		e.Extensions = map[string]any{"code": code}
	}
	for _, p := range path {
		switch p := p.(type) {
		case string:
			e.Path = append(e.Path, ast.PathName(p))
		case int:
			e.Path = append(e.Path, ast.PathIndex(p))
		}
	}
	return e
}

// graphql answers POST /graphql: counting, authentication, rate limit and
// faults as for REST, then validation against the schema, then the query
// run over the account's edge view.
func (s *Server) graphql(w http.ResponseWriter, r *http.Request) {
	defer s.track(EndpointGraphQL)()
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var body graphQLBody
	if err == nil {
		err = json.Unmarshal(raw, &body)
	}
	accountID, _ := body.Variables["accountTag"].(string)

	s.mu.Lock()
	s.calls[EndpointGraphQL]++
	s.gqlCalls[accountID]++
	s.gqlSeq++
	seq := s.gqlSeq
	stats := s.gqlStats[accountID]
	if datasetNode.MatchString(body.Query) {
		stats.Data++
	} else {
		stats.Discovery++
	}
	s.gqlStats[accountID] = stats
	s.requests = append(s.requests, r.Clone(r.Context()))
	if len(s.requests) > maxRequests {
		s.requests = slices.Delete(s.requests, 0, len(s.requests)-maxRequests)
	}
	s.gqlQueries = append(s.gqlQueries, body.Query)
	if len(s.gqlQueries) > maxRequests {
		s.gqlQueries = slices.Delete(s.gqlQueries, 0, len(s.gqlQueries)-maxRequests)
	}
	fault := s.takeFault(accountID, EndpointGraphQL)
	authErr := s.authenticate(r)
	account, known := s.accounts[accountID]
	denied := s.denied[accountID]
	remaining, reset, refuse := s.gqlLimit.take(s.now())
	var acct Account
	if known {
		acct = *account
	}
	now := s.now()
	s.mu.Unlock()

	w.Header().Set("Ratelimit", fmt.Sprintf(`"graphql";r=%d;t=%d`, remaining, ceilSeconds(reset)))
	w.Header().Set("Ratelimit-Policy", fmt.Sprintf(`"graphql";q=%d;w=%d`, s.gqlLimit.quota, ceilSeconds(s.gqlLimit.window)))
	var gf *GraphQLFault
	if fault != nil {
		if fault.serve(w, r) {
			return
		}
		gf = fault.GraphQL
	}
	if refuse > 0 || (gf != nil && gf.Quota) {
		wait := max(refuse, time.Minute)
		w.Header().Set("Retry-After", strconv.Itoa(ceilSeconds(wait)))
		msg := fmt.Sprintf("quota exceeded: %d queries per %s; try again in %d seconds", s.gqlLimit.quota, s.gqlLimit.window, ceilSeconds(wait))
		(&gqlAnswer{errors: []*gqlerror.Error{gqlErr(msg, "quota_exceeded")}}).write(w, gf, r, s.errored(accountID))
		return
	}
	if authErr != nil {
		writeEnvelope(w, http.StatusForbidden, nil, authErr...)
		return
	}
	if err != nil || body.Query == "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"data":null,"errors":[{"message":"the request body is not a GraphQL query","extensions":{"code":"BAD_REQUEST"}}]}` + "\n"))
		return
	}
	var unknown []string
	if gf != nil {
		unknown = gf.Unknown
	}
	schema, err := s.schemaFor(unknown)
	if err != nil {
		http.Error(w, "schema: "+err.Error(), http.StatusInternalServerError)
		return
	}
	doc, errs := parseAndValidate(schema, body.Query)
	if len(errs) > 0 {
		(&gqlAnswer{errors: errs}).write(w, gf, r, s.errored(accountID))
		return
	}
	op := doc.Operations.ForName(body.OperationName)
	if op == nil || op.Operation != ast.Query {
		(&gqlAnswer{errors: []*gqlerror.Error{gqlErr("no query operation "+strconv.Quote(body.OperationName), "GRAPHQL_VALIDATION_FAILED")}}).write(w, gf, r, s.errored(accountID))
		return
	}
	vars, verr := validator.VariableValues(schema, op, body.Variables)
	if verr != nil {
		(&gqlAnswer{errors: []*gqlerror.Error{gqlErr(verr.Error(), "GRAPHQL_VALIDATION_FAILED")}}).write(w, gf, r, s.errored(accountID))
		return
	}
	if !known || denied {
		msg := "not authorized to access account " + accountID + ": the API token lacks the Account Analytics: Read permission on it"
		(&gqlAnswer{errors: []*gqlerror.Error{gqlErr(msg, "authz", "viewer", "accounts")}}).write(w, gf, r, s.errored(accountID))
		return
	}
	if gf != nil && gf.DataNull {
		(&gqlAnswer{errors: []*gqlerror.Error{gqlErr("an internal error occurred; retry later", "internal")}}).write(w, gf, r, s.errored(accountID))
		return
	}
	s.mu.Lock()
	variant := s.variant
	s.mu.Unlock()
	ex := executor{now: now, edge: acct.Edge, fault: gf, vars: vars, schema: schema, variant: &variant,
		catalogue: catalogue(&variant), unknown: unknown}
	if gf != nil && gf.ExtraSeries > 0 {
		prefix := "extra"
		if gf.FreshNames {
			prefix = fmt.Sprintf("fresh%d", seq)
		}
		ex.edge = withExtraSeries(acct.Edge, gf.ExtraSeries, prefix)
	}
	data := ex.selection(op.SelectionSet, nil)
	(&gqlAnswer{data: data, errors: ex.errors}).write(w, gf, r, s.errored(accountID))
}

func parseAndValidate(schema *ast.Schema, query string) (*ast.QueryDocument, gqlerror.List) {
	doc, err := parser.ParseQuery(&ast.Source{Name: "query", Input: query})
	if err != nil {
		e, ok := err.(*gqlerror.Error)
		if !ok {
			e = gqlerror.Wrap(err)
		}
		e.Extensions = map[string]any{"code": "GRAPHQL_PARSE_FAILED"}
		return nil, gqlerror.List{e}
	}
	errs := validator.Validate(schema, doc)
	for _, e := range errs {
		e.Extensions = map[string]any{"code": "GRAPHQL_VALIDATION_FAILED"}
	}
	return doc, errs
}

// withExtraSeries returns e with n more tunnels and connectors, copies of
// its first ones under new names.
func withExtraSeries(e *Edge, n int, prefix string) *Edge {
	if e == nil {
		e = &Edge{}
	}
	out := *e
	out.Tunnels = slices.Clone(e.Tunnels)
	out.Connectors = slices.Clone(e.Connectors)
	tmplT := EdgeTunnel{Name: "x", Colos: []string{"LHR"}, IngressBitRate: 1e6, EgressBitRate: 1e5}
	if len(e.Tunnels) > 0 {
		tmplT = e.Tunnels[0]
	}
	tmplC := EdgeConnector{ID: "x", CPUCount: 2, Load1: 0.1, Load5: 0.1}
	if len(e.Connectors) > 0 {
		tmplC = e.Connectors[0]
	}
	for i := range n {
		t := tmplT
		t.Name = fmt.Sprintf("%s-tunnel-%06d", prefix, i)
		out.Tunnels = append(out.Tunnels, t)
		c := tmplC
		c.ID = fmt.Sprintf("%s%0*x", prefix, 32-len(prefix), i)
		out.Connectors = append(out.Connectors, c)
	}
	return &out
}

// executor runs a validated query: viewer, accounts (the one account the
// request named), its settings node and each dataset under its alias, and
// the introspection of a type (__type).
type executor struct {
	now       time.Time
	edge      *Edge
	fault     *GraphQLFault
	vars      map[string]any
	schema    *ast.Schema
	variant   *SchemaVariant
	catalogue []dsDef
	unknown   []string
	errors    []*gqlerror.Error
}

// def returns the dataset named (as the schema has it, renamed or not).
func (ex *executor) def(name string) *dsDef {
	for i := range ex.catalogue {
		if renamed(ex.catalogue[i].name, ex.unknown) == name {
			return &ex.catalogue[i]
		}
	}
	return nil
}

// selection writes the object a selection set asks for; path is where it
// is, for errors.
func (ex *executor) selection(set ast.SelectionSet, path []any) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	n := 0
	for _, sel := range set {
		f, ok := sel.(*ast.Field)
		if !ok {
			ex.errors = append(ex.errors, gqlErr("the simulator answers fields only, not fragments", "simulator"))
			continue
		}
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		key := f.Alias
		if key == "" {
			key = f.Name
		}
		writeString(&b, key)
		b.WriteByte(':')
		switch {
		case f.Name == "viewer":
			b.Write(ex.selection(f.SelectionSet, append(path, key)))
		case f.Name == "accounts":
			b.WriteByte('[')
			b.Write(ex.selection(f.SelectionSet, append(path, key, 0)))
			b.WriteByte(']')
		case f.Name == "settings":
			ex.settings(&b, f.SelectionSet)
		case f.Name == "__typename":
			writeString(&b, f.ObjectDefinition.Name)
		case f.Name == "__type":
			name, _ := f.ArgumentMap(ex.vars)["name"].(string)
			introspectType(&b, ex.schema, ex.schema.Types[name], f.SelectionSet)
		case f.Name == "__schema":
			b.WriteString("null")
			ex.errors = append(ex.errors, gqlErr("the simulator answers __type, not __schema", "simulator", append(path, key)...))
		case f.Name == "cost" || f.Name == "budget":
			b.WriteString("1")
		default:
			ex.dataset(&b, f, append(path, key))
		}
	}
	b.WriteByte('}')
	return b.Bytes()
}

// writeObject writes the object a selection set asks for: each field
// under its alias or name, its value written by value.
func writeObject(b *bytes.Buffer, set ast.SelectionSet, value func(f *ast.Field)) {
	b.WriteByte('{')
	for i, sel := range set {
		f := sel.(*ast.Field)
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(b, cmpOr(f.Alias, f.Name))
		b.WriteByte(':')
		value(f)
	}
	b.WriteByte('}')
}

// settings writes the settings node: per dataset asked, its settings.
func (ex *executor) settings(b *bytes.Buffer, set ast.SelectionSet) {
	writeObject(b, set, func(f *ast.Field) {
		d := ex.def(f.Name)
		if d == nil {
			b.WriteString("null")
			return
		}
		writeObject(b, f.SelectionSet, func(sf *ast.Field) {
			switch sf.Name {
			case "enabled":
				fmt.Fprint(b, !slices.Contains(ex.variant.Disabled, d.name))
			case "availableFields":
				leaves, _ := json.Marshal(d.leaves(ex.unknown))
				b.Write(leaves)
			case "maxPageSize":
				fmt.Fprint(b, d.maxPageSize)
			case "maxNumberOfFields":
				fmt.Fprint(b, d.maxFields)
			case "notOlderThan":
				fmt.Fprint(b, int64(d.notOlderThan/time.Second))
			case "maxDuration":
				fmt.Fprint(b, int64(d.maxDuration/time.Second))
			case "__typename":
				writeString(b, "Settings")
			default:
				b.WriteString("null")
			}
		})
	})
}

// introspectType writes what the selection asks of a type (__Type): its
// name, kind and fields (__Field: name, type), the wrapped types of a
// field's type (ofType) included. A type the schema lacks is null, as
// introspection answers.
func introspectType(b *bytes.Buffer, schema *ast.Schema, def *ast.Definition, set ast.SelectionSet) {
	if def == nil {
		b.WriteString("null")
		return
	}
	writeType(b, schema, &ast.Type{NamedType: def.Name}, set)
}

func writeType(b *bytes.Buffer, schema *ast.Schema, t *ast.Type, set ast.SelectionSet) {
	if t == nil {
		b.WriteString("null")
		return
	}
	def := schema.Types[t.NamedType]
	named := !t.NonNull && t.Elem == nil
	writeObject(b, set, func(f *ast.Field) {
		switch {
		case f.Name == "kind" && t.NonNull:
			writeString(b, "NON_NULL")
		case f.Name == "kind" && t.Elem != nil:
			writeString(b, "LIST")
		case f.Name == "kind" && def != nil:
			writeString(b, string(def.Kind))
		case f.Name == "name" && named:
			writeString(b, t.NamedType)
		case f.Name == "ofType" && t.NonNull:
			inner := *t
			inner.NonNull = false
			writeType(b, schema, &inner, f.SelectionSet)
		case f.Name == "ofType" && t.Elem != nil:
			writeType(b, schema, t.Elem, f.SelectionSet)
		case f.Name == "fields" && def != nil && named && len(def.Fields) > 0:
			b.WriteByte('[')
			n := 0
			for _, fd := range def.Fields {
				if strings.HasPrefix(fd.Name, "__") {
					continue
				}
				if n > 0 {
					b.WriteByte(',')
				}
				n++
				writeObject(b, f.SelectionSet, func(ff *ast.Field) {
					switch ff.Name {
					case "name":
						writeString(b, fd.Name)
					case "type":
						writeType(b, schema, fd.Type, ff.SelectionSet)
					case "isDeprecated":
						b.WriteString("false")
					default:
						b.WriteString("null")
					}
				})
			}
			b.WriteByte(']')
		case f.Name == "description" && def != nil && def.Description != "":
			writeString(b, def.Description)
		case f.Name == "__typename":
			writeString(b, "__Type")
		default:
			b.WriteString("null")
		}
	})
}

// dataset answers one dataset as Cloudflare does, refusing what its
// settings do not allow: a disabled dataset, more rows than maxPageSize, a
// window reaching past notOlderThan or wider than maxDuration, more
// fields than maxNumberOfFields.
func (ex *executor) dataset(b *bytes.Buffer, f *ast.Field, path []any) {
	refuse := func(msg, code string) {
		b.WriteString("null")
		ex.errors = append(ex.errors, gqlErr(msg, code, path...))
	}
	d := ex.def(f.Name)
	switch {
	case d == nil:
		refuse("the simulator has no dataset "+f.Name, "simulator")
		return
	case ex.fault != nil && slices.Contains(ex.fault.Deny, d.name):
		refuse(fmt.Sprintf("not authorized for %s: the API token lacks the Account Analytics: Read permission", f.Name), "authz")
		return
	case slices.Contains(ex.variant.Disabled, d.name):
		refuse(fmt.Sprintf("%s is not enabled for this account", f.Name), "not_enabled")
		return
	}
	args := f.ArgumentMap(ex.vars)
	limit := toInt(args["limit"])
	filter, _ := args["filter"].(map[string]any)
	start, err1 := parseTime(filter["datetime_geq"])
	end, err2 := parseTime(filter["datetime_lt"])
	switch {
	case err1 != nil || err2 != nil || limit <= 0:
		refuse("a filter with datetime_geq and datetime_lt, and a positive limit, are required", "bad_request")
		return
	case limit > d.maxPageSize:
		refuse(fmt.Sprintf("limit must be at most %d, not %d", d.maxPageSize, limit), "bad_request")
		return
	case start.Before(ex.now.Add(-d.notOlderThan)):
		refuse(fmt.Sprintf("cannot request data older than %d seconds", int64(d.notOlderThan/time.Second)), "bad_request")
		return
	case end.Sub(start) > d.maxDuration:
		refuse(fmt.Sprintf("the time range must be at most %d seconds, not %d", int64(d.maxDuration/time.Second), int64(end.Sub(start)/time.Second)), "bad_request")
		return
	case leafCount(f.SelectionSet) > d.maxFields:
		refuse(fmt.Sprintf("at most %d fields may be queried, not %d", d.maxFields, leafCount(f.SelectionSet)), "bad_request")
		return
	}
	ascending := false
	if order, ok := args["orderBy"].([]any); ok && len(order) > 0 {
		s, _ := order[0].(string)
		ascending = strings.HasSuffix(s, "_ASC")
	}
	gen := generators[d.name]
	b.WriteByte('[')
	n := 0
	if ex.fault != nil {
		limit += ex.fault.PastLimit
	}
	emit := func(r row) bool {
		for copies := 1 + btoi(ex.fault != nil && ex.fault.Duplicates); copies > 0; copies-- {
			if n == limit {
				return false
			}
			if n > 0 {
				b.WriteByte(',')
			}
			ex.row(b, f.SelectionSet, r, n)
			n++
		}
		return true
	}
	if gen != nil && ex.edge != nil {
		times := buckets(start, end, ex.now, ascending)
		if ex.fault != nil && ex.fault.FutureBuckets {
			next := ex.now.Truncate(5 * time.Minute).Add(5 * time.Minute)
			times = append([]time.Time{next.Add(5 * time.Minute), next}, times...)
		}
		for _, t := range times {
			if !gen(ex.edge, ex.variant, t, emit) {
				break
			}
		}
	}
	b.WriteByte(']')
}

// leafCount is how many fields a selection asks for.
func leafCount(set ast.SelectionSet) int {
	n := 0
	for _, sel := range set {
		if f, ok := sel.(*ast.Field); ok {
			if len(f.SelectionSet) == 0 {
				n++
			} else {
				n += leafCount(f.SelectionSet)
			}
		}
	}
	return n
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// buckets are the five-minute buckets in [start, end) that the lagging
// analytics hold by now, newest first unless ascending.
func buckets(start, end, now time.Time, ascending bool) []time.Time {
	newest := now.Add(-EdgeLag).Truncate(5 * time.Minute)
	var out []time.Time
	for t := newest; !t.Before(start); t = t.Add(-5 * time.Minute) {
		if t.Before(end) {
			out = append(out, t)
		}
		if len(out) > 12*24*31 {
			break
		}
	}
	if ascending {
		slices.Reverse(out)
	}
	return out
}

// row writes one row as the selection asks: each leaf field looked up by
// name in r (its name before any rename), written as its type says: an
// integer type as an integer; a field r lacks as its type's zero value
// where the type is non-null, else null.
func (ex *executor) row(b *bytes.Buffer, set ast.SelectionSet, r row, index int) {
	b.WriteByte('{')
	for i, sel := range set {
		f, ok := sel.(*ast.Field)
		if !ok {
			continue
		}
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(b, cmpOr(f.Alias, f.Name))
		b.WriteByte(':')
		if len(f.SelectionSet) > 0 {
			ex.row(b, f.SelectionSet, r, index)
			continue
		}
		name := strings.TrimSuffix(f.Name, "Renamed")
		typ := f.Definition.Type
		v, ok := r.get(name)
		raw, override := "", false
		if ex.fault != nil {
			raw, override = ex.fault.Values[name]
		}
		switch {
		case override:
			b.WriteString(raw)
		case ex.fault != nil && slices.Contains(ex.fault.NaN, name):
			b.WriteString(`"NaN"`)
		case ex.fault != nil && ex.fault.EmptyTunnelNames && name == "tunnelName" && index%2 == 1:
			b.WriteString(`""`)
		case !ok && !typ.NonNull:
			b.WriteString("null")
		case v.text || typ.Name() == "string" || typ.Name() == "Time" || typ.Name() == "Date":
			writeString(b, v.s)
		case isInteger(typ.Name()):
			b.Write(strconv.AppendInt(b.AvailableBuffer(), int64(math.Round(v.f)), 10))
		default:
			b.Write(strconv.AppendFloat(b.AvailableBuffer(), v.f, 'g', -1, 64))
		}
	}
	b.WriteByte('}')
}

func isInteger(scalar string) bool {
	return strings.HasPrefix(scalar, "uint") || strings.HasPrefix(scalar, "int")
}

func writeString(b *bytes.Buffer, s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			j, _ := json.Marshal(s)
			b.Write(j)
			return
		}
	}
	b.WriteByte('"')
	b.WriteString(s)
	b.WriteByte('"')
}

func toInt(v any) int {
	switch v := v.(type) {
	case int64:
		return int(v)
	case int:
		return v
	case float64:
		return int(v)
	case string:
		n, _ := strconv.Atoi(v)
		return n
	}
	return 0
}

func parseTime(v any) (time.Time, error) {
	s, _ := v.(string)
	return time.Parse(time.RFC3339, s)
}

// row is one row of a dataset: every field's value by name, whatever group
// (avg, sum, max, dimensions) the query asks it under.
type row []field

type field struct {
	name string
	v    value
}

type value struct {
	text bool
	s    string
	f    float64
}

func (r row) get(name string) (value, bool) {
	for _, f := range r {
		if f.name == name {
			return f.v, true
		}
	}
	return value{}, false
}

func str(name, s string) field         { return field{name, value{text: true, s: s}} }
func val(name string, f float64) field { return field{name, value{f: f}} }

func at(t time.Time) field { return str("datetimeFiveMinutes", t.UTC().Format(time.RFC3339)) }

// live reports whether the connector sent telemetry in the bucket at t.
func (c *EdgeConnector) live(t time.Time) bool { return c.LastSeen.IsZero() || !t.After(c.LastSeen) }

// direction is how the variant names a direction of traffic: the schema's
// inbound, outbound and lateral, or the docs' ingress and egress.
func (v *SchemaVariant) direction(inbound bool) string {
	switch {
	case v.DocsDirection && inbound:
		return "ingress"
	case v.DocsDirection:
		return "egress"
	case inbound:
		return "inbound"
	}
	return "outbound"
}

// generators emit the rows of one bucket of each dataset, stopping when
// emit returns false (which they report).
var generators = map[string]func(e *Edge, v *SchemaVariant, t time.Time, emit func(row) bool) bool{
	"magicTransitTunnelHealthChecksAdaptiveGroups": func(e *Edge, _ *SchemaVariant, t time.Time, emit func(row) bool) bool {
		for i := range e.Tunnels {
			tn := &e.Tunnels[i]
			for j, colo := range tn.Colos {
				state, active := 1.0, 1.0
				if j < len(tn.State) {
					state = tn.State[j]
				}
				if j < len(tn.Active) && !tn.Active[j] {
					active = 0
				}
				status := map[float64]string{0: "unhealthy", 0.5: "degraded"}[state]
				if !emit(row{str("tunnelName", tn.Name), str("siteName", tn.Site), str("edgeColoCode", colo), str("edgeColoName", coloNames[colo]),
					str("resultStatus", cmpOr(status, "healthy")), val("active", active), at(t), val("tunnelState", state), val("count", 30)}) {
					return false
				}
			}
		}
		return true
	},
	"magicTransitTunnelTrafficAdaptiveGroups": func(e *Edge, v *SchemaVariant, t time.Time, emit func(row) bool) bool {
		for i := range e.Tunnels {
			tn := &e.Tunnels[i]
			for _, d := range []struct {
				dir             string
				rate            float64
				ingress, egress string
			}{
				// Inbound traffic leaves Cloudflare through the tunnel,
				// outbound enters through it, lateral enters through it
				// for another tunnel.
				{v.direction(true), tn.IngressBitRate, "", tn.Name},
				{v.direction(false), tn.EgressBitRate, tn.Name, ""},
				{"lateral", tn.LateralBitRate, tn.Name, tn.LateralTo},
			} {
				if d.dir == "lateral" && (d.rate == 0 || v.DocsDirection) {
					continue
				}
				name := tn.Name
				if v.EmptyTunnelNames {
					name = ""
				}
				bits := d.rate * 300
				if !emit(row{str("tunnelName", name), str("ingressTunnelName", d.ingress), str("egressTunnelName", d.egress),
					str("direction", d.dir), at(t), val("bitRateFiveMinutes", d.rate), val("bits", bits), val("packets", float64(int64(bits/8/700)))}) {
					return false
				}
			}
		}
		return true
	},
	"mconnTelemetrySnapshotsAdaptiveGroups": func(e *Edge, _ *SchemaVariant, t time.Time, emit func(row) bool) bool {
		for i := range e.Connectors {
			c := &e.Connectors[i]
			if c.live(t) && !emit(row{str("connectorId", c.ID), at(t), val("cpuCount", c.CPUCount), val("loadAverage1m", c.Load1),
				val("loadAverage5m", c.Load5), val("memoryTotalBytes", c.MemoryTotalBytes),
				val("memoryAvailableBytes", c.MemoryAvailableBytes), val("memoryFreeBytes", c.MemoryFreeBytes)}) {
				return false
			}
		}
		return true
	},
	"mconnTelemetrySnapshotMountsAdaptiveGroups": func(e *Edge, _ *SchemaVariant, t time.Time, emit func(row) bool) bool {
		for i := range e.Connectors {
			c := &e.Connectors[i]
			for _, m := range c.Mounts {
				if c.live(t) && !emit(row{str("connectorId", c.ID), str("mountPoint", m.MountPoint), at(t),
					val("availableBytes", m.AvailableBytes), val("totalBytes", m.TotalBytes)}) {
					return false
				}
			}
		}
		return true
	},
	"mconnTelemetrySnapshotThermalsAdaptiveGroups": func(e *Edge, _ *SchemaVariant, t time.Time, emit func(row) bool) bool {
		for i := range e.Connectors {
			c := &e.Connectors[i]
			for _, th := range c.Thermals {
				// Both spellings: the variant's schema says which one
				// can be asked.
				r := row{str("connectorId", c.ID), str("label", th.Label), at(t),
					val("currentCelsius", th.CurrentCelsius), val("currentCelcius", th.CurrentCelsius),
					val("criticalCelcius", th.CriticalCelsius)}
				if c.live(t) && !emit(r) {
					return false
				}
			}
		}
		return true
	},
	"mconnTelemetrySnapshotTunnelsAdaptiveGroups": func(e *Edge, _ *SchemaVariant, t time.Time, emit func(row) bool) bool {
		for i := range e.Connectors {
			c := &e.Connectors[i]
			for _, tn := range c.Tunnels {
				if c.live(t) && !emit(row{str("connectorId", c.ID), str("tunnelId", tn.TunnelID), str("interfaceName", tn.InterfaceName), at(t),
					val("healthValue", tn.HealthValue), val("count", 1)}) {
					return false
				}
			}
		}
		return true
	},
	"MagicWANConnectorMetricsAdaptiveGroups": func(e *Edge, _ *SchemaVariant, t time.Time, emit func(row) bool) bool {
		for i := range e.Connectors {
			c := &e.Connectors[i]
			if c.live(t) && !emit(row{str("mconnConnectorID", c.ID), at(t), val("haState", c.HAState), val("interfaceCount", 3)}) {
				return false
			}
		}
		return true
	},
	"mconnTelemetryEventsAdaptiveGroups": func(e *Edge, _ *SchemaVariant, t time.Time, emit func(row) bool) bool {
		for _, ev := range e.Events {
			if ev.Every > 0 && t.Truncate(ev.Every).Equal(t) && !emit(row{str("connectorId", ev.ConnectorID), str("eventType", ev.Type), at(t), val("count", ev.Count)}) {
				return false
			}
		}
		return true
	},
}

// ValidateQuery validates a GraphQL query document against the schema of
// a variant as the simulated API does, and returns the errors a real server
// would answer.
func ValidateQuery(v SchemaVariant, query string) gqlerror.List {
	schema, err := loadSchema(&v, nil)
	if err != nil {
		return gqlerror.List{gqlerror.Wrap(err)}
	}
	_, errs := parseAndValidate(schema, query)
	return errs
}
