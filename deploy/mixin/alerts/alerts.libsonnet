// The alert rules. Every vector selector carries _config.selector; every
// threshold and `for` comes from _config. deploy/prometheus/alerts.yml is the
// rendering of this file with the default _config (go test ./deploy -run
// TestMixin -update), and alerts_test.yml beside it unit-tests that output.
local helpers = {
  // alert builds a rule with the runbook link derived from its name.
  alert(c, name, expr, severity, summary, description, for_=null):: {
    alert: name,
    expr: expr,
    [if for_ != null then 'for']: for_,
    labels: { severity: severity },
    annotations: {
      summary: summary,
      description: description,
      runbook_url: c.runbookURLBase + std.asciiLower(name),
    },
  },

  // connectorLabels joins a connector's notes and site_id (always there)
  // and its site's name (where its site_id names a listed site) onto a
  // connector expression. topk keeps the join one-to-one while an _info
  // series changes labels; the `or on(...)` falls back to the connector's
  // own _info series, which has no site_name, so an unlisted site only
  // leaves the label out.
  connectorLabels(c, expr):: |||
    (
      %(expr)s
    )
    * on(account_id, connector_id) group_left(notes, site_id)
      topk by (account_id, connector_id) (1, cloudflare_magic_connector_info{%(selector)s})
    * on(account_id, connector_id) group_left(site_name)
      (
          topk by (account_id, connector_id) (1, cloudflare_magic_connector_site_info{%(selector)s})
        or on(account_id, connector_id)
          topk by (account_id, connector_id) (1, cloudflare_magic_connector_info{%(selector)s})
      )
  ||| % (c { expr: std.strReplace(std.rstripChars(expr, '\n'), '\n', '\n  ') }),

  // human spells a duration of one unit ("5m", "1d") for a description.
  human(d)::
    local n = std.substr(d, 0, std.length(d) - 1), u = d[std.length(d) - 1];
    local units = { s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week' };
    if std.objectHas(units, u) && std.length(n) > 0 && std.all([std.member('0123456789', x) for x in std.stringChars(n)])
    then n + ' ' + units[u] + (if n == '1' then '' else 's')
    else d,

  // The site, in a connector alert's description.
  connectorWhere: '{{ $labels.connector_id }} ({{ $labels.notes }}{{ with $labels.site_name }}, site {{ . }}{{ else }}{{ with $labels.site_id }}, site {{ . }}{{ end }}{{ end }}) of account {{ $labels.account_id }}',
};

{
  prometheusAlerts+:: {
    local c = $._config,
    local a(name, expr, severity, summary, description, for_=null) = helpers.alert(c, name, expr, severity, summary, description, for_),
    local connectorLabels(expr) = helpers.connectorLabels(c, expr),
    local where = helpers.connectorWhere,
    // The durations of _config, spelt out for descriptions.
    local h = c {
      [k + 'Human']: helpers.human(c[k])
      for k in std.objectFields(c)
      if std.isString(c[k]) && (std.endsWith(k, 'For') || std.endsWith(k, 'Window'))
    },

    groups+: [
      {
        name: 'cloudflare-magic-wan-connectors',
        rules: [
          // Suppressed inside the connector's upgrade window, and while the
          // connectors call for the account fails (MagicWANExporterAPIDown
          // fires instead). When the call fails the heartbeat series vanish
          // anyway, so the alert resolves rather than fires; the unless
          // clause also keeps it quiet should a failing scrape ever report
          // last-known heartbeats. Both unless clauses are no-ops while
          // their metric is absent.
          a(
            'MagicWANConnectorHeartbeatStale',
            |||
              (
                cloudflare_magic_connector_heartbeat_age_seconds{%(selector)s} > %(heartbeatStaleSeconds)s
                  and on(account_id, connector_id) cloudflare_magic_connector_activated{%(selector)s} == 1
                  unless on(account_id, connector_id) cloudflare_magic_connector_interrupt_window_active{%(selector)s} == 1
                  unless on(account_id) cloudflare_magic_up{%(selector)s, endpoint="connectors"} == 0
              )
              * on(account_id, connector_id) group_left(notes, site_id)
                topk by (account_id, connector_id) (1, cloudflare_magic_connector_info{%(selector)s})
            ||| % c,
            'critical',
            'Magic WAN Connector {{ $labels.notes }} stopped heartbeating',
            'Connector {{ $labels.connector_id }} ({{ $labels.notes }}{{ with $labels.site_id }}, site {{ . }}{{ end }}) of account {{ $labels.account_id }} last heartbeated {{ $value | humanizeDuration }} ago; connectors heartbeat about every 10 seconds. The site or its uplink is probably down.',
            c.heartbeatStaleFor,
          ),
          a(
            'MagicWANConnectorNeverHeartbeated',
            |||
              (
                cloudflare_magic_connector_activated{%(selector)s} == 1
                  unless on(account_id, connector_id) cloudflare_magic_connector_last_heartbeat_timestamp_seconds{%(selector)s}
              )
              * on(account_id, connector_id) group_left(notes, site_id)
                topk by (account_id, connector_id) (1, cloudflare_magic_connector_info{%(selector)s})
            ||| % c,
            'warning',
            'Magic WAN Connector {{ $labels.notes }} is activated but has never connected',
            'Connector {{ $labels.connector_id }} ({{ $labels.notes }}{{ with $labels.site_id }}, site {{ . }}{{ end }}) of account {{ $labels.account_id }} has been activated for at least %(neverHeartbeatedForHuman)s and has never sent a heartbeat to Cloudflare.' % h,
            c.neverHeartbeatedFor,
          ),
          // A connector whose version is not among the most common versions
          // of its account (versions tied for most common all count as most
          // common, so the answer does not flip between evaluations).
          // last_over_time bridges failed scrapes, which would otherwise
          // restart the day-long "for".
          a(
            'MagicWANConnectorVersionDrift',
            |||
              last_over_time(cloudflare_magic_connector_info{%(selector)s, version!=""}[%(versionDriftLookback)s])
                unless on(account_id, version)
                  (
                      count by (account_id, version) (last_over_time(cloudflare_magic_connector_info{%(selector)s, version!=""}[%(versionDriftLookback)s]))
                    == on(account_id) group_left
                      max by (account_id) (count by (account_id, version) (last_over_time(cloudflare_magic_connector_info{%(selector)s, version!=""}[%(versionDriftLookback)s])))
                  )
            ||| % c,
            'info',
            'Magic WAN Connector {{ $labels.notes }} runs {{ $labels.version }}, not the most common version of its account',
            'Connector {{ $labels.connector_id }} ({{ $labels.notes }}{{ with $labels.site_id }}, site {{ . }}{{ end }}) of account {{ $labels.account_id }} has run version {{ $labels.version }} for over %(versionDriftForHuman)s while most connectors of the account run another version.' % h,
            c.versionDriftFor,
          ),
        ],
      },
      {
        name: 'cloudflare-magic-wan-sites',
        rules: [
          // No connector of a site that names some heartbeats. Quiet while
          // the sites or connectors call of the account fails: the count is
          // then unknown, and MagicWANExporterAPIDown fires instead.
          a(
            'MagicWANSiteDown',
            |||
              (
                cloudflare_magic_site_connectors_expected{%(selector)s} > 0
                  and cloudflare_magic_site_connectors_heartbeating{%(selector)s} == 0
                  unless on(account_id) cloudflare_magic_up{%(selector)s, endpoint=~"sites|connectors"} == 0
              )
              * on(account_id, site_id) group_left(site_name)
                topk by (account_id, site_id) (1, cloudflare_magic_site_info{%(selector)s})
            ||| % c,
            'critical',
            'Magic WAN site {{ $labels.site_name }} is down',
            'None of the {{ $value }} connectors of site {{ $labels.site_name }} ({{ $labels.site_id }}) of account {{ $labels.account_id }} has heartbeated within the exporter\'s heartbeat timeout. The site, its power or its uplinks are down.',
            c.siteDownFor,
          ),
          // A high-availability site with some, but not all, of its
          // connectors heartbeating: it runs without redundancy.
          a(
            'MagicWANSiteHADegraded',
            |||
              (
                (cloudflare_magic_site_connectors_heartbeating{%(selector)s} > 0)
                  < cloudflare_magic_site_connectors_expected{%(selector)s}
                  unless on(account_id) cloudflare_magic_up{%(selector)s, endpoint=~"sites|connectors"} == 0
              )
              * on(account_id, site_id) group_left(site_name)
                topk by (account_id, site_id) (1, cloudflare_magic_site_info{%(selector)s, ha_mode="true"})
            ||| % c,
            'warning',
            'Magic WAN HA site {{ $labels.site_name }} runs on one leg',
            'Only {{ $value }} of the connectors of the high-availability site {{ $labels.site_name }} ({{ $labels.site_id }}) of account {{ $labels.account_id }} heartbeats; the site has no redundancy left.',
            c.siteHADegradedFor,
          ),
          // An HA pair should have exactly one active member: none means
          // the site's traffic is down, two a split brain. The HA state
          // comes from the connector's REST telemetry (--collector.telemetry)
          // or, for connectors without it, from the edge view.
          a(
            'MagicWANSiteHAActiveCount',
            |||
              sum by (job, instance, account_id, site_id, site_name) (
                (
                    cloudflare_magic_connector_ha_state{%(selector)s} == bool 1
                  or
                    cloudflare_magic_edge_connector_ha_state{%(selector)s} == bool 1
                )
                * on(account_id, connector_id) group_left(site_id, site_name)
                  topk by (account_id, connector_id) (1, cloudflare_magic_connector_site_info{%(selector)s})
              ) != 1
              and on(account_id, site_id)
                cloudflare_magic_site_info{%(selector)s, ha_mode="true"}
            ||| % c,
            'critical',
            'Magic WAN HA site {{ $labels.site_name }} has {{ $value }} active connectors, not one',
            '{{ $value }} connectors of the high-availability site {{ $labels.site_name }} ({{ $labels.site_id }}) of account {{ $labels.account_id }} report themselves active; exactly one should. None: the site\'s traffic is down. Two: both claim the site (split brain).',
            c.siteHAActiveCountFor,
          ),
        ],
      },
      {
        name: 'cloudflare-magic-wan-edge',
        rules: [
          // Down at every Cloudflare data centre that routes it (or, when
          // none has for six hours, that checks it): the exporter counts
          // them in cloudflare_magic_edge_tunnel_active_colos, so "down
          // everywhere it matters" is one comparison. A data centre that
          // never carries the tunnel's traffic does not count.
          a(
            'MagicWANTunnelDown',
            |||
              (
                sum without (state) (cloudflare_magic_edge_tunnel_active_colos{%(selector)s, state!="down"}) == 0
              )
              * on(account_id, tunnel_name) group_left(site_name)
                topk by (account_id, tunnel_name) (1, cloudflare_magic_edge_tunnel_info{%(selector)s})
            ||| % c,
            'critical',
            'Magic WAN tunnel {{ $labels.tunnel_name }} is down where Cloudflare routes it',
            'Every Cloudflare data centre that routes tunnel {{ $labels.tunnel_name }}{{ with $labels.site_name }} (site {{ . }}){{ end }} of account {{ $labels.account_id }} sees it down: no traffic crosses it.',
            c.tunnelDownFor,
          ),
          // Degraded or down at some data centre that routes it, but not
          // down at all of them (MagicWANTunnelDown).
          a(
            'MagicWANTunnelDegraded',
            |||
              (
                sum without (state) (cloudflare_magic_edge_tunnel_active_colos{%(selector)s, state=~"degraded|down"}) > 0
                  and
                sum without (state) (cloudflare_magic_edge_tunnel_active_colos{%(selector)s, state!="down"}) > 0
              )
              * on(account_id, tunnel_name) group_left(site_name)
                topk by (account_id, tunnel_name) (1, cloudflare_magic_edge_tunnel_info{%(selector)s})
            ||| % c,
            'warning',
            'Magic WAN tunnel {{ $labels.tunnel_name }} is degraded',
            '{{ $value }} Cloudflare data centres that route tunnel {{ $labels.tunnel_name }}{{ with $labels.site_name }} (site {{ . }}){{ end }} of account {{ $labels.account_id }} see it degraded or down; Magic WAN steers traffic away from it there.',
            c.tunnelDegradedFor,
          ),
          // A listed site whose every tunnel is degraded or down where it
          // is routed: the site is cut off from Magic WAN, or nearly.
          a(
            'MagicWANSiteNoHealthyTunnel',
            |||
              (max without (state) (cloudflare_magic_site_tunnels{%(selector)s, state="healthy"}) == 0)
              * on(account_id, site_id) group_left(site_name)
                topk by (account_id, site_id) (1, cloudflare_magic_site_info{%(selector)s})
            ||| % c,
            'critical',
            'Magic WAN site {{ $labels.site_name }} has no healthy tunnel',
            'No tunnel of site {{ $labels.site_name }} ({{ $labels.site_id }}) of account {{ $labels.account_id }} is healthy at the Cloudflare data centres that route it: the site\'s traffic is cut off or degraded.',
            c.siteNoHealthyTunnelFor,
          ),
        ],
      },
      {
        name: 'cloudflare-magic-wan-connector-health',
        rules: [
          // Two sources: the edge view's datasets (per account) and each
          // connector's own REST snapshot (per connector).
          a(
            'MagicWANConnectorTelemetryStale',
            |||
              cloudflare_magic_edge_data_age_seconds{%(selector)s, dataset=~"%(edgeDatasets)s"} > %(edgeDataAgeSeconds)s
                or
            ||| % c + connectorLabels(|||
              time() - cloudflare_magic_connector_snapshot_timestamp_seconds{%(selector)s} > %(snapshotAgeSeconds)s
            ||| % c),
            'warning',
            '{{ if $labels.connector_id }}Telemetry of Magic WAN Connector {{ $labels.notes }} is stale{{ else }}Cloudflare\'s {{ $labels.dataset }} data is stale{{ end }}',
            '{{ if $labels.connector_id }}The newest telemetry snapshot of connector ' + where + ' is {{ $value | humanizeDuration }} old.{{ else }}The newest bucket of the edge dataset {{ $labels.dataset }} for account {{ $labels.account_id }} is {{ $value | humanizeDuration }} old.{{ end }} Panels and alerts on connector health show old values meanwhile.',
            c.telemetryStaleFor,
          ),
          a(
            'MagicWANConnectorFilesystemNearlyFull',
            connectorLabels(|||
              (
                  cloudflare_magic_connector_filesystem_avail_bytes{%(selector)s} / cloudflare_magic_connector_filesystem_size_bytes{%(selector)s}
                or
                  cloudflare_magic_edge_connector_filesystem_avail_bytes{%(selector)s} / cloudflare_magic_edge_connector_filesystem_size_bytes{%(selector)s}
              ) < %(filesystemAvailRatio)s
            ||| % c),
            'warning',
            'Filesystem {{ $labels.mountpoint }} of Magic WAN Connector {{ $labels.notes }} is nearly full',
            'Only {{ $value | humanizePercentage }} of {{ $labels.mountpoint }} is free on connector ' + where + '.',
            c.filesystemFor,
          ),
          a(
            'MagicWANConnectorTemperatureHigh',
            connectorLabels(|||
              (
                  cloudflare_magic_connector_temperature_celsius{%(selector)s}
                or
                  cloudflare_magic_edge_connector_temperature_celsius{%(selector)s}
              )
              >= (
                  cloudflare_magic_connector_temperature_critical_celsius{%(selector)s}
                or
                  cloudflare_magic_edge_connector_temperature_critical_celsius{%(selector)s}
              ) - %(temperatureMarginCelsius)s
              or
              (
                  cloudflare_magic_connector_temperature_celsius{%(selector)s}
                or
                  cloudflare_magic_edge_connector_temperature_celsius{%(selector)s}
              ) > %(temperatureMaxCelsius)s
            ||| % c),
            'warning',
            'Magic WAN Connector {{ $labels.notes }} runs hot',
            'Sensor {{ $labels.sensor }} of connector ' + where + ' reads {{ $value }} °C, close to its critical temperature or above %(temperatureMaxCelsius)s °C.' % c,
            c.temperatureFor,
          ),
          a(
            'MagicWANConnectorLoadHigh',
            connectorLabels(|||
              (
                  cloudflare_magic_connector_load5{%(selector)s}
                or
                  cloudflare_magic_edge_connector_load5{%(selector)s}
              )
              > %(loadPerCore)s * (
                  cloudflare_magic_connector_cpu_cores{%(selector)s}
                or
                  cloudflare_magic_edge_connector_cpu_cores{%(selector)s}
              )
            ||| % c),
            'warning',
            'Magic WAN Connector {{ $labels.notes }} is overloaded',
            'The five-minute load of connector ' + where + ' is {{ $value }}, above its number of CPU cores, for over %(loadHighForHuman)s.' % h,
            c.loadHighFor,
          ),
        ],
      },
      {
        name: 'cloudflare-magic-exporter',
        rules: [
          a(
            'MagicWANExporterAPIDown',
            'cloudflare_magic_up{%(selector)s} == 0\n' % c,
            'warning',
            'The exporter cannot read {{ $labels.endpoint }} of account {{ $labels.account_id }} from the Cloudflare API',
            'Every call to the {{ $labels.endpoint }} endpoint for account {{ $labels.account_id }}{{ with query (printf `cloudflare_magic_account_info{%(selector)s, account_id=%%q}` $labels.account_id) }} ({{ . | first | label `account_name` }}){{ end }} has failed for %(apiDownForHuman)s. The endpoint\'s series are missing meanwhile, and stale-heartbeat alerts of the account cannot fire; the exporter\'s log says why the calls fail.' % h,
            c.apiDownFor,
          ),
          // The 429 counter only exists after the first 429, and increase()
          // needs two samples: the backoff gauge catches the first one.
          a(
            'MagicWANExporterRateLimited',
            |||
              sum without (code, endpoint) (increase(cloudflare_magic_api_requests_total{%(selector)s, code="429"}[%(rateLimitWindow)s])) > 0
                or
              cloudflare_magic_api_backoff_seconds{%(selector)s} > 0
            ||| % c,
            'warning',
            'The Cloudflare API is rate-limiting the exporter',
            'In the last %(rateLimitWindowHuman)s the Cloudflare API answered the exporter {{ $labels.instance }} with HTTP 429, or the exporter is waiting out a 429 before it calls again. The limit, 1,200 requests per 5 minutes, is shared by every token and dashboard session of the token\'s user; while it is exceeded every call fails and stale-heartbeat alerts cannot fire.' % h,
          ),
          a(
            'MagicWANExporterRateLimitNearlyExhausted',
            |||
              min_over_time(cloudflare_magic_api_ratelimit_remaining{%(selector)s}[%(rateLimitWindow)s])
                / max_over_time(cloudflare_magic_api_ratelimit_limit{%(selector)s}[%(rateLimitWindow)s])
                < %(rateLimitRemainingRatio)s
            ||| % c,
            'warning',
            "The exporter's Cloudflare API rate limit is nearly used up",
            "In the last %(rateLimitWindowHuman)s as little as {{ $value | humanizePercentage }} of the Cloudflare API rate limit was left for the user of the exporter {{ $labels.instance }}'s token. Past the limit every call is refused for 5 minutes." % h,
          ),
          a(
            'MagicWANExporterDown',
            |||
              up{%(selector)s} == 0
                or
              absent(up{%(selector)s})
            ||| % c,
            'warning',
            'Prometheus cannot scrape the Cloudflare Magic WAN exporter',
            'Prometheus has not scraped the exporter{{ with $labels.instance }} {{ . }}{{ end }} for %(exporterDownForHuman)s, or finds no target of it. No other Magic WAN alert can fire meanwhile.' % h,
            c.exporterDownFor,
          ),
        ],
      },
    ],
  },
}
