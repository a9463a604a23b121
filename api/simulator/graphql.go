package simulator

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
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

// SchemaSDL is the GraphQL schema every incoming query is validated
// against: the documented subset of Cloudflare's GraphQL Analytics API.
//
//go:embed schema.graphql
var SchemaSDL string

// GraphQLFault disturbs an otherwise normal GraphQL answer; set it as
// Fault.GraphQL for EndpointGraphQL. Each field is one thing a real server
// does.
type GraphQLFault struct {
	// Unknown renames these fields or datasets in the schema the query is
	// validated against, as when Cloudflare renames a field: a query that
	// asks for one fails validation, data null, an error naming the field
	// and the type holding it (extensions code GRAPHQL_VALIDATION_FAILED).
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

// GraphQLQueries returns the query documents received so far, the latest
// maxRequests of them.
func (s *Server) GraphQLQueries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.gqlQueries)
}

// loadSchema parses SchemaSDL, with the fields named in unknown renamed.
func loadSchema(unknown []string) (*ast.Schema, error) {
	sdl := SchemaSDL
	for _, name := range unknown {
		re := regexp.MustCompile(`(?m)^(\s+)` + regexp.QuoteMeta(name) + `([(:])`)
		sdl = re.ReplaceAllString(sdl, "${1}"+name+"Renamed$2")
	}
	return validator.LoadSchema(validator.Prelude, &ast.Source{Name: "schema.graphql", Input: sdl})
}

// schemaFor returns the schema to validate against, cached per fault.
func (s *Server) schemaFor(unknown []string) (*ast.Schema, error) {
	key := strings.Join(unknown, ",")
	s.mu.Lock()
	sc, ok := s.schemas[key]
	s.mu.Unlock()
	if ok {
		return sc, nil
	}
	sc, err := loadSchema(unknown)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.schemas[key] = sc
	s.mu.Unlock()
	return sc, nil
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

func (a *gqlAnswer) write(w http.ResponseWriter, f *GraphQLFault, r *http.Request) {
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
		(&gqlAnswer{errors: []*gqlerror.Error{gqlErr(msg, "quota_exceeded")}}).write(w, gf, r)
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
		(&gqlAnswer{errors: errs}).write(w, gf, r)
		return
	}
	op := doc.Operations.ForName(body.OperationName)
	if op == nil || op.Operation != ast.Query {
		(&gqlAnswer{errors: []*gqlerror.Error{gqlErr("no query operation "+strconv.Quote(body.OperationName), "GRAPHQL_VALIDATION_FAILED")}}).write(w, gf, r)
		return
	}
	vars, verr := validator.VariableValues(schema, op, body.Variables)
	if verr != nil {
		(&gqlAnswer{errors: []*gqlerror.Error{gqlErr(verr.Error(), "GRAPHQL_VALIDATION_FAILED")}}).write(w, gf, r)
		return
	}
	if !known || denied {
		msg := "not authorized to access account " + accountID + ": the API token lacks the Account Analytics: Read permission on it"
		(&gqlAnswer{errors: []*gqlerror.Error{gqlErr(msg, "authz", "viewer", "accounts")}}).write(w, gf, r)
		return
	}
	if gf != nil && gf.DataNull {
		(&gqlAnswer{errors: []*gqlerror.Error{gqlErr("an internal error occurred; retry later", "internal")}}).write(w, gf, r)
		return
	}
	ex := executor{now: now, edge: acct.Edge, fault: gf, vars: vars}
	if gf != nil && gf.ExtraSeries > 0 {
		ex.edge = withExtraSeries(acct.Edge, gf.ExtraSeries)
	}
	data := ex.selection(op.SelectionSet, nil)
	(&gqlAnswer{data: data, errors: ex.errors}).write(w, gf, r)
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
func withExtraSeries(e *Edge, n int) *Edge {
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
		t.Name = fmt.Sprintf("extra-tunnel-%06d", i)
		out.Tunnels = append(out.Tunnels, t)
		c := tmplC
		c.ID = fmt.Sprintf("e%031x", i)
		out.Connectors = append(out.Connectors, c)
	}
	return &out
}

// executor runs a validated query: viewer, accounts (the one account the
// request named), and each dataset under its alias.
type executor struct {
	now    time.Time
	edge   *Edge
	fault  *GraphQLFault
	vars   map[string]any
	errors []*gqlerror.Error
}

// selection writes the object a selection set asks for; path is where it
// is, for errors.
func (ex *executor) selection(set ast.SelectionSet, path []any) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, sel := range set {
		f, ok := sel.(*ast.Field)
		if !ok {
			ex.errors = append(ex.errors, gqlErr("the simulator answers fields only, not fragments", "simulator"))
			continue
		}
		if i > 0 {
			b.WriteByte(',')
		}
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
		case f.Name == "__typename":
			writeString(&b, f.ObjectDefinition.Name)
		default:
			ex.dataset(&b, f, append(path, key))
		}
	}
	b.WriteByte('}')
	return b.Bytes()
}

