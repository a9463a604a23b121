package deploy

// Tests of what ships beside the binary: the container build, the alert
// rules, the Prometheus and Kubernetes configuration; and, on a real
// Prometheus server scraping the exporter, that every PromQL expression of
// the rules and of the dashboards (../dashboards) is valid and finds the
// simulated fleet. The dashboards' own checks are in that package.

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v2"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/exportertest"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/dashboards"
)

var update = flag.Bool("update", false, "rewrite the files rendered from the mixin ("+alertsFile+", "+prometheusRuleFile+", the chart's copy, the dashboards)")

const (
	alertsFile           = "prometheus/alerts.yml"
	alertsTestFile       = "prometheus/alerts_test.yml"
	prometheusConfigFile = "prometheus/prometheus.yml"
	probeConfigFile      = "prometheus/prometheus-probe.yml"
	prometheusRuleFile   = "kubernetes/prometheusrule.yaml"
	kustomizeDir         = "kubernetes"
	dashboardsDir        = "../dashboards"
	dockerfile           = "../Dockerfile"
	goMod                = "../go.mod"
	// runbookFile holds a section per alert, which runbook_url links to.
	runbookFile = "../docs/runbook.md"
	// jobName is the scrape job of the shipped configurations and the
	// Kubernetes Service; rules and dashboards match jobs by its prefix.
	jobName    = "cloudflare-magic-exporter"
	runbookURL = "https://github.com/magicwan-exporter/cloudflare_magic_exporter/blob/main/docs/runbook.md#"
)

// requireTool returns the path of promtool or prometheus (Debian's
// prometheus package brings both): CI installs them, elsewhere the test is
// skipped, and .ci/test says so.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	return exportertest.Tool(t, name, "apt-get install prometheus")
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

// TestAlertRulesComplete checks what promtool does not: every alert has a
// severity, a summary, a description naming the site when it is about a
// connector or a site, a runbook link to a section of the runbook that exists,
// a row in the runbook's alerts table, and unit tests where it fires and
// where it does not.
func TestAlertRulesComplete(t *testing.T) {
	runbook := string(readFile(t, runbookFile))
	anchors := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#+ (.+)$`).FindAllStringSubmatch(runbook, -1) {
		anchors[githubAnchor(m[1])] = true
	}
	tableAlerts := map[string]bool{}
	for _, a := range exportertest.MarkdownColumn(t, runbookFile, "Alert") {
		tableAlerts[a] = true
	}
	firing, quiet := alertUnitTests(t)

	rules := loadAlertRules(t)
	seen := map[string]bool{}
	for _, r := range rules {
		if r.Alert == "" {
			t.Errorf("rule %q is not an alert; the end-to-end test knows only alerts", r.Record)
			continue
		}
		if seen[r.Alert] {
			t.Errorf("alert %s is defined twice", r.Alert)
		}
		seen[r.Alert] = true
		if s := r.Labels["severity"]; !slices.Contains([]string{"critical", "warning", "info"}, s) {
			t.Errorf("%s: severity %q, want critical, warning or info", r.Alert, s)
		}
		if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
			t.Errorf("%s lacks a summary or a description", r.Alert)
		}
		d := r.Annotations["description"]
		if strings.Contains(r.Expr, "connector_id") && !strings.Contains(d, "$labels.notes") && !strings.Contains(d, "$labels.site_name") {
			t.Errorf("%s is about a connector, but its description does not name the site ($labels.notes or $labels.site_name)", r.Alert)
		}
		if strings.Contains(r.Expr, "site_id") && strings.Contains(r.Expr, "cloudflare_magic_site_") && !strings.Contains(d, "$labels.site_name") {
			t.Errorf("%s is about a site, but its description does not name it ($labels.site_name)", r.Alert)
		}
		anchor := strings.ToLower(r.Alert)
		if got, want := r.Annotations["runbook_url"], runbookURL+anchor; got != want {
			t.Errorf("%s: runbook_url %q, want %q", r.Alert, got, want)
		}
		if !anchors[anchor] {
			t.Errorf("%s: %s has no runbook section #%s", r.Alert, runbookFile, anchor)
		}
		if !tableAlerts[r.Alert] {
			t.Errorf("%s is missing from the alerts table of %s", r.Alert, runbookFile)
		}
		if !firing[r.Alert] {
			t.Errorf("%s: %s has no case where it fires", r.Alert, alertsTestFile)
		}
		if !quiet[r.Alert] {
			t.Errorf("%s: %s has no case where it must not fire", r.Alert, alertsTestFile)
		}
	}
	for a := range tableAlerts {
		if !seen[a] {
			t.Errorf("the alerts table of %s lists %s, which %s lacks", runbookFile, a, alertsFile)
		}
	}
}

