package main

// Tests of what ships beside the binary: the container build, the alert
// rules, the Prometheus and Kubernetes configuration and the Grafana
// dashboards; and, on a real Prometheus server scraping the exporter, that
// every PromQL expression they hold is valid and finds the simulated fleet.

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v2"
)

var update = flag.Bool("update", false, "rewrite "+prometheusRuleFile+" from "+alertsFile)

const (
	alertsFile           = "deploy/prometheus/alerts.yml"
	alertsTestFile       = "deploy/prometheus/alerts_test.yml"
	prometheusConfigFile = "deploy/prometheus/prometheus.yml"
	probeConfigFile      = "deploy/prometheus/prometheus-probe.yml"
	prometheusRuleFile   = "deploy/kubernetes/prometheusrule.yaml"
	kustomizeDir         = "deploy/kubernetes"
	dashboardsDir        = "dashboards"
	// jobName is the scrape job of the shipped configurations and the
	// Kubernetes Service; rules and dashboards match jobs by its prefix.
	jobName    = "cloudflare-magic-exporter"
	runbookURL = "https://github.com/magicwan-exporter/cloudflare_magic_exporter/blob/main/README.md#"
)

// pendingMetrics are metrics that rules and dashboards use and that other
// changes add to the exporter; until they land, expressions on them find
// nothing, and their unless clauses are no-ops.
var pendingMetrics = map[string]string{
	"cloudflare_magic_last_success_timestamp_seconds":                          "last successful call",
	"cloudflare_magic_api_ratelimit_remaining":                                 "rate-limit headers",
	"cloudflare_magic_api_ratelimit_limit":                                     "rate-limit headers",
	"cloudflare_magic_api_ratelimit_reset_seconds":                             "rate-limit headers",
	"cloudflare_magic_api_backoff_seconds":                                     "backoff after a 429",
	"cloudflare_magic_account_info":                                            "account names",
	"cloudflare_magic_connector_interrupt_window_active":                       "upgrade windows",
	"cloudflare_magic_connector_interrupt_window_next_start_timestamp_seconds": "upgrade windows",
}

// requireTool returns the path of a tool a test needs. CI installs it
// (.ci/run), so there its absence fails the test; elsewhere the test is
// skipped.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed; .ci/run installs it", name)
		}
		t.Skipf("%s not found: skipping", name)
	}
	return path
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ---------------------------------------------------------------- rules

type ruleFile struct {
	Groups []ruleGroup `yaml:"groups"`
}

type ruleGroup struct {
	Name     string `yaml:"name"`
	Interval string `yaml:"interval,omitempty"`
	Rules    []rule `yaml:"rules"`
}

