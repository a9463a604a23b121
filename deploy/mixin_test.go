package deploy

// The monitoring mixin (mixin/) is the source of the alert rules and the
// dashboards; what ships for people without jsonnet is its rendering with
// the default _config. These tests render it with go-jsonnet, keep the
// rendered files in sync (-update rewrites them), and check that every
// PromQL expression of a rendering carries the configured selector.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-jsonnet"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/dashboards"
	"go.yaml.in/yaml/v2"
)

const (
	mixinDir = "mixin"
	// defaultSelector is _config.selector of config.libsonnet.
	defaultSelector = `job=~"cloudflare-magic-exporter.*"`
	// customSelector is the selector of the second rendering.
	customSelector = `job="cf-magic-eu"`
	// chartAlertsFile is the Helm chart's copy of alerts.yml, which its
	// PrometheusRule template reads with .Files.Get.
	chartAlertsFile = "helm/cloudflare-magic-exporter/files/alerts.yml"
)

// alertsHeader heads the rendered alerts.yml.
const alertsHeader = `# Alert rules for cloudflare_magic_exporter, rendered from the monitoring
# mixin in deploy/mixin with its default _config by
#   go test ./deploy -run TestMixin -update
# Do not edit: edit deploy/mixin (alerts/alerts.libsonnet; thresholds, "for"
# durations and the job selector in config.libsonnet) and regenerate, or
# render the mixin with your own _config (docs/deployment.md, "Mixin").
#
# - plain Prometheus loads this file as is (rule_files in prometheus.yml);
# - deploy/kubernetes/prometheusrule.yaml and the Helm chart's
#   files/alerts.yml are generated from it by the same command;
# - alerts_test.yml next to it holds the unit tests:
#     promtool test rules deploy/prometheus/alerts_test.yml
#
# Every expression selects the exporter's series by
# job=~"cloudflare-magic-exporter.*", the job name of the shipped scrape
# configs, the Kubernetes Service and the Helm chart's ServiceMonitor.
# Every alert links to its section of docs/runbook.md (runbook_url).
`

// mixinOutput is one rendering of the mixin.
type mixinOutput struct {
	Alerts     ruleFile                   `json:"alerts"`
	Rules      ruleFile                   `json:"rules"`
	Dashboards map[string]json.RawMessage `json:"dashboards"`
}

// renderMixin evaluates the mixin with config merged into its _config
// (a jsonnet object, "{}" for the defaults).
func renderMixin(t *testing.T, config string) mixinOutput {
	t.Helper()
	vm := jsonnet.MakeVM()
	vm.Importer(&jsonnet.FileImporter{JPaths: []string{mixinDir}})
	out, err := vm.EvaluateAnonymousSnippet("render.jsonnet", `
local mixin = (import 'mixin.libsonnet') + { _config+:: `+config+` };
{
  alerts: mixin.prometheusAlerts,
  rules: mixin.prometheusRules,
  dashboards: mixin.grafanaDashboards,
}`)
	if err != nil {
		t.Fatalf("rendering the mixin: %v", err)
	}
	var m mixinOutput
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("the mixin's output: %v", err)
	}
	return m
}

// alertsYAML writes rule groups as the YAML of alerts.yml: block literals
// for expressions, double quotes for annotations, a blank line between
// rules.
func alertsYAML(f ruleFile) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(alertsHeader)
	b.WriteString("groups:\n")
	for i, g := range f.Groups {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "  - name: %s\n", yamlScalar(g.Name))
		if g.Interval != "" {
			fmt.Fprintf(&b, "    interval: %s\n", yamlScalar(g.Interval))
		}
		b.WriteString("    rules:\n")
		for i, r := range g.Rules {
			if i > 0 {
				b.WriteString("\n")
			}
			if r.Alert != "" {
				fmt.Fprintf(&b, "      - alert: %s\n", yamlScalar(r.Alert))
			} else {
				fmt.Fprintf(&b, "      - record: %s\n", yamlScalar(r.Record))
			}
			expr, err := yamlBlock(r.Expr, "          ")
			if err != nil {
				return nil, fmt.Errorf("%s%s: %v", r.Alert, r.Record, err)
			}
			fmt.Fprintf(&b, "        expr: %s", expr)
			if r.For != "" {
				fmt.Fprintf(&b, "        for: %s\n", yamlScalar(r.For))
			}
			for _, m := range []struct {
				name   string
				values map[string]string
				quote  bool
			}{{"labels", r.Labels, false}, {"annotations", r.Annotations, true}} {
				if len(m.values) == 0 {
					continue
				}
				fmt.Fprintf(&b, "        %s:\n", m.name)
				keys := make([]string, 0, len(m.values))
				for k := range m.values {
					keys = append(keys, k)
				}
				// summary, description, runbook_url read best in that order.
				order := map[string]int{"summary": 1, "description": 2, "runbook_url": 3}
				slices.SortFunc(keys, func(a, b string) int {
					if order[a] != order[b] {
						return order[a] - order[b]
					}
					return strings.Compare(a, b)
				})
				for _, k := range keys {
					v := yamlScalar(m.values[k])
					if m.quote {
						v = yamlQuoted(m.values[k])
					}
					fmt.Fprintf(&b, "          %s: %s\n", k, v)
				}
			}
		}
	}
	return b.Bytes(), nil
}