// alertUnitTests returns which alerts the unit tests expect to fire, and
// which they expect not to, at some point.
func alertUnitTests(t *testing.T) (firing, quiet map[string]bool) {
	t.Helper()
	var f struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string `yaml:"alertname"`
				ExpAlerts []any  `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	if err := yaml.Unmarshal(readFile(t, alertsTestFile), &f); err != nil {
		t.Fatalf("%s: %v", alertsTestFile, err)
	}
	firing, quiet = map[string]bool{}, map[string]bool{}
	for _, tc := range f.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				firing[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	return firing, quiet
}

// githubAnchor is the fragment GitHub gives a Markdown heading.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		}
	}
	return b.String()
}

// prometheusRuleHeader heads the PrometheusRule generated from alerts.yml.
const prometheusRuleHeader = `# Generated from deploy/prometheus/alerts.yml, the rendering of the
# monitoring mixin (deploy/mixin), by: go test ./deploy -run TestMixin -update
# Do not edit: edit deploy/mixin and regenerate.
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
		t.Errorf("%s is out of date with %s: run go test ./deploy -run TestMixin -update", prometheusRuleFile, alertsFile)
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
// installed, and checks what docs/deployment.md promises of it.
func TestKustomizeBuild(t *testing.T) {
	// Optional, in CI too: the Helm chart is checked the same way.
	kubectl := exportertest.OptionalTool(t, "kubectl", "kubectl kustomize builds the base")
	out := runManifestTool(t, kubectl, "kustomize", kustomizeDir)
	checkManifests(t, "the kustomize base", out, manifestWants{
		kinds:   []string{"Deployment", "Service", "ServiceMonitor", "PrometheusRule", "ConfigMap"},
		secret:  "cloudflare-magic-exporter",
		noKinds: []string{"Secret"},
	})
}

// runManifestTool runs kubectl kustomize or helm template and returns what
// it printed.
func runManifestTool(t *testing.T, tool string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(tool, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(tool), strings.Join(args, " "), err, stderr.String())
	}
	return out
}

type k8sProbe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
	} `yaml:"httpGet"`
}

