package main

// Tests of what ships beside the binary: the container build, the alert
// rules, the Prometheus and Kubernetes configuration and the Grafana
// dashboards; and, on a real Prometheus server scraping the exporter, that
// every PromQL expression they hold is valid and finds the simulated fleet.

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

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
