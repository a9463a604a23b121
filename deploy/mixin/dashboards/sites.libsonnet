// Sites overview: where the sites are, which are down or on one leg, the
// HA pairs' active members, and connectors whose site is not listed.
local lib = import 'lib.libsonnet';

{
  grafanaDashboards+:: {
    local c = $._config,
    local v = lib.filters(c),
    // One series per site, with its name, HA mode and location.
    local siteInfo = 'topk by (account_id, site_id) (1, cloudflare_magic_site_info{%(fs)s})' % v,
    local statPanel(title, description, x, expr, colour) = lib.simple('stat', title, description, lib.gridPos(x, 0, 4, 4), [lib.instant(expr)], 'none', {
      fieldConfig: {
        defaults: {
          color: { mode: 'thresholds' },
          thresholds: { mode: 'absolute', steps: [{ color: colour, value: null }] },
          unit: 'none',
        },
        overrides: [],
      },
      options: {
        colorMode: 'value',
        graphMode: 'none',
        reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        textMode: 'auto',
      },
    }),

    'cloudflare-magic-sites.json': lib.dashboard(c, 'sites', 'Sites overview', 'Magic WAN sites: where they are, how many of their connectors heartbeat, HA pairs and connectors without a listed site. Data from cloudflare_magic_exporter.', [
      statPanel('Sites', 'Sites listed in the selected accounts.', 0,
                'count(%s) or vector(0)' % siteInfo, 'blue'),
      statPanel('Sites down', 'Sites none of whose connectors heartbeats (MagicWANSiteDown).', 4,
                'count(max by (account_id, site_id) (cloudflare_magic_site_connectors_expected{%(fs)s}) > 0 and max by (account_id, site_id) (cloudflare_magic_site_connectors_heartbeating{%(fs)s}) == 0) or vector(0)' % v, 'red'),
      statPanel('HA sites on one leg', 'High-availability sites with some, not all, connectors heartbeating (MagicWANSiteHADegraded).', 8,
                'count((max by (account_id, site_id) (cloudflare_magic_site_connectors_heartbeating{%(fs)s}) > 0) < max by (account_id, site_id) (cloudflare_magic_site_connectors_expected{%(fs)s}) and on(account_id, site_id) cloudflare_magic_site_info{%(fs)s, ha_mode="true"}) or vector(0)' % v, 'orange'),
      statPanel('HA sites', 'Sites that run a high-availability pair.', 12,
                'count(max by (account_id, site_id) (cloudflare_magic_site_info{%(fs)s, ha_mode="true"})) or vector(0)' % v, 'blue'),
      statPanel('Sites without connectors', 'Listed sites that name no connector.', 16,
                'count(max by (account_id, site_id) (cloudflare_magic_site_connectors_expected{%(fs)s}) == 0) or vector(0)' % v, 'text'),
      statPanel('Connectors without a listed site', 'Connectors whose site_id names no listed site.', 20,
                'count(max by (account_id, connector_id) (cloudflare_magic_connector_site_listed{%(f)s}) == 0 %(site)s) or vector(0)' % v, 'orange'),

      lib.panel({
        type: 'geomap',
        title: 'Sites',
        description: 'Sites with a known location, coloured by the share of their connectors that heartbeat: red none, orange some, green all.',
        fieldConfig: {
          defaults: {
            color: { mode: 'thresholds' },
            thresholds: { mode: 'absolute', steps: [
              { color: 'red', value: null },
              { color: 'orange', value: 0.01 },
              { color: 'green', value: 1 },
            ] },
            unit: 'percentunit',
          },
          overrides: [],
        },
        options: {
          basemap: { config: {}, name: 'Basemap', type: 'default' },
          controls: { mouseWheelZoom: true, showAttribution: true, showZoom: true },
          layers: [{
            config: {
              showLegend: true,
              style: {
                color: { field: 'Value', fixed: 'dark-green' },
                opacity: 0.8,
                size: { fixed: 8, max: 15, min: 4 },
                symbol: { fixed: 'img/icons/marker/circle.svg', mode: 'fixed' },
                text: { field: 'site_name', fixed: '', mode: 'field' },
                textConfig: { fontSize: 10, offsetX: 0, offsetY: -12, textAlign: 'center', textBaseline: 'bottom' },
              },
            },
            location: { latitude: 'latitude', longitude: 'longitude', mode: 'coords' },
            name: 'Sites',
            tooltip: true,
            type: 'markers',
          }],
          tooltip: { mode: 'details' },
          view: { allLayers: true, id: 'fit', lat: 0, lon: 0, zoom: 2 },
        },
        // The location arrives as label strings; the map needs numbers.
        transformations: [{
          id: 'convertFieldType',
          options: {
            conversions: [
              { destinationType: 'number', targetField: 'latitude' },
              { destinationType: 'number', targetField: 'longitude' },
            ],
            fields: {},
          },
        }],
      } + lib.gridPos(0, 4, 14, 14), [
        lib.table(|||
          (
              max by (account_id, site_id) (cloudflare_magic_site_connectors_heartbeating{%(fs)s})
            / clamp_min(max by (account_id, site_id) (cloudflare_magic_site_connectors_expected{%(fs)s}), 1)
          )
          * on(account_id, site_id) group_left(site_name, ha_mode, latitude, longitude)
            topk by (account_id, site_id) (1, cloudflare_magic_site_info{%(fs)s, latitude!="", longitude!=""})
        ||| % v),
      ]),

      lib.panel({
        type: 'table',
        title: 'Sites and their connectors',
        description: 'One row per site: connectors it names and how many of them heartbeat.',
        fieldConfig: {
          defaults: { custom: { align: 'auto', filterable: true, cellOptions: { type: 'auto' } } },
          overrides: [
            { matcher: { id: 'byName', options: 'Heartbeating' }, properties: [
              { id: 'custom.cellOptions', value: { type: 'color-text' } },
              { id: 'color', value: { mode: 'thresholds' } },
              { id: 'thresholds', value: { mode: 'absolute', steps: [{ color: 'red', value: null }, { color: 'green', value: 1 }] } },
            ] },
          ],
        },
        options: { cellHeight: 'sm', showHeader: true, sortBy: [{ displayName: 'Heartbeating', desc: false }] },
        transformations: [
          { id: 'merge', options: {} },
          { id: 'organize', options: {
            excludeByName: { Time: true, 'Value #A': true },
            indexByName: { site_name: 0, ha_mode: 1, 'Value #B': 2, 'Value #C': 3, site_id: 4, account_id: 5 },
            renameByName: { site_name: 'Site', ha_mode: 'HA', 'Value #B': 'Connectors', 'Value #C': 'Heartbeating', site_id: 'Site ID', account_id: 'Account' },
          } },
        ],
      } + lib.gridPos(14, 4, 10, 14), [
        lib.table('max by (account_id, site_id, site_name, ha_mode) (cloudflare_magic_site_info{%(fs)s})' % v),
        lib.table('max by (account_id, site_id) (cloudflare_magic_site_connectors_expected{%(fs)s})' % v),
        lib.table('max by (account_id, site_id) (cloudflare_magic_site_connectors_heartbeating{%(fs)s})' % v),
      ]),

      lib.simple('timeseries', 'Heartbeating connectors per site', 'How many of each site\'s connectors heartbeat; a drop to 0 is a site down.', lib.gridPos(0, 18, 12, 8), [
        lib.range('max by (account_id, site_id) (cloudflare_magic_site_connectors_heartbeating{%(fs)s}) * on(account_id, site_id) group_left(site_name) %(info)s' % (v { info: siteInfo }), '{{site_name}}'),
      ], 'none'),

      lib.simple('table', 'Active connectors of HA sites', 'Connectors that report themselves active (HA state 1) per high-availability site, from REST telemetry or the edge view; exactly one is right (MagicWANSiteHAActiveCount).', lib.gridPos(12, 18, 12, 8), [
        lib.table(|||
          sum by (account_id, site_id, site_name) (
            max by (account_id, connector_id) (
                cloudflare_magic_connector_ha_state{%(f)s} == bool 1
              or
                cloudflare_magic_edge_connector_ha_state{%(f)s} == bool 1
            )
            * on(account_id, connector_id) group_left(site_id, site_name)
              topk by (account_id, connector_id) (1, cloudflare_magic_connector_site_info{%(fs)s})
          )
          and on(account_id, site_id) cloudflare_magic_site_info{%(fs)s, ha_mode="true"}
        ||| % v),
      ]),

      lib.simple('table', 'Connectors without a listed site', 'Connectors whose site_id names no site of the sites list: a typo, or a deleted site.', lib.gridPos(0, 26, 24, 6), [
        lib.table('(max by (account_id, connector_id) (cloudflare_magic_connector_site_listed{%(f)s}) == 0) * on(account_id, connector_id) group_left(notes, site_id) topk by (account_id, connector_id) (1, cloudflare_magic_connector_info{%(fs)s})' % v),
      ]),
    ]),
  },
}