// k8sObject is what the checks read of a Kubernetes object.
type k8sObject struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name   string            `yaml:"name"`
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
	Spec       struct {
		JobLabel string `yaml:"jobLabel"`
		Ports    []struct {
			Name string `yaml:"name"`
		} `yaml:"ports"`
		Endpoints []struct {
			Port        string `yaml:"port"`
			HonorLabels bool   `yaml:"honorLabels"`
		} `yaml:"endpoints"`
		Groups   []ruleGroup `yaml:"groups"`
		Template struct {
			Spec struct {
				AutomountServiceAccountToken *bool `yaml:"automountServiceAccountToken"`
				SecurityContext              struct {
					RunAsNonRoot   bool `yaml:"runAsNonRoot"`
					SeccompProfile struct {
						Type string `yaml:"type"`
					} `yaml:"seccompProfile"`
				} `yaml:"securityContext"`
				Containers []struct {
					Args  []string `yaml:"args"`
					Env   []any    `yaml:"env"`
					Ports []struct {
						ContainerPort int `yaml:"containerPort"`
					} `yaml:"ports"`
					LivenessProbe   *k8sProbe                    `yaml:"livenessProbe"`
					ReadinessProbe  *k8sProbe                    `yaml:"readinessProbe"`
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

// manifestWants is what differs between the manifests checked.
type manifestWants struct {
	kinds   []string // kinds that must be there
	noKinds []string // kinds that must not
	secret  string   // the Secret the token is mounted from
}

// checkManifests checks the rendered manifests of the kustomize base or the
// Helm chart for what docs/deployment.md promises: the hardening of the
// Deployment, the token read from a file of a mounted Secret, probes,
// resources, the Service scraped by the ServiceMonitor under the job the
// rules select, and the PrometheusRule holding the groups of alerts.yml.
func checkManifests(t *testing.T, what string, out []byte, want manifestWants) {
	t.Helper()
	if bytes.Contains(out, []byte("CLOUDFLARE_API_TOKEN")) || bytes.Contains(out, []byte("CLOUDFLARE_API_KEY")) {
		t.Errorf("%s passes a credential in an environment variable; mount it as a file", what)
	}
	byKind := map[string]k8sObject{}
	for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(out), -1) {
		var o k8sObject
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			t.Fatalf("%s: %v\n%s", what, err, doc)
		}
		if o.Kind != "" {
			byKind[o.Kind] = o
		}
	}
	for _, kind := range want.kinds {
		if _, ok := byKind[kind]; !ok {
			t.Errorf("%s lacks a %s", what, kind)
		}
	}
	for _, kind := range want.noKinds {
		if _, ok := byKind[kind]; ok {
			t.Errorf("%s holds a %s", what, kind)
		}
	}
	svc, sm := byKind["Service"], byKind["ServiceMonitor"]
	// The Prometheus Operator names the job after the Service, or after the
	// Service's label that jobLabel names.
	job := svc.Metadata.Name
	if sm.Spec.JobLabel != "" {
		job = svc.Metadata.Labels[sm.Spec.JobLabel]
	}
	if !strings.HasPrefix(job, jobName) {
		t.Errorf("%s: the Prometheus Operator would name the job %q; the rules select %s", what, job, defaultSelector)
	}
	if e, p := sm.Spec.Endpoints, svc.Spec.Ports; len(e) != 1 || len(p) != 1 || e[0].Port != p[0].Name || !e[0].HonorLabels {
		t.Errorf("%s: the ServiceMonitor's endpoints %+v do not scrape the Service's port %v, honouring the exporter's labels", what, e, p)
	}
	var alerts ruleFile
	if err := yaml.Unmarshal(readFile(t, alertsFile), &alerts); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(byKind["PrometheusRule"].Spec.Groups, alerts.Groups) {
		t.Errorf("%s: the PrometheusRule does not hold the groups of %s", what, alertsFile)
	}

	pod := byKind["Deployment"].Spec.Template.Spec
	if !pod.SecurityContext.RunAsNonRoot || pod.SecurityContext.SeccompProfile.Type != "RuntimeDefault" {
		t.Errorf("%s: the pod may run as root or without the RuntimeDefault seccomp profile", what)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("%s: the pod mounts a service account token it does not need", what)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%s: want one container, got %d", what, len(pod.Containers))
	}
	c := pod.Containers[0]
	secretVolumes := map[string]string{}
	for _, v := range pod.Volumes {
		if v.Secret != nil {
			secretVolumes[v.Name] = v.Secret.SecretName
		}
	}
	tokenFrom := ""
	for _, a := range c.Args {
		if path, ok := strings.CutPrefix(a, "--cloudflare.api-token-file="); ok {
			for _, m := range c.VolumeMounts {
				if secretVolumes[m.Name] != "" && filepath.Dir(path) == m.MountPath {
					tokenFrom = secretVolumes[m.Name]
				}
			}
		}
	}
	if tokenFrom != want.secret {
		t.Errorf("%s: the token is read from a file of the mounted Secret %q, want %q: args %q", what, tokenFrom, want.secret, c.Args)
	}
	if port := defaultPort(t); len(c.Ports) != 1 || ":"+strconv.Itoa(c.Ports[0].ContainerPort) != port {
		t.Errorf("%s: container ports %v, want the default port %s", what, c.Ports, port)
	}
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/-/healthy" {
		t.Errorf("%s: liveness probe %+v, want /-/healthy", what, c.LivenessProbe)
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/-/ready" {
		t.Errorf("%s: readiness probe %+v, want /-/ready", what, c.ReadinessProbe)
	}
	for _, kind := range []string{"requests", "limits"} {
		for _, res := range []string{"cpu", "memory"} {
			if c.Resources[kind][res] == "" {
				t.Errorf("%s: no %s %s", what, res, kind)
			}
		}
	}
	sc := c.SecurityContext
	if !sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || !slices.Equal(sc.Capabilities.Drop, []string{"ALL"}) {
		t.Errorf("%s: container security context %+v: want a read-only root, no privilege escalation and every capability dropped", what, sc)
	}
}

// ---------------------------------------------------------------- container

// TestDockerfile checks what a docker build cannot check here: the Go
// version agrees with go.mod, the port with the exporter's default, and the
// image runs the static, version-stamped binary as a non-root user.
func TestDockerfile(t *testing.T) {
	df := string(readFile(t, dockerfile))
	gomod := string(readFile(t, goMod))
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
		"\nEXPOSE " + strings.TrimPrefix(defaultPort(t), ":") + "\n",
		`ENTRYPOINT ["/bin/` + exporterName + `"]`,
	} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}

// ---------------------------------------------------------------- dashboards

// The dashboards' queries, for the tests below that check them against the
// exporter and a real Prometheus. ../dashboards checks the rest of the JSON
// (and has its own copy of these few lines).

func loadDashboards(t *testing.T) []dashboards.Dashboard {
	t.Helper()
	ds, err := dashboards.Load(dashboardsDir)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// labelValuesRE parses a label_values(series, label) variable; the series
// may carry matchers.
var labelValuesRE = regexp.MustCompile(`^label_values\((\w+(?:\{.*\})?), *(\w+)\)$`)

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
		for _, tg := range d.Targets() {
			exprs[tg.Where] = tg.Expr
		}
		for name, v := range d.Variables() {
			if def, ok := v["definition"].(string); ok {
				exprs[d.File+" / variable "+name] = def
			}
		}
	}
	return exprs
}

