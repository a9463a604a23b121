// Connector health: load, memory, filesystems, temperatures, tunnels as
// each connector sees them, HA state, lifecycle events and interfaces.
// Where both sources carry a value, the connector's own REST telemetry
// (--collector.telemetry) is taken, else the edge view (GraphQL Analytics):
// `rest or edge`, so either source alone fills the panels. The interface
// panels have no edge data, and say they need --collector.telemetry.
local lib = import 'lib.libsonnet';

{
  grafanaDashboards+:: {
    local c = $._config,
    local v = lib.filters(c),
    // either: the REST metric, or the edge one where REST has none.
    local either(name) = '(cloudflare_magic_connector_%(n)s{%(f)s} or cloudflare_magic_edge_connector_%(n)s{%(f)s})' % (v { n: name }),
    // named: the connector's notes (its site, in practice) as a label, and
    // only connectors of the selected sites.
    local named(expr) = '(%s) * on(account_id, connector_id) group_left(notes) topk by (account_id, connector_id) (1, cloudflare_magic_connector_info{%s})' % [expr, v.fs],
    local valueMappings(m) = [{
      type: 'value',
      options: { [k]: m[k] { index: std.find(k, std.objectFields(m))[0] } for k in std.objectFields(m) },
    }],
    local withMappings(m) = {
      fieldConfig: {
        defaults: { color: { mode: 'thresholds' }, mappings: valueMappings(m), thresholds: { mode: 'absolute', steps: [{ color: 'text', value: null }] } },
        overrides: [],
      },
      options: { mergeValues: true, showValue: 'auto', rowHeight: 0.9 },
    },
    local tunnelStates = {
      '0': { text: 'unknown', color: 'text' },
      '1': { text: 'healthy', color: 'green' },
      '2': { text: 'degraded', color: 'orange' },
      '3': { text: 'down', color: 'red' },
    },
    local haStates = {
      '0': { text: 'disabled', color: 'text' },
      '1': { text: 'active', color: 'green' },
      '2': { text: 'standby', color: 'blue' },
      '3': { text: 'stopped', color: 'orange' },
      '4': { text: 'fault', color: 'red' },
    },
    // Panels only the connector's REST telemetry fills: the edge view does
    // not carry interfaces or their counters. They say so, in their
    // description and where their data would be.
    local restOnly = 'Needs --collector.telemetry (REST telemetry; the edge view does not carry interfaces). ',
    local needsTelemetry = { fieldConfig+: { defaults+: { noValue: 'Needs --collector.telemetry' } } },
    local thresholds(unit, steps) = {
      fieldConfig: {
        defaults: {
          color: { mode: 'thresholds' },
          thresholds: { mode: 'absolute', steps: steps },
          unit: unit,
          custom: { thresholdsStyle: { mode: 'line' } },
        },
        overrides: [],
      },
    },

    'cloudflare-magic-connector-health.json': lib.dashboard(c, 'connector-health', 'Connector health', "Each connector's system: load, memory, filesystems, temperatures, its view of its tunnels, HA state and events; from the connector's REST telemetry where enabled, else Cloudflare's edge view. Data from cloudflare_magic_exporter.", [
      lib.simple('timeseries', 'Load per CPU core', 'Five-minute load average divided by the CPU cores; above 1 for a while fires MagicWANConnectorLoadHigh.', lib.gridPos(0, 0, 12, 8), [
        lib.range(named('max by (account_id, connector_id) %s / max by (account_id, connector_id) %s' % [either('load5'), either('cpu_cores')]), '{{notes}}'),
      ], extra=thresholds('none', [{ color: 'green', value: null }, { color: 'red', value: c.loadPerCore }])),
      lib.simple('timeseries', 'Memory available', 'Share of the memory available for new work.', lib.gridPos(12, 0, 12, 8), [
        lib.range(named('max by (account_id, connector_id) %s / max by (account_id, connector_id) %s' % [either('memory_available_bytes'), either('memory_total_bytes')]), '{{notes}}'),
      ], extra=thresholds('percentunit', [{ color: 'red', value: null }, { color: 'green', value: 0.1 }])),

      lib.simple('bargauge', 'Filesystem free', 'Free share of each filesystem, fullest first; under %s fires MagicWANConnectorFilesystemNearlyFull.' % c.filesystemAvailRatio, lib.gridPos(0, 8, 12, 8), [
        lib.instant(named('bottomk(20, min by (account_id, connector_id, mountpoint) (cloudflare_magic_connector_filesystem_avail_bytes{%(f)s} / cloudflare_magic_connector_filesystem_size_bytes{%(f)s} or cloudflare_magic_edge_connector_filesystem_avail_bytes{%(f)s} / cloudflare_magic_edge_connector_filesystem_size_bytes{%(f)s}))' % v), '{{notes}} {{mountpoint}}'),
      ], extra=thresholds('percentunit', [{ color: 'red', value: null }, { color: 'orange', value: c.filesystemAvailRatio }, { color: 'green', value: 0.25 }]) + { options: { displayMode: 'basic', orientation: 'horizontal', reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false } } }),
      lib.simple('timeseries', 'Temperatures', 'Each sensor of each connector.', lib.gridPos(12, 8, 12, 8), [
        lib.range(named('max by (account_id, connector_id, sensor) %s' % either('temperature_celsius')), '{{notes}} {{sensor}}'),
      ], extra=thresholds('celsius', [{ color: 'green', value: null }, { color: 'red', value: c.temperatureMaxCelsius }])),

      lib.simple('state-timeline', 'Tunnels as the connectors see them', "Each connector's own health verdict on each of its tunnels.", lib.gridPos(0, 16, 24, 8), [
        lib.range(named('max by (account_id, connector_id, tunnel_id, interface_name) %s' % either('tunnel_health')), '{{notes}} {{interface_name}}'),
      ], extra=withMappings(tunnelStates)),
      lib.simple('state-timeline', 'HA state', 'High-availability state of each connector; an HA pair should have exactly one active member.', lib.gridPos(0, 24, 12, 8), [
        lib.range(named('max by (account_id, connector_id) %s' % either('ha_state')), '{{notes}}'),
      ], extra=withMappings(haStates)),
      lib.simple('timeseries', 'Lifecycle events', 'Connector events by type (edge view).', lib.gridPos(12, 24, 12, 8), [
        lib.range(named('sum by (account_id, connector_id, event) (increase(cloudflare_magic_edge_connector_events_total{%(f)s}[$__rate_interval]))' % v), '{{notes}} {{event}}'),
      ], 'none', { fieldConfig: { defaults: { custom: { drawStyle: 'bars', fillOpacity: 80 }, unit: 'none' }, overrides: [] } }),

      lib.simple('timeseries', 'Network traffic', restOnly + 'Bytes per second received (negative) and sent per device.', lib.gridPos(0, 32, 12, 8), [
        lib.range(named('-sum by (account_id, connector_id, device) (rate(cloudflare_magic_connector_network_receive_bytes_total{%(f)s}[$__rate_interval]))' % v), '{{notes}} {{device}} in'),
        lib.range(named('sum by (account_id, connector_id, device) (rate(cloudflare_magic_connector_network_transmit_bytes_total{%(f)s}[$__rate_interval]))' % v), '{{notes}} {{device}} out'),
      ], 'Bps', needsTelemetry),
      lib.simple('timeseries', 'Network errors and drops', restOnly + 'Bad, failed and dropped packets per second.', lib.gridPos(12, 32, 12, 8), [
        lib.range(named('sum by (account_id, connector_id, device) (rate(cloudflare_magic_connector_network_receive_errors_total{%(f)s}[$__rate_interval]) + rate(cloudflare_magic_connector_network_transmit_errors_total{%(f)s}[$__rate_interval]))' % v), '{{notes}} {{device}} errors'),
        lib.range(named('sum by (account_id, connector_id, device) (rate(cloudflare_magic_connector_network_receive_drop_total{%(f)s}[$__rate_interval]) + rate(cloudflare_magic_connector_network_transmit_drop_total{%(f)s}[$__rate_interval]))' % v), '{{notes}} {{device}} drops'),
      ], 'pps', needsTelemetry),

      lib.simple('table', 'Interfaces down', restOnly + 'Interfaces whose operstate is not up; empty also when all are up.', lib.gridPos(0, 40, 12, 8), [
        lib.table(named('max by (account_id, connector_id, interface) (cloudflare_magic_connector_interface_up{%(f)s}) == 0' % v)),
      ], extra=needsTelemetry),
      lib.simple('timeseries', 'Telemetry snapshot age', "Age of each connector's newest telemetry: its REST snapshot with --collector.telemetry, else the newest bucket of the edge view, which lags a few minutes. A REST snapshot over %ss fires MagicWANConnectorTelemetryStale." % c.snapshotAgeSeconds, lib.gridPos(12, 40, 12, 8), [
        lib.range(named('time() - max by (account_id, connector_id) %s' % either('snapshot_timestamp_seconds')), '{{notes}}'),
      ], 's'),
    ]),
  },
}
