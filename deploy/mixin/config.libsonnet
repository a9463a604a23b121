// What a team changes without forking the mixin: override any field of
// _config, for example
//
//   (import 'mixin.libsonnet') + { _config+:: { selector: 'job="cf-magic-eu"' } }
//
// Every alert expression and every dashboard query carries `selector`, so
// two exporters in one Prometheus stay apart. Thresholds and `for`
// durations are numbers (seconds, ratios, degrees) or Prometheus durations.
{
  _config+:: {
    // Label matchers of the exporter's series, as inside {...}. The shipped
    // scrape jobs (deploy/prometheus), the Kubernetes Service and the Helm
    // chart's ServiceMonitor are all named cloudflare-magic-exporter*.
    selector: 'job=~"cloudflare-magic-exporter.*"',

    // Each alert's runbook_url is this plus the lower-cased alert name.
    runbookURLBase: 'https://github.com/magicwan-exporter/cloudflare_magic_exporter/blob/main/docs/runbook.md#',

    // Connectors (list endpoint). Connectors heartbeat about every 10 s.
    heartbeatStaleSeconds: 300,
    heartbeatStaleFor: '5m',
    neverHeartbeatedFor: '1h',
    versionDriftFor: '1d',
    // Bridges failed scrapes, which would otherwise restart versionDriftFor.
    versionDriftLookback: '30m',

    // The exporter itself.
    apiDownFor: '5m',
    rateLimitWindow: '10m',
    rateLimitRemainingRatio: 0.1,
    exporterDownFor: '5m',

    // Sites (GET .../magic/sites).
    siteDownFor: '5m',
    siteHADegradedFor: '5m',
    siteHAActiveCountFor: '5m',

    // Cloudflare's edge view (GraphQL Analytics), one bucket per 5 minutes.
    tunnelDownFor: '5m',
    tunnelDegradedFor: '15m',
    siteNoHealthyTunnelFor: '5m',

    // Connector health, from REST telemetry or the edge view, either one.
    // Edge datasets whose newest bucket is older than this are stale; the
    // regex picks the datasets (all by default).
    edgeDataAgeSeconds: 1800,
    edgeDatasets: '.*',
    // A connector's own REST telemetry snapshot older than this is stale.
    snapshotAgeSeconds: 1800,
    telemetryStaleFor: '10m',
    filesystemAvailRatio: 0.1,
    filesystemFor: '30m',
    // Fires within this many degrees of a sensor's critical temperature,
    // or above temperatureMaxCelsius where the sensor gives no critical one.
    temperatureMarginCelsius: 5,
    temperatureMaxCelsius: 85,
    temperatureFor: '10m',
    // The five-minute load above this many times the CPU cores.
    loadPerCore: 1,
    loadHighFor: '30m',

    // Dashboards.
    dashboardTags: ['cloudflare-magic-wan'],
    dashboardUIDPrefix: 'cf-magic-',
    dashboardTitlePrefix: 'Cloudflare Magic WAN / ',
    dashboardRefresh: '1m',
    dashboardTimeFrom: 'now-6h',
    // Dashboard colours and the Fleet overview's stale count use the same
    // threshold as the stale-heartbeat alert.
    runbookURL: 'https://github.com/magicwan-exporter/cloudflare_magic_exporter/blob/main/docs/runbook.md',
  },
}