var metricNameRE = regexp.MustCompile(`\bcloudflare_magic_[a-z0-9_]+`)

// TestDeployMetricNames catches a misspelt metric in a rule or a dashboard:
// every cloudflare_magic_* name they use is served by the exporter.
func TestDeployMetricNames(t *testing.T) {
	p := exportertest.Start(t, nil, "--demo", "--collector.telemetry")
	// Telemetry arrives in the background, after the first scrape.
	served := exportertest.Families(p.ScrapeUntil(t, "telemetry", func(page string) bool {
		return exportertest.Families(page)["cloudflare_magic_connector_snapshot_timestamp_seconds"]
	}))
	for where, expr := range deployExprs(t) {
		for _, name := range metricNameRE.FindAllString(expr, -1) {
			if !served[name] {
				t.Errorf("%s uses %s, which the exporter does not serve", where, name)
			}
		}
	}
}

// ---------------------------------------------------------------- real Prometheus

// e2eConnectorNeverConnected is a connector the end-to-end test adds to the
// demo fleet: activated, and never heartbeated.
const e2eConnectorNeverConnected = "c0ffee000000000000000000000015b0"

// e2eConnectorDiskFull is the demo fleet's Manchester connector, whose /data
// filesystem is nearly full.
const e2eConnectorDiskFull = "c0ffee00000000000000000000001161"

// e2eRuleFindings is what each alert expression must find on the test
// fleet, one entry per series, by the labels that identify it. An empty list
// means the expression must find nothing; the comment says why.
var e2eRuleFindings = map[string][]string{
	// Berlin, two hours without a heartbeat.
	"MagicWANConnectorHeartbeatStale": {"connector_id=" + simulator.ConnectorStale},
	// The connector the test adds to the labs account. (Paris, which never
	// connected either, is not activated.)
	"MagicWANConnectorNeverHeartbeated": {"connector_id=" + e2eConnectorNeverConnected},
	// Retail mostly runs 2026.10.2; Austin runs 2026.8.0 and Singapore
	// 2026.9.1. The labs account's two versions are tied: no drift there.
	"MagicWANConnectorVersionDrift": {"connector_id=" + simulator.ConnectorOldVersion, "connector_id=" + simulator.ConnectorNoDevice},
	// The test makes the labs account's apps endpoint answer 502.
	"MagicWANExporterAPIDown": {"account_id=" + simulator.AccountLabs + ",endpoint=apps"},
	// No 429 here: a 429 pauses all the exporter's calls (the rate limit is
	// per user), which would blank the fleet every other expression needs.
	// alerts_test.yml covers this rule.
	"MagicWANExporterRateLimited": {},
	// The simulated API's quota (1,200 per 5 minutes) is nowhere near
	// spent by a few scrapes.
	"MagicWANExporterRateLimitNearlyExhausted": {},
	// The exporter is up and scraped.
	"MagicWANExporterDown": {},
	// Berlin's only connector is stale; Paris's was never activated.
	"MagicWANSiteDown": {"site_id=" + simulator.SiteBerlin, "site_id=" + simulator.SiteParis},
	// London is an HA site whose secondary connector is missing.
	"MagicWANSiteHADegraded": {"site_id=" + simulator.SiteLondonHA},
	// London's remaining connector is not active (HA disabled in its
	// telemetry); New York has one active and one standby.
	"MagicWANSiteHAActiveCount": {"site_id=" + simulator.SiteLondonHA},
	// Down at the one data centre that routes it, and degraded at both
	// that route it. (New York's second tunnel, down at a data centre
	// that does not route it, is no alert.)
	"MagicWANTunnelDown":     {"tunnel_name=" + simulator.TunnelDown},
	"MagicWANTunnelDegraded": {"tunnel_name=" + simulator.TunnelDegraded},
	// Berlin's only tunnel is down; Manchester's degraded one belongs to
	// a site the sites endpoint does not list.
	"MagicWANSiteNoHealthyTunnel": {"site_id=" + simulator.SiteBerlin},
	// Berlin's snapshot is as old as its last heartbeat (REST telemetry).
	"MagicWANConnectorTelemetryStale": {"connector_id=" + simulator.ConnectorStale},
	// Manchester's /data is nearly full (REST telemetry).
	"MagicWANConnectorFilesystemNearlyFull": {"connector_id=" + e2eConnectorDiskFull + ",mountpoint=/data"},
	// Cambridge runs at 92 °C of 105 critical, load 6.3 on 4 cores.
	"MagicWANConnectorTemperatureHigh": {"connector_id=" + simulator.ConnectorHot + ",sensor=cpu_thermal"},
	"MagicWANConnectorLoadHigh":        {"connector_id=" + simulator.ConnectorHot},
}

