// Recording rules. None yet: the alerts and dashboards query the exporter's
// series directly, which stay few (one per connector, site or tunnel).
{
  prometheusRules+:: {
    groups+: [],
  },
}