var (
	plainScalarRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	numberRE      = regexp.MustCompile(`^[0-9._]+([eE][0-9]+)?$`)
)

// yamlScalar leaves a simple word ("5m", "critical") plain and quotes
// anything else, and anything YAML would read as a number or a boolean.
func yamlScalar(s string) string {
	if plainScalarRE.MatchString(s) && !numberRE.MatchString(s) && !slices.Contains([]string{"true", "false", "yes", "no", "on", "off", "null"}, strings.ToLower(s)) {
		return s
	}
	return yamlQuoted(s)
}

// yamlQuoted is a YAML double-quoted string: JSON's escapes are YAML's.
func yamlQuoted(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// yamlBlock is a block literal of s, each line indented, with its header
// and a final newline.
func yamlBlock(s, indent string) (string, error) {
	if !strings.Contains(s, "\n") {
		return yamlQuoted(s) + "\n", nil
	}
	if strings.HasPrefix(s, " ") || strings.HasSuffix(s, "\n\n") || strings.ContainsAny(s, "\t\r") {
		return "", fmt.Errorf("expression %q cannot be a plain block literal", s)
	}
	header := "|"
	if !strings.HasSuffix(s, "\n") {
		header = "|-"
		s += "\n"
	}
	var b strings.Builder
	b.WriteString(header + "\n")
	for _, line := range strings.SplitAfter(strings.TrimSuffix(s, "\n"), "\n") {
		line = strings.TrimSuffix(line, "\n")
		if line != "" {
			b.WriteString(indent + line)
		}
		b.WriteString("\n")
	}
	return b.String(), nil
}

// dashboardJSON is a dashboard as committed: two-space indentation, keys
// sorted, numbers as jsonnet wrote them.
func dashboardJSON(raw json.RawMessage) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// mixinFiles is every file rendered from the mixin with its default
// _config, by path relative to this package.
func mixinFiles(t *testing.T, m mixinOutput) map[string][]byte {
	t.Helper()
	if len(m.Rules.Groups) > 0 {
		t.Fatal("the mixin has recording rules now: render them to a file of their own and load it beside alerts.yml")
	}
	files := map[string][]byte{}
	alerts, err := alertsYAML(m.Alerts)
	if err != nil {
		t.Fatal(err)
	}
	files[alertsFile] = alerts
	files[chartAlertsFile] = alerts
	rule, err := prometheusRule(alerts)
	if err != nil {
		t.Fatal(err)
	}
	files[prometheusRuleFile] = rule
	for name, raw := range m.Dashboards {
		b, err := dashboardJSON(raw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		files[filepath.Join(dashboardsDir, name)] = b
	}
	return files
}

// TestMixin renders the mixin with the default _config and checks that the
// committed alert rules (and their copies for the Prometheus Operator and
// the Helm chart) and dashboards are its output, byte for byte; -update
// rewrites them.
func TestMixin(t *testing.T) {
	m := renderMixin(t, "{}")
	files := mixinFiles(t, m)

	// The rendered YAML reads back as the mixin's groups.
	var back ruleFile
	if err := yaml.UnmarshalStrict(files[alertsFile], &back); err != nil {
		t.Fatalf("rendered alerts: %v", err)
	}
	if !reflect.DeepEqual(back, m.Alerts) {
		t.Errorf("the rendered alerts.yml does not read back as the mixin's groups")
	}

	for path, want := range files {
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is not the mixin's output: run go test ./deploy -run TestMixin -update (%v)", path, err)
		}
	}
	// No dashboard the mixin does not render.
	committed, _ := filepath.Glob(filepath.Join(dashboardsDir, "*.json"))
	for _, f := range committed {
		if _, ok := files[f]; !ok {
			t.Errorf("%s is not rendered by the mixin: add it to deploy/mixin/dashboards or delete it", f)
		}
	}
}

// TestMixinSelector renders the mixin with the default and with a custom
// selector, and checks that every vector selector of every alert, every
// dashboard query and every dashboard variable carries it.
func TestMixinSelector(t *testing.T) {
	def := renderMixin(t, "{}")
	custom := renderMixin(t, fmt.Sprintf("{ selector: %q }", customSelector))
	for _, tc := range []struct {
		selector string
		m        mixinOutput
	}{{defaultSelector, def}, {customSelector, custom}} {
		for where, expr := range mixinExprs(t, tc.m) {
			sels, err := vectorSelectors(expr)
			if err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			if len(sels) == 0 {
				t.Errorf("%s selects no series: %s", where, expr)
			}
			for _, s := range sels {
				if !strings.Contains(s.matchers, tc.selector) {
					t.Errorf("%s: %s{%s} lacks the selector %s", where, s.name, s.matchers, tc.selector)
				}
			}
		}
	}
	// And the custom rendering changes every alert and every query.
	defExprs, customExprs := mixinExprs(t, def), mixinExprs(t, custom)
	if len(defExprs) != len(customExprs) {
		t.Fatalf("the renderings differ in shape: %d and %d expressions", len(defExprs), len(customExprs))
	}
	for where, e := range defExprs {
		if customExprs[where] == e {
			t.Errorf("%s is the same with selector %s", where, customSelector)
		}
	}
}

// mixinExprs returns every PromQL expression of a rendering by where it is:
// alert expressions, queries in alert annotations, dashboard queries and
// query variables.
func mixinExprs(t *testing.T, m mixinOutput) map[string]string {
	t.Helper()
	exprs := map[string]string{}
	for _, g := range m.Alerts.Groups {
		for _, r := range g.Rules {
			exprs["rule "+r.Alert+r.Record] = r.Expr
			for k, v := range r.Annotations {
				for i, q := range annotationQueryRE.FindAllStringSubmatch(v, -1) {
					exprs[fmt.Sprintf("rule %s %s query %d", r.Alert, k, i)] = strings.ReplaceAll(q[1], "%q", `"x"`)
				}
			}
		}
	}
	for name, raw := range m.Dashboards {
		var d map[string]any
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatal(err)
		}
		db := dashboards.Dashboard{File: name, JSON: d}
		for _, tg := range db.Targets() {
			exprs[tg.Where] = tg.Expr
		}
		for vname, v := range db.Variables() {
			if q := variableQuery(v); q != "" {
				exprs[name+" / variable "+vname] = q
			}
		}
	}
	return exprs
}