// TestREADMEDemoSitesDown: the README's quick start names the demo sites
// the shipped MagicWANSiteDown alert finds on the demo fleet (e2eRuleFindings,
// checked on a real Prometheus), no more and no fewer.
func TestREADMEDemoSitesDown(t *testing.T) {
	readme := strings.Join(strings.Fields(string(readFile(t, "../README.md"))), " ")
	down := map[string]bool{}
	for _, want := range e2eRuleFindings["MagicWANSiteDown"] {
		down[strings.TrimPrefix(want, "site_id=")] = true
	}
	words := []string{"", "one", "two", "three", "four"}
	if want := "sites, " + words[len(down)] + " of them down"; !strings.Contains(readme, want) {
		t.Errorf("README.md does not say %q", want)
	}
	for _, a := range simulator.DemoFleet(time.Now()) {
		for _, s := range a.Sites {
			if named := strings.Contains(readme, s.Name); named != down[s.ID] {
				t.Errorf("README.md names %q: %v; the alert finds it down: %v", s.Name, named, down[s.ID])
			}
		}
	}
}

// e2eDashboardMayBeEmpty are the dashboard queries that may find nothing on
// the test fleet, and why. Every other query must find something.
var e2eDashboardMayBeEmpty = map[string]string{
	"cloudflare-magic-fleet.json / Firing Magic WAN alerts / A":     "no alert outlives its for: duration in the seconds the test runs, and those without one rightly do not fire",
	"cloudflare-magic-connector-health.json / Interfaces down / A":  "every interface of the demo fleet is up",
	"cloudflare-magic-tunnels.json / Edge datasets not queried / A": "the demo's schema offers every dataset",
}

// e2eDashboardVariables replaces the template variables as Grafana would for
// the test fleet: the account and job variables set to All, the interval
// variables to durations that fit a few seconds of 1-second scrapes.
var e2eDashboardVariables = strings.NewReplacer(
	"${account}", "("+simulator.AccountRetail+"|"+simulator.AccountLabs+")",
	"$account", "("+simulator.AccountRetail+"|"+simulator.AccountLabs+")",
	"${job}", "("+jobName+")",
	"$job", "("+jobName+")",
	"$instance", ".*",
	"$site", ".*",
	"$__rate_interval", "30s",
	"$__interval", "5s",
	"$__range", "1m",
)

