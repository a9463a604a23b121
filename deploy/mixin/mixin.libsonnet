// The cloudflare_magic_exporter monitoring mixin, in the usual layout
// (https://monitoring.mixins.dev): prometheusAlerts, prometheusRules and
// grafanaDashboards, all driven by _config (config.libsonnet).
//
// deploy/prometheus/alerts.yml and dashboards/*.json are its rendering with
// the default _config; `go test ./deploy -run TestMixin -update` regenerates
// them (go-jsonnet, no jsonnet binary needed). docs/deployment.md, "Mixin",
// shows how to render it with your own _config.
(import 'config.libsonnet') +
(import 'alerts/alerts.libsonnet') +
(import 'rules/rules.libsonnet') +
(import 'dashboards/dashboards.libsonnet')