type rule struct {
	Alert       string            `yaml:"alert,omitempty"`
	Record      string            `yaml:"record,omitempty"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

func loadAlertRules(t *testing.T) []rule {
	t.Helper()
	var f ruleFile
	if err := yaml.UnmarshalStrict(readFile(t, alertsFile), &f); err != nil {
		t.Fatalf("%s: %v", alertsFile, err)
	}
	var rules []rule
	for _, g := range f.Groups {
		rules = append(rules, g.Rules...)
	}
	if len(rules) == 0 {
		t.Fatalf("%s has no rules", alertsFile)
	}
	return rules
}

// TestPromtool checks the rules, runs their unit tests and checks the
// Prometheus configurations with promtool.
func TestPromtool(t *testing.T) {
	t.Parallel()
	promtool := requireTool(t, "promtool")
	for _, args := range [][]string{
		{"check", "rules", alertsFile},
		{"test", "rules", alertsTestFile},
		{"check", "config", prometheusConfigFile},
		{"check", "config", probeConfigFile},
	} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// prometheusRuleHeader heads the PrometheusRule generated from alerts.yml.
const prometheusRuleHeader = `# Generated from deploy/prometheus/alerts.yml, the one source of the alert
# rules, by: go test . -run TestPrometheusRuleInSync -update
# Do not edit: edit alerts.yml and regenerate.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: cloudflare-magic-exporter
  labels:
    app.kubernetes.io/name: cloudflare-magic-exporter
    app.kubernetes.io/component: alert-rules
spec:
`

// prometheusRule wraps the groups of a rule file in a PrometheusRule, line
// for line, so its comments come along.
func prometheusRule(alerts []byte) ([]byte, error) {
	i := bytes.Index(alerts, []byte("\ngroups:\n"))
	if i < 0 {
		return nil, fmt.Errorf("%s has no top-level groups: line", alertsFile)
	}
	var b bytes.Buffer
	b.WriteString(prometheusRuleHeader)
	for _, line := range strings.SplitAfter(string(alerts[i+1:]), "\n") {
		if strings.TrimSpace(line) != "" {
			b.WriteString("  ")
		}
		b.WriteString(line)
	}
	return b.Bytes(), nil
}

// TestPrometheusRuleInSync keeps the Prometheus Operator's copy of the rules
// identical to alerts.yml; -update rewrites it.
func TestPrometheusRuleInSync(t *testing.T) {
	alerts := readFile(t, alertsFile)
	want, err := prometheusRule(alerts)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(prometheusRuleFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := readFile(t, prometheusRuleFile)
	if !bytes.Equal(got, want) {
		t.Errorf("%s is out of date with %s: run go test . -run TestPrometheusRuleInSync -update", prometheusRuleFile, alertsFile)
	}

	// And a YAML parser reads the same groups from both.
	var src ruleFile
	if err := yaml.UnmarshalStrict(alerts, &src); err != nil {
		t.Fatal(err)
	}
	var cr struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Metadata   any    `yaml:"metadata"`
		Spec       ruleFile
	}
	if err := yaml.UnmarshalStrict(got, &cr); err != nil {
		t.Fatalf("%s: %v", prometheusRuleFile, err)
	}
	if cr.Kind != "PrometheusRule" || len(src.Groups) == 0 || !reflect.DeepEqual(cr.Spec.Groups, src.Groups) {
		t.Errorf("%s does not hold the groups of %s", prometheusRuleFile, alertsFile)
	}
}

// ---------------------------------------------------------------- Kubernetes

// TestKustomizeBuild builds the Kubernetes base with kubectl, when it is
// installed, and checks what the README promises of it.
func TestKustomizeBuild(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl not found: skipping kubectl kustomize")
	}
	cmd := exec.Command(kubectl, "kustomize", kustomizeDir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl kustomize %s: %v\n%s", kustomizeDir, err, stderr.String())
	}
	if bytes.Contains(out, []byte("CLOUDFLARE_API_TOKEN")) || bytes.Contains(out, []byte("CLOUDFLARE_API_KEY")) {
		t.Error("the manifests pass a credential in an environment variable; mount it as a file")
	}

	type probe struct {
		HTTPGet struct {
			Path string `yaml:"path"`
		} `yaml:"httpGet"`
	}
	type object struct {
		Kind     string `yaml:"kind"`
		Metadata struct {
			Name string `yaml:"name"`
		} `yaml:"metadata"`
		Spec struct {
			Ports []struct {
				Name string `yaml:"name"`
			} `yaml:"ports"`
			Endpoints []struct {
				Port string `yaml:"port"`
			} `yaml:"endpoints"`
			Groups   []ruleGroup `yaml:"groups"`
			Template struct {
				Spec struct {
					SecurityContext struct {
						RunAsNonRoot bool `yaml:"runAsNonRoot"`
					} `yaml:"securityContext"`
					Containers []struct {
						Args  []string `yaml:"args"`
						Ports []struct {
							ContainerPort int `yaml:"containerPort"`
						} `yaml:"ports"`
						LivenessProbe   *probe                       `yaml:"livenessProbe"`
						ReadinessProbe  *probe                       `yaml:"readinessProbe"`
						Resources       map[string]map[string]string `yaml:"resources"`
						SecurityContext struct {
							AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
							ReadOnlyRootFilesystem   bool  `yaml:"readOnlyRootFilesystem"`
							Capabilities             struct {
								Drop []string `yaml:"drop"`
							} `yaml:"capabilities"`
						} `yaml:"securityContext"`
						VolumeMounts []struct {
							Name      string `yaml:"name"`
							MountPath string `yaml:"mountPath"`
						} `yaml:"volumeMounts"`
					} `yaml:"containers"`
					Volumes []struct {
						Name   string `yaml:"name"`
						Secret *struct {
							SecretName string `yaml:"secretName"`
						} `yaml:"secret"`
					} `yaml:"volumes"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	byKind := map[string]object{}
	for _, doc := range strings.Split(string(out), "\n---\n") {
		var o object
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			t.Fatalf("kustomize output: %v\n%s", err, doc)
		}
		byKind[o.Kind] = o
	}
	for _, kind := range []string{"Deployment", "Service", "ServiceMonitor", "PrometheusRule", "ConfigMap"} {
		if _, ok := byKind[kind]; !ok {
			t.Errorf("the base lacks a %s", kind)
		}
	}
	if _, ok := byKind["Secret"]; ok {
		t.Error("the base holds a Secret: the token must never be committed")
	}
	if byKind["Service"].Metadata.Name != jobName {
		t.Errorf("Service %q: the Prometheus Operator names the job after it, and the rules expect %q", byKind["Service"].Metadata.Name, jobName)
	}
	if sm, svc := byKind["ServiceMonitor"].Spec.Endpoints, byKind["Service"].Spec.Ports; len(sm) != 1 || len(svc) != 1 || sm[0].Port != svc[0].Name {
		t.Errorf("the ServiceMonitor's endpoints %v do not scrape the Service's port %v", sm, svc)
	}
	var alerts ruleFile
	if err := yaml.Unmarshal(readFile(t, alertsFile), &alerts); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(byKind["PrometheusRule"].Spec.Groups, alerts.Groups) {
		t.Errorf("the PrometheusRule does not hold the groups of %s", alertsFile)
	}

	pod := byKind["Deployment"].Spec.Template.Spec
	if !pod.SecurityContext.RunAsNonRoot {
		t.Error("the pod may run as root")
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("want one container, got %d", len(pod.Containers))
	}
	c := pod.Containers[0]
	secretVolumes := map[string]bool{}
	for _, v := range pod.Volumes {
		if v.Secret != nil {
			secretVolumes[v.Name] = true
		}
	}
	tokenFromSecret := false
	for _, a := range c.Args {
		if path, ok := strings.CutPrefix(a, "--cloudflare.api-token-file="); ok {
			for _, m := range c.VolumeMounts {
				if secretVolumes[m.Name] && filepath.Dir(path) == m.MountPath {
					tokenFromSecret = true
				}
			}
		}
	}
	if !tokenFromSecret {
		t.Errorf("the token is not read from a file of a mounted Secret: args %q", c.Args)
	}
	if len(c.Ports) != 1 || ":"+strconv.Itoa(c.Ports[0].ContainerPort) != defaultPort {
		t.Errorf("container ports %v, want the default port %s", c.Ports, defaultPort)
	}
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/-/healthy" {
		t.Errorf("liveness probe %+v, want /-/healthy", c.LivenessProbe)
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/-/ready" {
		t.Errorf("readiness probe %+v, want /-/ready", c.ReadinessProbe)
	}
	for _, kind := range []string{"requests", "limits"} {
		for _, res := range []string{"cpu", "memory"} {
			if c.Resources[kind][res] == "" {
				t.Errorf("no %s %s", res, kind)
			}
		}
	}
	sc := c.SecurityContext
	if !sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || !slices.Equal(sc.Capabilities.Drop, []string{"ALL"}) {
		t.Errorf("container security context %+v: want a read-only root, no privilege escalation and every capability dropped", sc)
	}
}