// TestShippedConfigOnRealPrometheus runs a real Prometheus server with the
// shipped scrape configuration and alert rules against the exporter and the
// simulated fleet, and asks it to evaluate every expression of every rule
// and dashboard panel.
func TestShippedConfigOnRealPrometheus(t *testing.T) {
	t.Parallel()
	promBin := requireTool(t, "prometheus")

	// The demo fleet, with three changes so that each connector and API
	// alert has something to find: Berlin's upgrade window moved to a day
	// that is neither today nor tomorrow (its window would otherwise hide
	// it one hour a day, once window metrics exist), an activated connector
	// that never connected, and a failing apps endpoint.
	sim, apiURL := exportertest.SimulatedAPI(t)
	now := time.Now()
	for _, a := range simulator.DemoFleet(now) {
		for i := range a.Connectors {
			if a.Connectors[i].ID == simulator.ConnectorStale {
				a.Connectors[i].InterruptWindowDaysOfWeek = []string{now.UTC().AddDate(0, 0, 3).Weekday().String()}
			}
		}
		if a.ID == simulator.AccountLabs {
			a.Connectors = append(a.Connectors, simulator.Connector{
				ID: e2eConnectorNeverConnected, Activated: true,
				Device:                    &simulator.Device{ID: "dev-lis-1", SerialNumber: "MC1000-LIS-0001", Type: "MANAGED"},
				InterruptWindowDaysOfWeek: []string{}, InterruptWindowHourOfDay: 2, InterruptWindowDurationHours: 4,
				InterruptWindowEmbargoDates: []string{},
				LastUpdated:                 now.Add(-3 * time.Hour).UTC().Format(time.RFC3339),
				Notes:                       "Lisbon - lab (activated, never connected)", Primary: true,
				SiteID: "site-lis-lab", Timezone: "Europe/Lisbon",
			})
		}
		sim.SetConnectors(a.ID, a.Connectors)
	}
	sim.SetFault(simulator.AccountLabs, simulator.EndpointApps, simulator.Fault{
		Status: http.StatusBadGateway, ContentType: "text/html", Body: "<html><title>502 Bad Gateway</title></html>",
	})
	// With telemetry, so that the connector health panels find the REST
	// telemetry the demo fleet holds. Two jobs scraping every second spend
	// far more than the budget guard's share (which keeps telemetry
	// refreshes from starving the scrapes' calls): the guard is off here.
	exporter := exportertest.Start(t, exportertest.TokenEnv(), "--cloudflare.api-url="+apiURL, "--collector.telemetry", "--cloudflare.budget-share=1")
	immediate := immediateRules(t)
	prom := startPrometheus(t, promBin, strings.TrimPrefix(exporter.URL, "http://"), immediate.path)

	// Two scrapes, the last one successful.
	prom.waitFor(t, "two scrapes of the exporter",
		`count_over_time(up{job="`+jobName+`"}[1m]) >= 2 and up{job="`+jobName+`"} == 1`)
	// The rules were loaded through the shipped rule_files and evaluated on
	// the scraped data.
	prom.waitFor(t, "the stale-heartbeat alert pending for Berlin",
		`ALERTS{alertname="MagicWANConnectorHeartbeatStale",connector_id="`+simulator.ConnectorStale+`"}`)
	prom.checkRulesHealthy(t, append(loadAlertRules(t), immediate.rules...))
	// Telemetry arrives in the background: rate() needs two samples of it.
	prom.waitFor(t, "two scrapes of telemetry",
		`count_over_time(cloudflare_magic_connector_network_receive_bytes_total{job="`+jobName+`"}[1m]) >= 2`)

	t.Run("rules", func(t *testing.T) {
		for _, r := range loadAlertRules(t) {
			want, ok := e2eRuleFindings[r.Alert]
			if !ok {
				t.Errorf("%s: add it to e2eRuleFindings", r.Alert)
				continue
			}
			series, err := prom.query(r.Expr)
			if err != nil {
				t.Errorf("%s: %v", r.Alert, err)
				continue
			}
			if got := identify(series, want); !slices.Equal(got, sorted(want)) {
				t.Errorf("%s finds %q, want %q", r.Alert, got, sorted(want))
			}
		}
	})

	// The rule engine itself, not only the expressions: the shipped alerts
	// the demo must raise become pending (their for: durations keep them
	// from firing within a test), and their copies without for: fire.
	t.Run("alerts", func(t *testing.T) {
		for _, alert := range []string{
			`ALERTS{alertname="MagicWANTunnelDown",alertstate="pending",tunnel_name="` + simulator.TunnelDown + `"}`,
			`ALERTS{alertname="MagicWANTunnelDown` + immediateSuffix + `",alertstate="firing",tunnel_name="` + simulator.TunnelDown + `"}`,
			`ALERTS{alertname="MagicWANSiteHADegraded",alertstate="pending",site_id="` + simulator.SiteLondonHA + `",site_name="London Oxford Street"}`,
			`ALERTS{alertname="MagicWANSiteHADegraded` + immediateSuffix + `",alertstate="firing",site_id="` + simulator.SiteLondonHA + `",site_name="London Oxford Street"}`,
			`ALERTS{alertname="MagicWANSiteDown` + immediateSuffix + `",alertstate="firing",site_id="` + simulator.SiteBerlin + `"}`,
			`ALERTS{alertname="MagicWANSiteNoHealthyTunnel",alertstate="pending",site_id="` + simulator.SiteBerlin + `",site_name="` + simulator.SiteNameBerlin + `"}`,
			`ALERTS{alertname="MagicWANSiteNoHealthyTunnel` + immediateSuffix + `",alertstate="firing",site_id="` + simulator.SiteBerlin + `",site_name="` + simulator.SiteNameBerlin + `"}`,
			`ALERTS{alertname="MagicWANTunnelDegraded` + immediateSuffix + `",alertstate="firing",tunnel_name="` + simulator.TunnelDegraded + `",site_name="Manchester Arndale"}`,
		} {
			prom.waitFor(t, alert, alert)
		}
	})

	t.Run("dashboards", func(t *testing.T) {
		known := map[string]bool{}
		for _, d := range loadDashboards(t) {
			for _, tg := range d.Targets() {
				known[tg.Where] = true
				expr := e2eDashboardVariables.Replace(tg.Expr)
				if strings.Contains(expr, "$") {
					t.Errorf("%s: a variable is left in %s", tg.Where, expr)
					continue
				}
				series, err := prom.query(expr)
				for _, s := range series {
					if s["job"] == otherJobName {
						t.Errorf("%s: the other exporter job leaks in:\n%s", tg.Where, expr)
						break
					}
				}
				switch {
				case err != nil:
					t.Errorf("%s: %v\n%s", tg.Where, err, expr)
				case len(series) == 0 && e2eDashboardMayBeEmpty[tg.Where] == "":
					t.Errorf("%s finds nothing on the simulated fleet:\n%s", tg.Where, expr)
				case len(series) > 0 && e2eDashboardMayBeEmpty[tg.Where] != "":
					t.Logf("%s finds something now: drop it from e2eDashboardMayBeEmpty?", tg.Where)
				}
			}
			for name, v := range d.Variables() {
				if v["type"] != "query" {
					continue
				}
				def := e2eDashboardVariables.Replace(fmt.Sprint(v["definition"]))
				if m := labelValuesRE.FindStringSubmatch(def); m != nil {
					values, err := prom.labelValues(m[2], m[1])
					if err != nil || len(values) == 0 {
						t.Errorf("%s: variable %s finds %q: %v", d.File, name, values, err)
					}
					continue
				}
				m := queryResultRE.FindStringSubmatch(def)
				if m == nil {
					t.Errorf("%s: variable %s: %q is neither label_values nor query_result", d.File, name, def)
					continue
				}
				series, err := prom.query(m[1])
				if err != nil || len(series) == 0 {
					t.Errorf("%s: variable %s finds %d series: %v", d.File, name, len(series), err)
				}
			}
		}
		for where := range e2eDashboardMayBeEmpty {
			if !known[where] {
				t.Errorf("e2eDashboardMayBeEmpty lists %q, which no dashboard has", where)
			}
		}
	})
}

