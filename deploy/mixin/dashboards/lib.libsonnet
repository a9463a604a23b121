// Small helpers for the dashboards, in plain jsonnet (no grafonnet).
{
  datasource:: { type: 'prometheus', uid: '${datasource}' },

  // Query filters, for `'...{%(f)s}...' % lib.filters(c)`:
  //   fx   the exporter's own series (no account): selector, job, instance
  //   f    account series: fx and the account
  //   fs   series with a site_id label: f and the site
  //   site the clause that keeps a connector series to the selected sites,
  //        through the connector's _info series (which always carries
  //        site_id; the site variable's All is .*, so All keeps connectors
  //        whose site is empty or not listed)
  //   stale the stale-heartbeat threshold of the alerts
  filters(c):: {
    local fx = '%s, job=~"$job", instance=~"$instance"' % c.selector,
    local f = fx + ', account_id=~"$account"',
    fx: fx,
    f: f,
    fs: f + ', site_id=~"$site"',
    site: 'and on(account_id, connector_id) cloudflare_magic_connector_info{%s}' % self.fs,
    stale: c.heartbeatStaleSeconds,
  },

  target(expr, legend=null, instant=false, format=null):: {
    datasource: $.datasource,
    editorMode: 'code',
    expr: expr,
    range: !instant,
    instant: instant,
    [if legend != null then 'legendFormat']: legend,
    [if format != null then 'format']: format,
  },
  range(expr, legend=null):: self.target(expr, legend),
  instant(expr, legend=null):: self.target(expr, legend, instant=true),
  table(expr):: self.target(expr, instant=true, format='table'),

  // panel gives a panel body its data source and its queries their refIds.
  panel(body, targets):: body {
    datasource: $.datasource,
    targets: [
      targets[i] { refId: std.char(std.codepoint('A') + i) }
      for i in std.range(0, std.length(targets) - 1)
    ],
  },

  gridPos(x, y, w, h):: { gridPos: { x: x, y: y, w: w, h: h } },

  // A simple panel of a given type at a position.
  simple(type, title, description, pos, targets, unit=null, extra={}):: $.panel({
    type: type,
    title: title,
    description: description,
    fieldConfig: {
      defaults: {
        [if unit != null then 'unit']: unit,
      },
      overrides: [],
    },
    options: {},
  } + pos + extra, targets),

  queryVariable(name, label, definition, regex='', allValue=null, qryType=1):: {
    current: { selected: true, text: ['All'], value: ['$__all'] },
    datasource: $.datasource,
    definition: definition,
    hide: 0,
    includeAll: true,
    [if allValue != null then 'allValue']: allValue,
    label: label,
    multi: true,
    name: name,
    options: [],
    query: { qryType: qryType, query: definition, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
    refresh: 2,
    regex: regex,
    skipUrlSync: false,
    sort: 1,
    type: 'query',
  },

  // The variables every dashboard has: data source, job, instance, account
  // and site, each narrowing the next.
  variables(c):: [
    {
      current: {},
      hide: 0,
      includeAll: false,
      label: 'Data source',
      multi: false,
      name: 'datasource',
      options: [],
      query: 'prometheus',
      refresh: 1,
      regex: '',
      skipUrlSync: false,
      type: 'datasource',
    },
    $.queryVariable('job', 'Job', 'label_values(up{%s}, job)' % c.selector),
    $.queryVariable('instance', 'Instance', 'label_values(up{%s, job=~"$job"}, instance)' % c.selector),
    $.queryVariable('account', 'Account', 'label_values(cloudflare_magic_up{%s}, account_id)' % $.filters(c).fx),
    // Values are site ids, shown by name; All is .* so that connectors
    // without a listed site stay in view.
    $.queryVariable(
      'site',
      'Site',
      'query_result(max by (site_id, site_name) (cloudflare_magic_site_info{%s}))' % $.filters(c).f,
      regex='/site_id="(?<value>[^"]*)".*site_name="(?<text>[^"]*)"/',
      allValue='.*',
      qryType=3,
    ),
  ],

  dashboard(c, uid, title, description, panels):: {
    annotations: {
      list: [{
        builtIn: 1,
        datasource: { type: 'grafana', uid: '-- Grafana --' },
        enable: true,
        hide: true,
        iconColor: 'rgba(0, 211, 255, 1)',
        name: 'Annotations & Alerts',
        type: 'dashboard',
      }],
    },
    description: description,
    editable: true,
    fiscalYearStartMonth: 0,
    graphTooltip: 1,
    id: null,
    links: [
      {
        asDropdown: false,
        icon: 'external link',
        includeVars: true,
        keepTime: true,
        tags: c.dashboardTags,
        targetBlank: false,
        title: 'Magic WAN dashboards',
        tooltip: '',
        type: 'dashboards',
        url: '',
      },
      {
        asDropdown: false,
        icon: 'doc',
        includeVars: false,
        keepTime: false,
        tags: [],
        targetBlank: true,
        title: 'Runbook',
        tooltip: 'What each alert means and what to do',
        type: 'link',
        url: c.runbookURL,
      },
    ],
    panels: [
      panels[i] { id: i + 1 }
      for i in std.range(0, std.length(panels) - 1)
    ],
    refresh: c.dashboardRefresh,
    schemaVersion: 39,
    tags: c.dashboardTags,
    templating: { list: $.variables(c) },
    time: { from: c.dashboardTimeFrom, to: 'now' },
    timepicker: {},
    timezone: '',
    title: c.dashboardTitlePrefix + title,
    uid: c.dashboardUIDPrefix + uid,
    version: 1,
    weekStart: '',
  },
}
