package dashboards

// Checks of the Grafana dashboards without Grafana. The deploy package's
// tests evaluate every query on a real Prometheus server scraping the
// exporter, and check that every metric they name is served.

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector"
)

func loadDashboards(t *testing.T) []Dashboard {
	t.Helper()
	ds, err := Load(".")
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

var (
	datasourceRef = map[string]any{"type": "prometheus", "uid": "${datasource}"}
	// accountMetricRE finds the metrics that carry account_id: a panel on
	// them must honour the account variable.
	accountMetricRE = regexp.MustCompile(`cloudflare_magic_(connector_|edge_|site_|app_info|apps\b|up\b|scrape_duration_seconds|last_success_timestamp_seconds|account_info)`)
	// siteMetricRE finds the metrics of connectors and sites: a panel on
	// them must honour the site variable (by a site_id label or a join
	// through the connector's _info series).
	siteMetricRE = regexp.MustCompile(`cloudflare_magic_(connector_|edge_connector_|site_)`)
	variableRE   = regexp.MustCompile(`\$\{?(\w+)`)
	// labelValuesRE parses a label_values(series, label) variable.
	labelValuesRE = regexp.MustCompile(`^label_values\((\w+)(\{.*\})?, *(\w+)\)$`)
	queryResultRE = regexp.MustCompile(`^query_result\(.+\)$`)
)

// The template variables every dashboard has, in order: each narrows the
// next (the mixin's lib.libsonnet).
var wantVariables = []string{"datasource", "job", "instance", "account", "site"}

// grafanaVariables are Grafana's built-in variables the dashboards may use.
var grafanaVariables = map[string]bool{"__rate_interval": true, "__interval": true, "__range": true}

// TestDashboards checks the dashboards without Grafana: JSON of a current
// schema, the data source, job, instance, account and site variables, and
// every query on the data source variable and filtered by the others. The
// dashboards are rendered from the mixin (../deploy/mixin); the deploy
// package checks that they are its output and carry its selector.
func TestDashboards(t *testing.T) {
	uids := map[string]string{}
	for _, d := range loadDashboards(t) {
		t.Run(d.File, func(t *testing.T) {
			if _, ok := d.JSON["__inputs"]; ok {
				t.Error("has __inputs: use the datasource variable instead, so provisioning needs no import step")
			}
			if v, _ := d.JSON["schemaVersion"].(float64); v < 38 {
				t.Errorf("schemaVersion %v, want 38 (Grafana 10) or later", d.JSON["schemaVersion"])
			}
			uid, _ := d.JSON["uid"].(string)
			if uid == "" || uids[uid] != "" {
				t.Errorf("uid %q is empty or also used by %s", uid, uids[uid])
			}
			uids[uid] = d.File
			if title, _ := d.JSON["title"].(string); title == "" {
				t.Error("no title")
			}

			vars := d.Variables()
			if ds := vars["datasource"]; ds["type"] != "datasource" || ds["query"] != "prometheus" {
				t.Errorf("datasource variable %v, want type datasource, query prometheus", ds)
			}
			var names []string
			templating, _ := d.JSON["templating"].(map[string]any)
			list, _ := templating["list"].([]any)
			for _, v := range list {
				vm, _ := v.(map[string]any)
				names = append(names, fmt.Sprint(vm["name"]))
			}
			if !reflect.DeepEqual(names, wantVariables) {
				t.Errorf("variables %q, want %q", names, wantVariables)
			}
			for _, want := range []struct{ name, metric, label string }{
				{"job", "up", "job"},
				{"instance", "up", "instance"},
				{"account", "cloudflare_magic_up", "account_id"},
			} {
				v := vars[want.name]
				m := labelValuesRE.FindStringSubmatch(fmt.Sprint(v["definition"]))
				if v["type"] != "query" || m == nil || m[1] != want.metric || m[3] != want.label ||
					v["multi"] != true || v["includeAll"] != true || !reflect.DeepEqual(v["datasource"], datasourceRef) {
					t.Errorf("%s variable %v, want a multi-value query label_values(%s{...}, %s) with All, on ${datasource}", want.name, v, want.metric, want.label)
				}
			}
			site := vars["site"]
			if def := fmt.Sprint(site["definition"]); !strings.Contains(def, "cloudflare_magic_site_info{") || site["allValue"] != ".*" || site["multi"] != true {
				t.Errorf("site variable %v, want the sites of cloudflare_magic_site_info, multi-value, with All as .* (connectors of no listed site stay in view)", site)
			}
			for name, v := range vars {
				def := fmt.Sprint(v["definition"])
				if v["type"] == "query" && labelValuesRE.FindStringSubmatch(def) == nil && !queryResultRE.MatchString(def) {
					t.Errorf("variable %s: definition %q is neither label_values(series, label) nor query_result(expr)", name, def)
				}
				// Each variable narrows by those before it.
				if i := slices.Index(wantVariables, name); i > 1 {
					for _, before := range wantVariables[1:i] {
						if !strings.Contains(def, "$"+before) {
							t.Errorf("variable %s is not narrowed by $%s: %s", name, before, def)
						}
					}
				}
			}

			ids := map[float64]bool{}
			for _, p := range d.Panels() {
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
			targets := d.Targets()
			if len(targets) == 0 {
				t.Error("no queries")
			}
			for _, tg := range targets {
				if !reflect.DeepEqual(tg.Datasource, datasourceRef) {
					t.Errorf("%s: datasource %v, want %v", tg.Where, tg.Datasource, datasourceRef)
				}
				if strings.TrimSpace(tg.Expr) == "" {
					t.Errorf("%s: no expr", tg.Where)
				}
				for _, want := range []string{`job=~"$job"`, `instance=~"$instance"`} {
					if !strings.Contains(tg.Expr, want) {
						t.Errorf("%s: not filtered by %s: %s", tg.Where, want, tg.Expr)
					}
				}
				if accountMetricRE.MatchString(tg.Expr) && !strings.Contains(tg.Expr, `account_id=~"$account"`) {
					t.Errorf("%s: queries account series without account_id=~\"$account\": %s", tg.Where, tg.Expr)
				}
				if siteMetricRE.MatchString(tg.Expr) && !strings.Contains(tg.Expr, `site_id=~"$site"`) {
					t.Errorf("%s: queries connector or site series without site_id=~\"$site\": %s", tg.Where, tg.Expr)
				}
				for _, m := range variableRE.FindAllStringSubmatch(tg.Expr, -1) {
					if vars[m[1]] == nil && !grafanaVariables[m[1]] {
						t.Errorf("%s: unknown variable $%s", tg.Where, m[1])
					}
				}
			}
		})
	}
}

// TestOptInDataIsSaid: a panel whose every series comes from an opt-in
// source (the connectors' REST telemetry, --collector.telemetry) is empty
// at default flags; it must say so where its data would be (noValue), not
// look broken. Panels that also read the edge view, on by default, are
// filled either way.
func TestOptInDataIsSaid(t *testing.T) {
	optIn := map[string]bool{}
	for _, r := range collector.References() {
		if r.Source == collector.SourceTelemetry {
			optIn[r.Name] = true
		}
	}
	metricRE := regexp.MustCompile(`\bcloudflare_magic_[a-z0-9_]+`)
	checked := 0
	for _, d := range loadDashboards(t) {
		for _, p := range d.Panels() {
			var names []string
			targets, _ := p["targets"].([]any)
			for _, tv := range targets {
				tm, _ := tv.(map[string]any)
				expr, _ := tm["expr"].(string)
				for _, n := range metricRE.FindAllString(expr, -1) {
					if n != "cloudflare_magic_connector_info" { // the join that names the connector
						names = append(names, n)
					}
				}
			}
			if len(names) == 0 || slices.ContainsFunc(names, func(n string) bool { return !optIn[n] }) {
				continue
			}
			checked++
			fc, _ := p["fieldConfig"].(map[string]any)
			defaults, _ := fc["defaults"].(map[string]any)
			noValue, _ := defaults["noValue"].(string)
			description, _ := p["description"].(string)
			if !strings.Contains(noValue, "--collector.telemetry") || !strings.Contains(description, "--collector.telemetry") {
				t.Errorf("%s / %v reads only REST telemetry (%s): its noValue and description must say it needs --collector.telemetry",
					d.File, p["title"], strings.Join(names, ", "))
			}
		}
	}
	if checked == 0 {
		t.Error("no panel reads REST telemetry alone: the test checks nothing")
	}
}
