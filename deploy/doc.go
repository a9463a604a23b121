// Package deploy holds the deployment files: the Prometheus configuration
// and alert rules, the Kubernetes base, the Grafana provisioning and the
// docker-compose try-out. It has no Go code; its tests check those files,
// the Dockerfile, and, on a real Prometheus server scraping the built
// exporter, every PromQL expression that ships.
package deploy

// The alert rules, their Kubernetes and Helm copies and the dashboards are
// rendered from the mixin (go generate ./... regenerates every generated
// file of the repository).
//go:generate go test . -run TestMixin -update
