// jsonnet -S -e 'std.manifestYamlDoc((import "alerts.jsonnet"))' or
// jsonnet alerts.jsonnet | gojsontoyaml > alerts.yml
(import 'mixin.libsonnet').prometheusAlerts
