// The alert rules as JSON, which Prometheus and promtool read as YAML:
//   jsonnet alerts.jsonnet > alerts.json
(import 'mixin.libsonnet').prometheusAlerts
