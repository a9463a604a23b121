// The Connectors dashboard. Panels as they were hand-made before the mixin;
// queries filtered by the selector and the job, instance, account and site
// variables (lib.filters).
local lib = import 'lib.libsonnet';

{
  grafanaDashboards+:: {
    local c = $._config,
    local v = lib.filters(c),
    'cloudflare-magic-connectors.json': lib.dashboard(c, 'connectors', 'Connectors', 'Every Magic WAN Connector: site, version, heartbeat age, activation, HA role and upgrade window. Data from cloudflare_magic_exporter.', [
        lib.panel({
          "type": "table",
          "title": "Connectors",
          "description": "One row per connector. Heartbeat age turns amber after 1 minute (several missed heartbeats) and red after 5 minutes (the stale-heartbeat alert's threshold); empty means never heartbeated. Upgrade window columns fill in with exporter versions that export them.",
          "fieldConfig": {
            "defaults": {
              "color": {
                "mode": "thresholds"
              },
              "custom": {
                "align": "auto",
                "cellOptions": {
                  "type": "auto"
                },
                "filterable": true,
                "inspect": false
              },
              "mappings": [],
              "thresholds": {
                "mode": "absolute",
                "steps": [
                  {
                    "color": "green",
                    "value": null
                  }
                ]
              }
            },
            "overrides": [
              {
                "matcher": {
                  "id": "byName",
                  "options": "Heartbeat age"
                },
                "properties": [
                  {
                    "id": "unit",
                    "value": "s"
                  },
                  {
                    "id": "decimals",
                    "value": 0
                  },
                  {
                    "id": "noValue",
                    "value": "never"
                  },
                  {
                    "id": "custom.cellOptions",
                    "value": {
                      "type": "color-background",
                      "mode": "basic"
                    }
                  },
                  {
                    "id": "thresholds",
                    "value": {
                      "mode": "absolute",
                      "steps": [
                        {
                          "color": "green",
                          "value": null
                        },
                        {
                          "color": "#EAB839",
                          "value": 60
                        },
                        {
                          "color": "red",
                          "value": 300
                        }
                      ]
                    }
                  }
                ]
              },
              {
                "matcher": {
                  "id": "byName",
                  "options": "Activated"
                },
                "properties": [
                  {
                    "id": "mappings",
                    "value": [
                      {
                        "type": "value",
                        "options": {
                          "1": {
                            "text": "yes",
                            "color": "green",
                            "index": 0
                          },
                          "0": {
                            "text": "no",
                            "color": "#EAB839",
                            "index": 1
                          }
                        }
                      }
                    ]
                  },
                  {
                    "id": "custom.cellOptions",
                    "value": {
                      "type": "color-text"
                    }
                  }
                ]
              },
              {
                "matcher": {
                  "id": "byName",
                  "options": "HA role"
                },
                "properties": [
                  {
                    "id": "mappings",
                    "value": [
                      {
                        "type": "value",
                        "options": {
                          "1": {
                            "text": "primary",
                            "color": "text",
                            "index": 0
                          },
                          "0": {
                            "text": "secondary",
                            "color": "blue",
                            "index": 1
                          }
                        }
                      }
                    ]
                  },
                  {
                    "id": "custom.cellOptions",
                    "value": {
                      "type": "color-text"
                    }
                  }
                ]
              },
              {
                "matcher": {
                  "id": "byName",
                  "options": "Upgrade window"
                },
                "properties": [
                  {
                    "id": "mappings",
                    "value": [
                      {
                        "type": "value",
                        "options": {
                          "1": {
                            "text": "open",
                            "color": "#EAB839",
                            "index": 0
                          },
                          "0": {
                            "text": "closed",
                            "color": "text",
                            "index": 1
                          }
                        }
                      }
                    ]
                  },
                  {
                    "id": "custom.cellOptions",
                    "value": {
                      "type": "color-text"
                    }
                  }
                ]
              },
              {
                "matcher": {
                  "id": "byName",
                  "options": "Next upgrade window"
                },
                "properties": [
                  {
                    "id": "unit",
                    "value": "dateTimeAsIso"
                  }
                ]
              },
              {
                "matcher": {
                  "id": "byName",
                  "options": "Config changed"
                },
                "properties": [
                  {
                    "id": "unit",
                    "value": "dateTimeFromNow"
                  }
                ]
              }
            ]
          },
          "options": {
            "cellHeight": "sm",
            "footer": {
              "countRows": false,
              "fields": "",
              "reducer": [
                "sum"
              ],
              "show": false
            },
            "showHeader": true,
            "sortBy": [
              {
                "displayName": "Heartbeat age",
                "desc": true
              }
            ]
          },
          "transformations": [
            {
              "id": "merge",
              "options": {}
            },
            {
              "id": "organize",
              "options": {
                "excludeByName": {
                  "Time": true,
                  "Value #A": true
                },
                "indexByName": {
                  "notes": 0,
                  "site_id": 1,
                  "Value #B": 2,
                  "Value #C": 3,
                  "Value #D": 4,
                  "version": 5,
                  "Value #E": 6,
                  "Value #F": 7,
                  "Value #G": 8,
                  "device_type": 9,
                  "serial_number": 10,
                  "timezone": 11,
                  "account_id": 12,
                  "connector_id": 13
                },
                "renameByName": {
                  "notes": "Notes",
                  "site_id": "Site",
                  "Value #B": "Heartbeat age",
                  "Value #C": "Activated",
                  "Value #D": "HA role",
                  "version": "Version",
                  "Value #E": "Upgrade window",
                  "Value #F": "Next upgrade window",
                  "Value #G": "Config changed",
                  "device_type": "Device type",
                  "serial_number": "Serial number",
                  "timezone": "Time zone",
                  "account_id": "Account",
                  "connector_id": "Connector"
                }
              }
            }
          ],
          "gridPos": {
            "h": 14,
            "w": 24,
            "x": 0,
            "y": 0
          }
        }, [
          lib.table('max by (account_id, connector_id, notes, site_id, version, device_type, serial_number, timezone) (cloudflare_magic_connector_info{%(fs)s})' % v),
          lib.table('max by (account_id, connector_id) (cloudflare_magic_connector_heartbeat_age_seconds{%(f)s} %(site)s)' % v),
          lib.table('max by (account_id, connector_id) (cloudflare_magic_connector_activated{%(f)s} %(site)s)' % v),
          lib.table('max by (account_id, connector_id) (cloudflare_magic_connector_primary{%(f)s} %(site)s)' % v),
          lib.table('max by (account_id, connector_id) (cloudflare_magic_connector_interrupt_window_active{%(f)s} %(site)s)' % v),
          lib.table('max by (account_id, connector_id) (cloudflare_magic_connector_interrupt_window_next_start_timestamp_seconds{%(f)s} %(site)s) * 1000' % v),
          lib.table('max by (account_id, connector_id) (cloudflare_magic_connector_last_updated_timestamp_seconds{%(f)s} %(site)s) * 1000' % v),
        ]),
        lib.panel({
          "type": "timeseries",
          "title": "Heartbeat age",
          "description": "Seconds since each connector's last heartbeat (log scale). Live connectors stay under 10 seconds; the dashed line is the stale-heartbeat alert's 5 minutes.",
          "fieldConfig": {
            "defaults": {
              "color": {
                "mode": "palette-classic"
              },
              "custom": {
                "axisBorderShow": false,
                "axisCenteredZero": false,
                "axisColorMode": "text",
                "axisLabel": "",
                "axisPlacement": "auto",
                "barAlignment": 0,
                "drawStyle": "line",
                "fillOpacity": 10,
                "gradientMode": "none",
                "hideFrom": {
                  "legend": false,
                  "tooltip": false,
                  "viz": false
                },
                "insertNulls": false,
                "lineInterpolation": "linear",
                "lineWidth": 1,
                "pointSize": 5,
                "scaleDistribution": {
                  "type": "log",
                  "log": 10
                },
                "showPoints": "never",
                "spanNulls": false,
                "stacking": {
                  "group": "A",
                  "mode": "none"
                },
                "thresholdsStyle": {
                  "mode": "dashed"
                }
              },
              "mappings": [],
              "thresholds": {
                "mode": "absolute",
                "steps": [
                  {
                    "color": "transparent",
                    "value": null
                  },
                  {
                    "color": "red",
                    "value": 300
                  }
                ]
              },
              "unit": "s"
            },
            "overrides": []
          },
          "options": {
            "legend": {
              "calcs": [],
              "displayMode": "list",
              "placement": "bottom",
              "showLegend": true
            },
            "tooltip": {
              "mode": "multi",
              "sort": "desc"
            }
          },
          "gridPos": {
            "h": 10,
            "w": 24,
            "x": 0,
            "y": 14
          }
        }, [
          lib.range('max by (account_id, connector_id) (cloudflare_magic_connector_heartbeat_age_seconds{%(f)s} %(site)s) * on(account_id, connector_id) group_left(notes) topk by (account_id, connector_id) (1, cloudflare_magic_connector_info{%(fs)s})' % v, '{{notes}}'),
        ]),
        lib.panel({
          "type": "state-timeline",
          "title": "Upgrade windows",
          "description": "When each connector's upgrade (interrupt) window is open: it may then stop heartbeating without alerting.",
          "fieldConfig": {
            "defaults": {
              "color": {
                "mode": "thresholds"
              },
              "custom": {
                "fillOpacity": 80,
                "hideFrom": {
                  "legend": false,
                  "tooltip": false,
                  "viz": false
                },
                "insertNulls": false,
                "lineWidth": 0,
                "spanNulls": false
              },
              "mappings": [
                {
                  "type": "value",
                  "options": {
                    "1": {
                      "text": "open",
                      "color": "#EAB839",
                      "index": 0
                    },
                    "0": {
                      "text": "closed",
                      "color": "transparent",
                      "index": 1
                    }
                  }
                }
              ],
              "thresholds": {
                "mode": "absolute",
                "steps": [
                  {
                    "color": "green",
                    "value": null
                  }
                ]
              }
            },
            "overrides": []
          },
          "options": {
            "alignValue": "left",
            "legend": {
              "displayMode": "list",
              "placement": "bottom",
              "showLegend": false
            },
            "mergeValues": true,
            "rowHeight": 0.9,
            "showValue": "never",
            "tooltip": {
              "mode": "single",
              "sort": "none"
            }
          },
          "gridPos": {
            "h": 8,
            "w": 24,
            "x": 0,
            "y": 24
          }
        }, [
          lib.range('max by (account_id, connector_id) (cloudflare_magic_connector_interrupt_window_active{%(f)s} %(site)s) * on(account_id, connector_id) group_left(notes) topk by (account_id, connector_id) (1, cloudflare_magic_connector_info{%(fs)s})' % v, '{{notes}}'),
        ]),
    ]),
  },
}
