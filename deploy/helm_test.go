package deploy

// The Helm chart, rendered with helm template and checked as the kustomize
// base is.

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/exportertest"
)

const chartDir = "helm/cloudflare-magic-exporter"

// requireHelm returns the path of helm: on PATH, or where .ci/run's go
// install puts it.
func requireHelm(t *testing.T) string {
	t.Helper()
	return exportertest.Tool(t, "helm", "go install helm.sh/helm/v3/cmd/helm@v3.22.0")
}

// TestHelmChart renders the chart with default values, with an existing
// Secret and with a token in values, and checks each rendering as the
// kustomize base is checked.
func TestHelmChart(t *testing.T) {
	t.Parallel()
	helm := requireHelm(t)
	runManifestTool(t, helm, "lint", "--strict", chartDir)

	const token = "chart-test-token-0123456789abcdef"
	for _, tc := range []struct {
		name string
		args []string
		want manifestWants
	}{{
		// Like the kustomize base: a Secret named as the objects, which the
		// user creates.
		name: "default values",
		want: manifestWants{
			kinds:   []string{"Deployment", "Service", "ServiceMonitor", "PrometheusRule"},
			noKinds: []string{"Secret"},
			secret:  "cloudflare-magic-exporter",
		},
	}, {
		name: "existing secret",
		args: []string{"--set", "cloudflare.existingSecret=my-token", "--set", "cloudflare.existingSecretKey=api-token"},
		want: manifestWants{
			kinds:   []string{"Deployment", "Service", "ServiceMonitor", "PrometheusRule"},
			noKinds: []string{"Secret"},
			secret:  "my-token",
		},
	}, {
		name: "token in values, another release name",
		args: []string{"--set", "cloudflare.apiToken=" + token, "--set", "cloudflare.accountIDs={0123456789abcdef0123456789abcdef}", "--set", "telemetry.enabled=true"},
		want: manifestWants{
			kinds:  []string{"Deployment", "Service", "ServiceMonitor", "PrometheusRule", "Secret"},
			secret: "cme-cloudflare-magic-exporter",
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			release := "cloudflare-magic-exporter"
			if strings.Contains(tc.name, "another release") {
				release = "cme"
			}
			out := runManifestTool(t, helm, append([]string{"template", release, chartDir}, tc.args...)...)
			checkManifests(t, "helm template ("+tc.name+")", out, tc.want)
			// The token appears base64-encoded in the Secret, and nowhere
			// in clear.
			if bytes.Contains(out, []byte(token)) {
				t.Error("the token appears in clear in the rendered manifests")
			}
			if strings.Contains(tc.name, "token in values") {
				if !bytes.Contains(out, []byte(base64.StdEncoding.EncodeToString([]byte(token)))) {
					t.Error("the chart's Secret does not hold the token")
				}
				for _, arg := range []string{"--cloudflare.account-id=0123456789abcdef0123456789abcdef", "--collector.telemetry"} {
					if !bytes.Contains(out, []byte("- "+arg+"\n")) {
						t.Errorf("the Deployment lacks %s", arg)
					}
				}
			}
		})
	}
}
