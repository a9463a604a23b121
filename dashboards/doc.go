// Package dashboards holds the Grafana dashboards, as JSON rendered from the
// monitoring mixin in ../deploy/mixin (go test ./deploy -run TestMixin
// -update). It has no Go code; its tests check the dashboards without
// Grafana. The deploy package's tests check that they are the mixin's output
// and evaluate their queries on a real Prometheus server.
package dashboards
