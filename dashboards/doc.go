// Package dashboards holds the Grafana dashboards, as JSON rendered from the
// monitoring mixin in ../deploy/mixin (go test ./deploy -run TestMixin
// -update), and reads them for the tests: its own check the dashboards
// without Grafana; the deploy package's check that they are the mixin's
// output and evaluate their queries on a real Prometheus server. The
// exporter does not import it.
package dashboards
