// Tunnels, as Cloudflare's edge sees them (GraphQL Analytics): health per
// tunnel and data centre, where it is routed, per site, traffic, and how
// fresh and complete the edge data is. Tunnel series carry a site name
// (cloudflare_magic_edge_tunnel_info), not a site ID, so the site variable
// does not narrow them.
local lib = import 'lib.libsonnet';

{
  grafanaDashboards+:: {
    local c = $._config,
    local v = lib.filters(c),
    // Data centres that route the tunnel (the alerts' view), by state.
    local colos(states) = 'sum by (account_id, tunnel_name) (cloudflare_magic_edge_tunnel_active_colos{%s, state=~"%s"})' % [v.f, states],
    local down = '%s == 0' % colos('healthy|degraded'),
    local degraded = '%s > 0 and %s > 0' % [colos('degraded|down'), colos('healthy|degraded')],
    local stat(title, description, x, expr, colour) = lib.simple('stat', title, description, lib.gridPos(x, 0, 6, 4), [lib.instant(expr)], 'none', {
      fieldConfig: {
        defaults: { color: { mode: 'thresholds' }, thresholds: { mode: 'absolute', steps: [{ color: colour, value: null }] }, unit: 'none' },
        overrides: [],
      },
      options: { colorMode: 'value', graphMode: 'none', reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, textMode: 'auto' },
    }),

    'cloudflare-magic-tunnels.json': lib.dashboard(c, 'tunnels', 'Tunnels (edge view)', "Magic WAN tunnels as Cloudflare's data centres health-check them, their traffic, and the age of the edge data. Data from cloudflare_magic_exporter.", [
      stat('Tunnels', 'Tunnels that Cloudflare health-checks.', 0, 'count(%s) or vector(0)' % colos('.*'), 'blue'),
      stat('Down where routed', 'Tunnels down at every data centre that routes them (MagicWANTunnelDown).', 6, 'count(%s) or vector(0)' % down, 'red'),
      stat('Degraded', 'Tunnels degraded or down at some data centres that route them (MagicWANTunnelDegraded).', 12, 'count(%s) or vector(0)' % degraded, 'orange'),
      stat('Sites without a healthy tunnel', 'Listed sites none of whose tunnels is healthy where routed (MagicWANSiteNoHealthyTunnel).', 18, 'count(cloudflare_magic_site_tunnels{%(fs)s, state="healthy"} == 0) or vector(0)' % v, 'red'),

      lib.simple('table', 'Tunnels by routing data centre count', 'How many of the Cloudflare data centres that route each tunnel (carried its traffic in the last six hours; all that check it when none did) see it healthy, degraded and down.', lib.gridPos(0, 4, 12, 10), [
        lib.table('%s' % colos('healthy')),
        lib.table('%s' % colos('degraded')),
        lib.table('%s' % colos('down')),
      ], extra={
        transformations: [
          { id: 'merge', options: {} },
          { id: 'organize', options: {
            excludeByName: { Time: true },
            indexByName: { tunnel_name: 0, 'Value #A': 1, 'Value #B': 2, 'Value #C': 3, account_id: 4 },
            renameByName: { tunnel_name: 'Tunnel', 'Value #A': 'Healthy', 'Value #B': 'Degraded', 'Value #C': 'Down', account_id: 'Account' },
          } },
        ],
        options: { cellHeight: 'sm', showHeader: true, sortBy: [{ displayName: 'Down', desc: true }] },
      }),
      lib.simple('table', 'Data centres not seeing a tunnel healthy', 'Tunnel and data centre pairs whose newest health check is degraded (0.5) or down (0).', lib.gridPos(12, 4, 12, 10), [
        lib.table('min by (account_id, tunnel_name, colo) (cloudflare_magic_edge_tunnel_health_state{%(f)s}) < 1' % v),
      ]),

      lib.simple('state-timeline', 'Tunnel health', 'Worst health of each tunnel over the data centres: 0 down, 0.5 degraded, 1 healthy.', lib.gridPos(0, 14, 24, 8), [
        lib.range('min by (account_id, tunnel_name) (cloudflare_magic_edge_tunnel_health_state{%(f)s})' % v, '{{tunnel_name}}'),
      ], extra={
        fieldConfig: {
          defaults: {
            color: { mode: 'thresholds' },
            thresholds: { mode: 'absolute', steps: [{ color: 'red', value: null }, { color: 'orange', value: 0.5 }, { color: 'green', value: 1 }] },
          },
          overrides: [],
        },
      }),

      lib.simple('timeseries', 'Tunnel traffic', 'Traffic per tunnel and direction, as Cloudflare names it (inbound, outbound, lateral; or ingress, egress), from the newest 5-minute bucket.', lib.gridPos(0, 22, 12, 8), [
        lib.range('sum by (account_id, tunnel_name, direction) (cloudflare_magic_edge_tunnel_traffic_bytes_per_second{%(f)s})' % v, '{{tunnel_name}} {{direction}}'),
      ], 'Bps'),
      lib.simple('bargauge', 'Traffic in the time range', 'Bytes carried per tunnel and direction in the selected time range, from the traffic counters.', lib.gridPos(12, 22, 12, 8), [
        lib.instant('topk(20, sum by (account_id, tunnel_name, direction) (increase(cloudflare_magic_edge_tunnel_traffic_bytes_total{%(f)s}[$__range])))' % v, '{{tunnel_name}} {{direction}}'),
      ], 'decbytes'),

      lib.simple('timeseries', 'Edge data age', 'Age of the newest bucket of each edge dataset; Cloudflare publishes buckets a few minutes late. Over %ss fires MagicWANConnectorTelemetryStale.' % c.edgeDataAgeSeconds, lib.gridPos(0, 30, 12, 8), [
        lib.range('max by (account_id, dataset) (cloudflare_magic_edge_data_age_seconds{%(f)s})' % v, '{{account_id}} {{dataset}}'),
      ], 's'),
      lib.simple('state-timeline', 'Edge queries', 'Whether the schema discovery and each edge dataset answered (1), and whether a dataset hit its row limit (truncated).', lib.gridPos(12, 30, 12, 8), [
        lib.range('max by (account_id, endpoint) (cloudflare_magic_up{%(f)s, endpoint=~"edge_.*"})' % v, '{{account_id}} {{endpoint}} up'),
        lib.range('max by (account_id, dataset) (cloudflare_magic_edge_rows_truncated{%(f)s})' % v, '{{account_id}} {{dataset}} truncated'),
      ]),

      lib.simple('table', 'Edge datasets not queried', "Datasets the account's GraphQL schema does not offer with the fields they need (not enabled, absent, or lacking a required field); their metrics are absent. See docs/edge.md.", lib.gridPos(0, 38, 12, 8), [
        lib.table('cloudflare_magic_edge_dataset_queried{%(f)s} == 0' % v),
      ]),
      lib.simple('table', 'Edge fields absent', "GraphQL fields the exporter can read a metric from that the account's schema lacks; a metric whose every field is absent is absent.", lib.gridPos(12, 38, 12, 8), [
        lib.table('cloudflare_magic_edge_field_available{%(f)s} == 0' % v),
      ]),
    ]),
  },
}