// ---------------------------------------------------------------- container

// TestDockerfile checks what a docker build cannot check here: the Go
// version agrees with go.mod, the port with the exporter's default, and the
// image runs the static, version-stamped binary as a non-root user.
func TestDockerfile(t *testing.T) {
	df := string(readFile(t, "Dockerfile"))
	gomod := string(readFile(t, "go.mod"))
	modGo := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(gomod)
	imageGo := regexp.MustCompile(`(?m)^ARG GO_VERSION=(\d+\.\d+)`).FindStringSubmatch(df)
	if modGo == nil || imageGo == nil || modGo[1] != imageGo[1] {
		t.Errorf("Dockerfile builds with Go %v, go.mod asks for %v", imageGo, modGo)
	}
	for _, want := range []string{
		"FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build",
		"CGO_ENABLED=0",
		"-trimpath",
		"-X github.com/prometheus/common/version.Version=${VERSION}",
		"-X github.com/prometheus/common/version.Revision=${REVISION}",
		"-X github.com/prometheus/common/version.Branch=${BRANCH}",
		"-X github.com/prometheus/common/version.BuildDate=${BUILD_DATE}",
		"FROM gcr.io/distroless/static-debian12:nonroot",
		"\nUSER 65532:65532\n",
		"\nEXPOSE " + strings.TrimPrefix(defaultPort, ":") + "\n",
		`ENTRYPOINT ["/bin/` + exporterName + `"]`,
	} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}

