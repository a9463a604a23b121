// Package dashboards holds the Grafana dashboards, as JSON. It has no Go
// code; its tests check the dashboards without Grafana. The deploy
// package's tests evaluate their queries on a real Prometheus server.
package dashboards