func (ex *executor) dataset(b *bytes.Buffer, f *ast.Field, path []any) {
	if ex.fault != nil && slices.Contains(ex.fault.Deny, f.Name) {
		b.WriteString("null")
		msg := fmt.Sprintf("not authorized for %s: the API token lacks the Account Analytics: Read permission", f.Name)
		ex.errors = append(ex.errors, gqlErr(msg, "authz", path...))
		return
	}
	args := f.ArgumentMap(ex.vars)
	limit := toInt(args["limit"])
	filter, _ := args["filter"].(map[string]any)
	start, err1 := parseTime(filter["datetime_geq"])
	end, err2 := parseTime(filter["datetime_lt"])
	if err1 != nil || err2 != nil || limit <= 0 {
		b.WriteString("null")
		ex.errors = append(ex.errors, gqlErr("a filter with datetime_geq and datetime_lt, and a positive limit, are required", "bad_request", path...))
		return
	}
	if limit > 10000 {
		b.WriteString("null")
		ex.errors = append(ex.errors, gqlErr(fmt.Sprintf("limit must be at most 10000, not %d", limit), "bad_request", path...))
		return
	}
	ascending := false
	if order, ok := args["orderBy"].([]any); ok && len(order) > 0 {
		s, _ := order[0].(string)
		ascending = strings.HasSuffix(s, "_ASC")
	}
	gen := generators[f.Name]
	b.WriteByte('[')
	n := 0
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
		for _, t := range buckets(start, end, ex.now, ascending) {
			if !gen(ex.edge, t, emit) {
				break
			}
		}
	}
	b.WriteByte(']')
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
// name in r, null when r lacks it.
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
		key := f.Alias
		if key == "" {
			key = f.Name
		}
		writeString(b, key)
		b.WriteByte(':')
		if len(f.SelectionSet) > 0 {
			ex.row(b, f.SelectionSet, r, index)
			continue
		}
		v, ok := r.get(f.Name)
		switch {
		case !ok:
			b.WriteString("null")
		case ex.fault != nil && slices.Contains(ex.fault.NaN, f.Name):
			b.WriteString(`"NaN"`)
		case ex.fault != nil && ex.fault.EmptyTunnelNames && f.Name == "tunnelName" && index%2 == 1:
			b.WriteString(`""`)
		case v.text:
			writeString(b, v.s)
		default:
			b.Write(strconv.AppendFloat(b.AvailableBuffer(), v.f, 'g', -1, 64))
		}
	}
	b.WriteByte('}')
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

// generators emit the rows of one bucket of each dataset, stopping when
// emit returns false (which they report).
var generators = map[string]func(e *Edge, t time.Time, emit func(row) bool) bool{
	"magicTransitTunnelHealthChecksAdaptiveGroups": func(e *Edge, t time.Time, emit func(row) bool) bool {
		for i := range e.Tunnels {
			tn := &e.Tunnels[i]
			for j, colo := range tn.Colos {
				state := 1.0
				if j < len(tn.State) {
					state = tn.State[j]
				}
				if !emit(row{str("tunnelName", tn.Name), str("edgeColoName", colo), at(t), val("tunnelState", state), val("count", 30)}) {
					return false
				}
			}
		}
		return true
	},
	"magicTransitTunnelTrafficAdaptiveGroups": func(e *Edge, t time.Time, emit func(row) bool) bool {
		for i := range e.Tunnels {
			tn := &e.Tunnels[i]
			for _, d := range []struct {
				dir  string
				rate float64
			}{{"ingress", tn.IngressBitRate}, {"egress", tn.EgressBitRate}} {
				bits := d.rate * 300
				if !emit(row{str("tunnelName", tn.Name), str("direction", d.dir), at(t),
					val("bitRateFiveMinutes", d.rate), val("bits", bits), val("packets", float64(int64(bits/8/700)))}) {
					return false
				}
			}
		}
		return true
	},
	"mconnTelemetrySnapshotsAdaptiveGroups": func(e *Edge, t time.Time, emit func(row) bool) bool {
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
	"mconnTelemetrySnapshotMountsAdaptiveGroups": func(e *Edge, t time.Time, emit func(row) bool) bool {
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
	"mconnTelemetrySnapshotThermalsAdaptiveGroups": func(e *Edge, t time.Time, emit func(row) bool) bool {
		for i := range e.Connectors {
			c := &e.Connectors[i]
			for _, th := range c.Thermals {
				r := row{str("connectorId", c.ID), str("label", th.Label), at(t), val("currentCelsius", th.CurrentCelsius)}
				if th.CriticalCelsius != 0 {
					r = append(r, val("criticalCelsius", th.CriticalCelsius))
				}
				if c.live(t) && !emit(r) {
					return false
				}
			}
		}
		return true
	},
	"mconnTelemetrySnapshotTunnelsAdaptiveGroups": func(e *Edge, t time.Time, emit func(row) bool) bool {
		for i := range e.Connectors {
			c := &e.Connectors[i]
			for _, tn := range c.Tunnels {
				if c.live(t) && !emit(row{str("connectorId", c.ID), str("tunnelId", tn.TunnelID), str("interfaceName", tn.InterfaceName), at(t),
					val("healthValue", tn.HealthValue)}) {
					return false
				}
			}
		}
		return true
	},
	"MagicWANConnectorMetricsAdaptiveGroups": func(e *Edge, t time.Time, emit func(row) bool) bool {
		for i := range e.Connectors {
			c := &e.Connectors[i]
			if c.live(t) && !emit(row{str("mconnConnectorID", c.ID), at(t), val("haState", c.HAState), val("interfaceCount", 3)}) {
				return false
			}
		}
		return true
	},
	"mconnTelemetryEventsAdaptiveGroups": func(e *Edge, t time.Time, emit func(row) bool) bool {
		for _, ev := range e.Events {
			if ev.Every > 0 && t.Truncate(ev.Every).Equal(t) && !emit(row{str("connectorId", ev.ConnectorID), str("eventType", ev.Type), at(t), val("count", ev.Count)}) {
				return false
			}
		}
		return true
	},
}

// ValidateQuery validates a GraphQL query document against SchemaSDL as the
// simulated API does, and returns the errors a real server would answer.
func ValidateQuery(query string) gqlerror.List {
	schema, err := loadSchema(nil)
	if err != nil {
		return gqlerror.List{gqlerror.Wrap(err)}
	}
	_, errs := parseAndValidate(schema, query)
	return errs
}