// ---------------------------------------------------------------- dashboards

type dashboard struct {
	file string
	json map[string]any
}

// dashboardTarget is one PromQL query of a dashboard panel.
type dashboardTarget struct {
	where      string // file / panel title / refId
	expr       string
	datasource any
}

func loadDashboards(t *testing.T) []dashboard {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dashboardsDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards in %s: %v", dashboardsDir, err)
	}
	var out []dashboard
	for _, f := range files {
		var d map[string]any
		if err := json.Unmarshal(readFile(t, f), &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, dashboard{file: filepath.Base(f), json: d})
	}
	return out
}

// panels returns every panel, those inside collapsed rows included.
func (d dashboard) panels() []map[string]any {
	var out []map[string]any
	var walk func(v any)
	walk = func(v any) {
		list, _ := v.([]any)
		for _, p := range list {
			if pm, ok := p.(map[string]any); ok {
				out = append(out, pm)
				walk(pm["panels"])
			}
		}
	}
	walk(d.json["panels"])
	return out
}

func (d dashboard) targets() []dashboardTarget {
	var out []dashboardTarget
	for _, p := range d.panels() {
		targets, _ := p["targets"].([]any)
		for _, tv := range targets {
			tm, _ := tv.(map[string]any)
			expr, _ := tm["expr"].(string)
			out = append(out, dashboardTarget{
				where:      fmt.Sprintf("%s / %v / %v", d.file, p["title"], tm["refId"]),
				expr:       expr,
				datasource: tm["datasource"],
			})
		}
	}
	return out
}

// variables returns the template variables by name.
func (d dashboard) variables() map[string]map[string]any {
	out := map[string]map[string]any{}
	templating, _ := d.json["templating"].(map[string]any)
	list, _ := templating["list"].([]any)
	for _, v := range list {
		if vm, ok := v.(map[string]any); ok {
			name, _ := vm["name"].(string)
			out[name] = vm
		}
	}
	return out
}

var (
	datasourceRef = map[string]any{"type": "prometheus", "uid": "${datasource}"}
	// accountMetricRE finds the metrics that carry account_id: a panel on
	// them must honour the account variable.
	accountMetricRE = regexp.MustCompile(`cloudflare_magic_(connector_|app_info|apps\b|up\b|scrape_duration_seconds|last_success_timestamp_seconds|account_info)`)
	variableRE      = regexp.MustCompile(`\$\{?(\w+)`)
	labelValuesRE   = regexp.MustCompile(`^label_values\((\w+), *(\w+)\)$`)
)

// grafanaVariables are Grafana's built-in variables the dashboards may use.
var grafanaVariables = map[string]bool{"__rate_interval": true, "__interval": true, "__range": true}