// annotationQueryRE finds the PromQL of a `query` call in an alert template.
var annotationQueryRE = regexp.MustCompile("query \\(printf `([^`]*)`")

// variableQuery is the PromQL inside a query variable's definition.
func variableQuery(v map[string]any) string {
	def, _ := v["definition"].(string)
	if m := labelValuesRE.FindStringSubmatch(def); m != nil {
		return m[1]
	}
	if m := queryResultRE.FindStringSubmatch(def); m != nil {
		return m[1]
	}
	return ""
}

// queryResultRE parses a query_result(expr) variable.
var queryResultRE = regexp.MustCompile(`^query_result\((.+)\)$`)

// vectorSelector is one metric selector of a PromQL expression.
type vectorSelector struct {
	name     string // empty for {…} alone
	matchers string // what is inside the braces
}

// promqlWords are the identifiers of PromQL that are not metric names.
var promqlWords = map[string]bool{
	"and": true, "or": true, "unless": true, "bool": true, "offset": true, "atan2": true,
	"inf": true, "nan": true,
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
	"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
}

// promqlLabelLists are the words followed by a list of label names.
var promqlLabelLists = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

// vectorSelectors finds the metric selectors of a PromQL expression without
// a PromQL parser (the module does not depend on Prometheus): it skips
// strings, ranges, numbers, function and aggregation names and label lists,
// and takes every other identifier, with its {…} if any, for a metric.
// promtool and a real Prometheus check that the expressions parse.
func vectorSelectors(expr string) ([]vectorSelector, error) {
	var out []vectorSelector
	s := expr
	i := 0
	skipSpace := func() {
		for i < len(s) && strings.ContainsRune(" \t\r\n", rune(s[i])) {
			i++
		}
	}
	// closing returns the index after the bracket that closes the one at i,
	// skipping strings.
	closing := func(open, close byte) (int, error) {
		depth := 0
		for j := i; j < len(s); j++ {
			switch s[j] {
			case '"', '\'', '`':
				q := s[j]
				for j++; j < len(s) && s[j] != q; j++ {
					if s[j] == '\\' && q != '`' {
						j++
					}
				}
			case open:
				depth++
			case close:
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, fmt.Errorf("unbalanced %c in %s", open, expr)
	}
	isIdent := func(c byte, first bool) bool {
		return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || !first && c >= '0' && c <= '9'
	}
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			// A string outside braces: skip it.
			for i++; i < len(s) && s[i] != c; i++ {
				if s[i] == '\\' && c != '`' {
					i++
				}
			}
			i++
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '[':
			end, err := closing('[', ']')
			if err != nil {
				return nil, err
			}
			i = end
		case c == '{':
			end, err := closing('{', '}')
			if err != nil {
				return nil, err
			}
			out = append(out, vectorSelector{matchers: s[i+1 : end-1]})
			i = end
		case c >= '0' && c <= '9' || c == '.':
			for i < len(s) && (isIdent(s[i], false) || s[i] == '.') {
				i++
			}
		case isIdent(c, true):
			start := i
			for i < len(s) && isIdent(s[i], false) {
				i++
			}
			word := s[start:i]
			skipSpace()
			switch {
			case promqlLabelLists[strings.ToLower(word)]:
				if i < len(s) && s[i] == '(' {
					end, err := closing('(', ')')
					if err != nil {
						return nil, err
					}
					i = end
				}
			case promqlWords[strings.ToLower(word)]:
			case i < len(s) && s[i] == '(':
				// A function call.
			case i < len(s) && s[i] == '{':
				end, err := closing('{', '}')
				if err != nil {
					return nil, err
				}
				out = append(out, vectorSelector{name: word, matchers: s[i+1 : end-1]})
				i = end
			default:
				out = append(out, vectorSelector{name: word})
			}
		default:
			i++
		}
	}
	return out, nil
}

