// Every dashboard, by the file name it is rendered to (dashboards/).
(import 'fleet.libsonnet') +
(import 'connectors.libsonnet') +
(import 'sites.libsonnet') +
(import 'connector-health.libsonnet') +
(import 'tunnels.libsonnet') +
(import 'exporter.libsonnet')