// TestDashboards checks the dashboards without Grafana: JSON of a current
// schema, the data source and account variables, and every query on the
// data source variable.
func TestDashboards(t *testing.T) {
	uids := map[string]string{}
	for _, d := range loadDashboards(t) {
		t.Run(d.file, func(t *testing.T) {
			if _, ok := d.json["__inputs"]; ok {
				t.Error("has __inputs: use the datasource variable instead, so provisioning needs no import step")
			}
			if v, _ := d.json["schemaVersion"].(float64); v < 38 {
				t.Errorf("schemaVersion %v, want 38 (Grafana 10) or later", d.json["schemaVersion"])
			}
			uid, _ := d.json["uid"].(string)
			if uid == "" || uids[uid] != "" {
				t.Errorf("uid %q is empty or also used by %s", uid, uids[uid])
			}
			uids[uid] = d.file
			if title, _ := d.json["title"].(string); title == "" {
				t.Error("no title")
			}

			vars := d.variables()
			if ds := vars["datasource"]; ds["type"] != "datasource" || ds["query"] != "prometheus" {
				t.Errorf("datasource variable %v, want type datasource, query prometheus", ds)
			}
			acc := vars["account"]
			if acc["type"] != "query" || acc["definition"] != "label_values(cloudflare_magic_up, account_id)" ||
				acc["multi"] != true || acc["includeAll"] != true || !reflect.DeepEqual(acc["datasource"], datasourceRef) {
				t.Errorf("account variable %v, want a multi-value query label_values(cloudflare_magic_up, account_id) with All, on ${datasource}", acc)
			}
			for name, v := range vars {
				if v["type"] == "query" && labelValuesRE.FindStringSubmatch(fmt.Sprint(v["definition"])) == nil {
					t.Errorf("variable %s: definition %q is not label_values(metric, label)", name, v["definition"])
				}
			}

			ids := map[float64]bool{}
			for _, p := range d.panels() {
				id, _ := p["id"].(float64)
				if ids[id] {
					t.Errorf("panel id %v is used twice", id)
				}
				ids[id] = true
				if _, ok := p["gridPos"].(map[string]any); !ok {
					t.Errorf("panel %v has no gridPos", p["title"])
				}
				if p["type"] == "row" {
					continue
				}
				if !reflect.DeepEqual(p["datasource"], datasourceRef) {
					t.Errorf("panel %v: datasource %v, want %v", p["title"], p["datasource"], datasourceRef)
				}
			}
			targets := d.targets()
			if len(targets) == 0 {
				t.Error("no queries")
			}
			for _, tg := range targets {
				if !reflect.DeepEqual(tg.datasource, datasourceRef) {
					t.Errorf("%s: datasource %v, want %v", tg.where, tg.datasource, datasourceRef)
				}
				if strings.TrimSpace(tg.expr) == "" {
					t.Errorf("%s: no expr", tg.where)
				}
				if accountMetricRE.MatchString(tg.expr) && !strings.Contains(tg.expr, `account_id=~"$account"`) {
					t.Errorf("%s: queries account series without account_id=~\"$account\": %s", tg.where, tg.expr)
				}
				for _, m := range variableRE.FindAllStringSubmatch(tg.expr, -1) {
					if vars[m[1]] == nil && !grafanaVariables[m[1]] {
						t.Errorf("%s: unknown variable $%s", tg.where, m[1])
					}
				}
			}
		})
	}
}

// ---------------------------------------------------------------- metric names

// deployExprs returns every PromQL expression that ships, by where it is.
func deployExprs(t *testing.T) map[string]string {
	t.Helper()
	exprs := map[string]string{}
	for _, r := range loadAlertRules(t) {
		exprs["rule "+r.Alert] = r.Expr
		exprs["rule "+r.Alert+" description"] = r.Annotations["description"]
	}
	for _, d := range loadDashboards(t) {
		for _, tg := range d.targets() {
			exprs[tg.where] = tg.expr
		}
		for name, v := range d.variables() {
			if def, ok := v["definition"].(string); ok {
				exprs[d.file+" / variable "+name] = def
			}
		}
	}
	return exprs
}

var metricNameRE = regexp.MustCompile(`\bcloudflare_magic_[a-z0-9_]+`)

// TestDeployMetricNames catches a misspelt metric in a rule or a dashboard:
// every cloudflare_magic_* name they use is served by the exporter, or is
// one of the pendingMetrics.
func TestDeployMetricNames(t *testing.T) {
	p := startExporter(t, nil, "--demo")
	_, page := p.get(t, "/metrics")
	served := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^# TYPE (cloudflare_magic_\S+) `).FindAllStringSubmatch(page, -1) {
		served[m[1]] = true
	}
	for where, expr := range deployExprs(t) {
		for _, name := range metricNameRE.FindAllString(expr, -1) {
			if !served[name] && pendingMetrics[name] == "" {
				t.Errorf("%s uses %s, which the exporter does not serve", where, name)
			}
		}
	}
	for name := range pendingMetrics {
		if served[name] {
			t.Logf("%s is served now: drop it from pendingMetrics", name)
		}
	}
}