func TestVectorSelectors(t *testing.T) {
	got, err := vectorSelectors(`sum without (code) (increase(a{x="}"}[5m])) > 0 or b unless on(k) topk by (k) (1, c{y=~"$v"}) * on() group_left(l) {__name__="d"} offset 5m and label_replace(e, "dst", "$1", "src", "(.*)")`)
	if err != nil {
		t.Fatal(err)
	}
	want := []vectorSelector{{"a", `x="}"`}, {"b", ""}, {"c", `y=~"$v"`}, {"", `__name__="d"`}, {"e", ""}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestMixinQueriesParse has promtool parse every dashboard query and
// variable query (with Grafana's variables replaced as for the real
// Prometheus test), as recording rules of a scratch rule file.
func TestMixinQueriesParse(t *testing.T) {
	t.Parallel()
	promtool := requireTool(t, "promtool")
	var f ruleFile
	g := ruleGroup{Name: "dashboards"}
	exprs := mixinExprs(t, renderMixin(t, "{}"))
	keys := make([]string, 0, len(exprs))
	for k := range exprs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		g.Rules = append(g.Rules, rule{Record: fmt.Sprintf("query_%d", i), Expr: e2eDashboardVariables.Replace(exprs[k])})
	}
	f.Groups = []ruleGroup{g}
	b, err := yaml.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "queries.yml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput(); err != nil {
		// Name the queries promtool refers to by index.
		var names strings.Builder
		for i, k := range keys {
			fmt.Fprintf(&names, "query_%d: %s\n", i, k)
		}
		t.Errorf("promtool check rules: %v\n%s\n%s", err, out, names.String())
	}
}
