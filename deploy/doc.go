// Package deploy holds the deployment files: the Prometheus configuration
// and alert rules, the Kubernetes base, the Grafana provisioning and the
// docker-compose try-out. It has no Go code; its tests check those files,
// the Dockerfile, and, on a real Prometheus server scraping the built
// exporter, every PromQL expression that ships.
package deploy