// identify names each series by the labels the first wanted entry uses
// ("k=v,k=v"), sorted.
func identify(series []map[string]string, want []string) []string {
	var keys []string
	if len(want) > 0 {
		for _, kv := range strings.Split(want[0], ",") {
			k, _, _ := strings.Cut(kv, "=")
			keys = append(keys, k)
		}
	}
	out := []string{}
	for _, s := range series {
		var parts []string
		for _, k := range keys {
			parts = append(parts, k+"="+s[k])
		}
		if len(keys) == 0 {
			parts = append(parts, fmt.Sprint(s))
		}
		out = append(out, strings.Join(parts, ","))
	}
	sort.Strings(out)
	return out
}

func sorted(s []string) []string {
	out := append([]string{}, s...)
	sort.Strings(out)
	return out
}

// prometheusListeningRE finds the address Prometheus listens on in its log.
var prometheusListeningRE = regexp.MustCompile(`msg="Listening on" address=(\S+)`)

type prometheusProcess struct {
	url  string
	logs *exportertest.LogBuffer
}

// immediateSuffix names the copies of the shipped alerts without their
// for: durations, which the end-to-end Prometheus loads beside them so that
// a test can see them fire.
const immediateSuffix = "Now"

// immediateRules writes those copies to a temporary rule file.
func immediateRules(t *testing.T) (out struct {
	path  string
	rules []rule
}) {
	t.Helper()
	var f ruleFile
	if err := yaml.UnmarshalStrict(readFile(t, alertsFile), &f); err != nil {
		t.Fatal(err)
	}
	for gi := range f.Groups {
		g := &f.Groups[gi]
		g.Name += "-" + immediateSuffix
		for ri := range g.Rules {
			r := &g.Rules[ri]
			r.Alert += immediateSuffix
			r.For = ""
			out.rules = append(out.rules, *r)
		}
	}
	b, err := yaml.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	out.path = filepath.Join(t.TempDir(), "alerts-now.yml")
	if err := os.WriteFile(out.path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// otherJobName is a second job scraping the same exporter in the
// end-to-end Prometheus, which the selectors of the rules and dashboards
// must leave out.
const otherJobName = "another-team-exporter"

// e2ePrometheusConfig is the shipped prometheus.yml with only what a test
// must change: the exporter's address, 1-second intervals, and rule files
// named by absolute paths (the config file lives in a temporary directory).
// Job name, metrics path and relabelling stay as shipped.
func e2ePrometheusConfig(t *testing.T, exporterAddr string, extraRules ...string) []byte {
	t.Helper()
	var cfg struct {
		Global        map[string]any   `yaml:"global"`
		RuleFiles     []string         `yaml:"rule_files"`
		ScrapeConfigs []map[string]any `yaml:"scrape_configs"`
		Rest          map[string]any   `yaml:",inline"`
	}
	if err := yaml.Unmarshal(readFile(t, prometheusConfigFile), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Global == nil {
		cfg.Global = map[string]any{}
	}
	cfg.Global["scrape_interval"], cfg.Global["evaluation_interval"] = "1s", "1s"
	dir, err := filepath.Abs(filepath.Dir(prometheusConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range cfg.RuleFiles {
		if !filepath.IsAbs(f) {
			cfg.RuleFiles[i] = filepath.Join(dir, f)
		}
	}
	cfg.RuleFiles = append(cfg.RuleFiles, extraRules...)
	if len(cfg.ScrapeConfigs) != 1 || cfg.ScrapeConfigs[0]["job_name"] != jobName {
		t.Fatalf("%s: want one scrape job, %s", prometheusConfigFile, jobName)
	}
	job := cfg.ScrapeConfigs[0]
	job["scrape_interval"], job["scrape_timeout"] = "1s", "1s"
	static, _ := job["static_configs"].([]any)
	if len(static) != 1 {
		t.Fatalf("%s: want one static config", prometheusConfigFile)
	}
	sc, _ := static[0].(map[any]any)
	if sc == nil {
		t.Fatalf("%s: static config %v", prometheusConfigFile, static[0])
	}
	sc["targets"] = []string{exporterAddr}
	// A second exporter job in the same Prometheus, as another team's
	// would be: no rule or dashboard may see its series (the rules' unit
	// expectations would find each connector twice).
	other := map[string]any{}
	for k, v := range job {
		other[k] = v
	}
	other["job_name"] = otherJobName
	other["static_configs"] = []any{map[string]any{"targets": []string{exporterAddr}}}
	cfg.ScrapeConfigs = append(cfg.ScrapeConfigs, other)
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func startPrometheus(t *testing.T, bin, exporterAddr string, extraRules ...string) *prometheusProcess {
	t.Helper()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, e2ePrometheusConfig(t, exporterAddr, extraRules...), 0o644); err != nil {
		t.Fatal(err)
	}
	// Port 0, the address read from the log: a port found free and then
	// released could be taken by another process before Prometheus binds it.
	p := &prometheusProcess{logs: &exportertest.LogBuffer{}}
	cmd := exec.Command(bin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address=127.0.0.1:0",
		"--log.level=info",
	)
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("prometheus log:\n%s", p.logs.String())
		}
	})

	deadline := time.Now().Add(20 * time.Second)
	for {
		if p.url == "" {
			if m := prometheusListeningRE.FindStringSubmatch(p.logs.String()); m != nil {
				p.url = "http://" + m[1]
			}
		}
		if p.url != "" {
			resp, err := http.Get(p.url + "/-/ready")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return p
				}
			}
		}
		select {
		case <-exited:
			t.Fatalf("prometheus exited; log:\n%s", p.logs.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready; log:\n%s", p.logs.String())
		}
	}
}

// apiResponse is the envelope of Prometheus's HTTP API.
type apiResponse struct {
	Status    string          `json:"status"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Warnings  []string        `json:"warnings"`
	Data      json.RawMessage `json:"data"`
}

func (p *prometheusProcess) api(path string, params url.Values, data any) error {
	resp, err := http.Get(p.url + path + "?" + params.Encode())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var r apiResponse
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return fmt.Errorf("%s: HTTP %d: %v", path, resp.StatusCode, err)
	}
	if r.Status != "success" {
		return fmt.Errorf("%s: %s: %s", path, r.ErrorType, r.Error)
	}
	if len(r.Warnings) > 0 {
		return fmt.Errorf("%s: warnings: %q", path, r.Warnings)
	}
	return json.Unmarshal(r.Data, data)
}

// query evaluates an instant query now and returns the label sets of the
// result; a scalar or string result counts as one empty label set.
func (p *prometheusProcess) query(q string) ([]map[string]string, error) {
	var data struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := p.api("/api/v1/query", url.Values{"query": {q}}, &data); err != nil {
		return nil, err
	}
	switch data.ResultType {
	case "vector", "matrix":
		var series []struct {
			Metric map[string]string `json:"metric"`
		}
		if err := json.Unmarshal(data.Result, &series); err != nil {
			return nil, err
		}
		out := make([]map[string]string, len(series))
		for i, s := range series {
			out[i] = s.Metric
		}
		return out, nil
	default:
		return []map[string]string{{}}, nil
	}
}

func (p *prometheusProcess) labelValues(label, match string) ([]string, error) {
	var values []string
	err := p.api("/api/v1/label/"+label+"/values", url.Values{"match[]": {match}}, &values)
	return values, err
}

// waitFor polls an expression until it finds something.
func (p *prometheusProcess) waitFor(t *testing.T, what, q string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		series, err := p.query(q)
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if len(series) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %s", what, q)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkRulesHealthy checks that Prometheus loaded exactly the rules of
// alerts.yml and evaluates each without error.
func (p *prometheusProcess) checkRulesHealthy(t *testing.T, want []rule) {
	t.Helper()
	var data struct {
		Groups []struct {
			Rules []struct {
				Name      string `json:"name"`
				Health    string `json:"health"`
				LastError string `json:"lastError"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := p.api("/api/v1/rules", nil, &data); err != nil {
		t.Fatal(err)
	}
	var got, wantNames []string
	for _, g := range data.Groups {
		for _, r := range g.Rules {
			got = append(got, r.Name)
			if r.Health != "ok" || r.LastError != "" {
				t.Errorf("rule %s: health %q, error %q", r.Name, r.Health, r.LastError)
			}
		}
	}
	for _, r := range want {
		wantNames = append(wantNames, r.Alert)
	}
	if !slices.Equal(sorted(got), sorted(wantNames)) {
		t.Errorf("Prometheus loaded rules %q, want %q", got, wantNames)
	}
}
