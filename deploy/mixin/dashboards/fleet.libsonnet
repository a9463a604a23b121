// The Fleet overview dashboard. Panels as they were hand-made before the mixin;
// queries filtered by the selector and the job, instance, account and site
// variables (lib.filters).
local lib = import 'lib.libsonnet';

{
  grafanaDashboards+:: {
    local c = $._config,
    local v = lib.filters(c),
    'cloudflare-magic-fleet.json': lib.dashboard(c, 'fleet', 'Fleet overview', 'Magic WAN Connectors at a glance: how many, activated, heartbeating or stale, versions and apps. Data from cloudflare_magic_exporter.', [
        lib.panel({
          "type": "stat",
          "title": "Connectors",
          "description": "Connectors defined in the selected accounts.",
          "fieldConfig": {
            "defaults": {
              "color": {
                "mode": "thresholds"
              },
              "mappings": [],
              "thresholds": {
                "mode": "absolute",
                "steps": [
                  {
                    "color": "blue",
                    "value": null
                  }
                ]
              },
              "unit": "none"
            },
            "overrides": []
          },
          "options": {
            "colorMode": "value",
            "graphMode": "none",
            "justifyMode": "auto",
            "orientation": "auto",
            "reduceOptions": {
              "calcs": [
                "lastNotNull"
              ],
              "fields": "",
              "values": false
            },
            "showPercentChange": false,
            "textMode": "auto",
            "wideLayout": true
          },
          "gridPos": {
            "h": 4,
            "w": 4,
            "x": 0,
            "y": 0
          }
        }, [
          lib.instant('count(max by (account_id, connector_id) (cloudflare_magic_connector_info{%(fs)s})) or vector(0)' % v),
        ]),
        lib.panel({
          "type": "stat",
          "title": "Activated",
          "description": "Connectors that are activated (allowed to carry traffic).",
          "fieldConfig": {
            "defaults": {
              "color": {
                "mode": "thresholds"
              },
              "mappings": [],
              "thresholds": {
                "mode": "absolute",
                "steps": [
                  {
                    "color": "blue",
                    "value": null
                  }
                ]
              },
              "unit": "none"
            },
            "overrides": []
          },
          "options": {
            "colorMode": "value",
            "graphMode": "none",
            "justifyMode": "auto",
            "orientation": "auto",
            "reduceOptions": {
              "calcs": [
                "lastNotNull"
              ],
              "fields": "",
              "values": false
            },
            "showPercentChange": false,
            "textMode": "auto",
            "wideLayout": true
          },
          "gridPos": {
            "h": 4,
            "w": 4,
            "x": 4,
            "y": 0
          }
        }, [
          lib.instant('count(max by (account_id, connector_id) (cloudflare_magic_connector_activated{%(f)s} %(site)s) == 1) or vector(0)' % v),
        ]),
        lib.panel({
          "type": "stat",
          "title": "Heartbeating",
          "description": "Connectors whose last heartbeat is at most 5 minutes old (the stale-heartbeat alert's threshold). Connectors heartbeat about every 10 seconds.",
          "fieldConfig": {
            "defaults": {
              "color": {
                "mode": "thresholds"
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
              },
              "unit": "none"
            },
            "overrides": []
          },
          "options": {
            "colorMode": "value",
            "graphMode": "none",
            "justifyMode": "auto",
            "orientation": "auto",
            "reduceOptions": {
              "calcs": [
                "lastNotNull"
              ],
              "fields": "",
              "values": false
            },
            "showPercentChange": false,
            "textMode": "auto",
            "wideLayout": true
          },
          "gridPos": {
            "h": 4,
            "w": 4,
            "x": 8,
            "y": 0
          }
        }, [
          lib.instant('count(max by (account_id, connector_id) (cloudflare_magic_connector_heartbeat_age_seconds{%(f)s} %(site)s) <= %(stale)s) or vector(0)' % v),
        ]),
        lib.panel({
          "type": "stat",
          "title": "Stale (> 5 min)",
          "description": "Connectors whose last heartbeat is more than 5 minutes old, upgrade windows included. See the Connectors dashboard for which.",
          "fieldConfig": {
            "defaults": {
              "color": {
                "mode": "thresholds"
              },
              "mappings": [],
              "thresholds": {
                "mode": "absolute",
                "steps": [
                  {
                    "color": "green",
                    "value": null
                  },
                  {
                    "color": "red",
                    "value": 1
                  }
                ]
              },
              "unit": "none"
            },
            "overrides": []
          },
          "options": {
            "colorMode": "value",
            "graphMode": "none",
            "justifyMode": "auto",
            "orientation": "auto",
            "reduceOptions": {
              "calcs": [
                "lastNotNull"
              ],
              "fields": "",
              "values": false
            },
            "showPercentChange": false,
            "textMode": "auto",
            "wideLayout": true
          },
          "gridPos": {
            "h": 4,
            "w": 4,
            "x": 12,
            "y": 0
          }
        }, [
          lib.instant('count(max by (account_id, connector_id) (cloudflare_magic_connector_heartbeat_age_seconds{%(f)s} %(site)s) > %(stale)s) or vector(0)' % v),
        ]),
        lib.panel({
          "type": "stat",
          "title": "Activated, never heartbeated",
          "description": "Activated connectors that have never sent a heartbeat: not installed yet, or unable to reach Cloudflare.",
          "fieldConfig": {
            "defaults": {
              "color": {
                "mode": "thresholds"
              },
              "mappings": [],
              "thresholds": {
                "mode": "absolute",
                "steps": [
                  {
                    "color": "green",
                    "value": null
                  },
                  {
                    "color": "#EAB839",
                    "value": 1
                  }
                ]
              },
              "unit": "none"
            },
            "overrides": []
          },
          "options": {
            "colorMode": "value",
            "graphMode": "none",
            "justifyMode": "auto",
            "orientation": "auto",
            "reduceOptions": {
              "calcs": [
                "lastNotNull"
              ],
              "fields": "",
              "values": false
            },
            "showPercentChange": false,
            "textMode": "auto",
            "wideLayout": true
          },
          "gridPos": {
            "h": 4,
            "w": 4,
            "x": 16,
            "y": 0
          }
        }, [
          lib.instant('count(max by (account_id, connector_id) (cloudflare_magic_connector_activated{%(f)s} %(site)s) == 1 unless on(account_id, connector_id) cloudflare_magic_connector_last_heartbeat_timestamp_seconds{%(f)s} %(site)s) or vector(0)' % v),
        ]),
        lib.panel({
          "type": "stat",
          "title": "Failing API calls",
          "description": "Account endpoints whose last Cloudflare API call failed: their series are missing. See the Exporter health dashboard.",
          "fieldConfig": {
            "defaults": {
              "color": {
                "mode": "thresholds"
              },
              "mappings": [],
              "thresholds": {
                "mode": "absolute",
                "steps": [
                  {
                    "color": "green",
                    "value": null
                  },
                  {
                    "color": "red",
                    "value": 1
                  }
                ]
              },
              "unit": "none"
            },
            "overrides": []
          },
          "options": {
            "colorMode": "value",
            "graphMode": "none",
            "justifyMode": "auto",
            "orientation": "auto",
            "reduceOptions": {
              "calcs": [
                "lastNotNull"
              ],
              "fields": "",
              "values": false
            },
            "showPercentChange": false,
            "textMode": "auto",
            "wideLayout": true
          },
          "gridPos": {
            "h": 4,
            "w": 4,
            "x": 20,
            "y": 0
          }
        }, [
          lib.instant('count(cloudflare_magic_up{%(f)s} == 0) or vector(0)' % v),
        ]),
        lib.panel({
          "type": "timeseries",
          "title": "Heartbeating and stale connectors",
          "description": "Connectors with a heartbeat at most 5 minutes old, and older.",
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
                  "type": "linear"
                },
                "showPoints": "never",
                "spanNulls": false,
                "stacking": {
                  "group": "A",
                  "mode": "none"
                },
                "thresholdsStyle": {
                  "mode": "off"
                }
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
              },
              "unit": "short",
              "min": 0
            },
            "overrides": [
              {
                "matcher": {
                  "id": "byName",
                  "options": "heartbeating"
                },
                "properties": [
                  {
                    "id": "color",
                    "value": {
                      "mode": "fixed",
                      "fixedColor": "green"
                    }
                  }
                ]
              },
              {
                "matcher": {
                  "id": "byName",
                  "options": "stale"
                },
                "properties": [
                  {
                    "id": "color",
                    "value": {
                      "mode": "fixed",
                      "fixedColor": "red"
                    }
                  }
                ]
              }
            ]
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
            "h": 8,
            "w": 12,
            "x": 0,
            "y": 4
          }
        }, [
          lib.range('count(max by (account_id, connector_id) (cloudflare_magic_connector_heartbeat_age_seconds{%(f)s} %(site)s) <= %(stale)s) or vector(0)' % v, 'heartbeating'),
          lib.range('count(max by (account_id, connector_id) (cloudflare_magic_connector_heartbeat_age_seconds{%(f)s} %(site)s) > %(stale)s) or vector(0)' % v, 'stale'),
        ]),
        lib.panel({
          "type": "timeseries",
          "title": "Connectors by version",
          "description": "Software versions the connectors last reported, over time: an upgrade rolling out shows as one version replacing another.",
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
                  "type": "linear"
                },
                "showPoints": "never",
                "spanNulls": false,
                "stacking": {
                  "group": "A",
                  "mode": "normal"
                },
                "thresholdsStyle": {
                  "mode": "off"
                }
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
              },
              "unit": "short",
              "min": 0
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
            "h": 8,
            "w": 12,
            "x": 12,
            "y": 4
          }
        }, [
          lib.range('count by (version) (max by (account_id, connector_id, version) (cloudflare_magic_connector_info{%(fs)s, version!=""}))' % v, '{{version}}'),
        ]),
        lib.panel({
          "type": "piechart",
          "title": "Versions",
          "description": "Software versions the connectors last reported (connectors that never connected have none).",
          "fieldConfig": {
            "defaults": {
              "color": {
                "mode": "palette-classic"
              },
              "custom": {
                "hideFrom": {
                  "legend": false,
                  "tooltip": false,
                  "viz": false
                }
              },
              "mappings": [],
              "unit": "none"
            },
            "overrides": []
          },
          "options": {
            "displayLabels": [
              "value"
            ],
            "legend": {
              "displayMode": "table",
              "placement": "right",
              "showLegend": true,
              "values": [
                "value"
              ]
            },
            "pieType": "donut",
            "reduceOptions": {
              "calcs": [
                "lastNotNull"
              ],
              "fields": "",
              "values": false
            },
            "tooltip": {
              "mode": "single",
              "sort": "none"
            }
          },
          "gridPos": {
            "h": 8,
            "w": 8,
            "x": 0,
            "y": 12
          }
        }, [
          lib.instant('count by (version) (max by (account_id, connector_id, version) (cloudflare_magic_connector_info{%(fs)s, version!=""}))' % v, '{{version}}'),
        ]),
        lib.panel({
          "type": "piechart",
          "title": "Device types",
          "description": "Connector device types: MANAGED hardware or LICENSED (virtual).",
          "fieldConfig": {
            "defaults": {
              "color": {
                "mode": "palette-classic"
              },
              "custom": {
                "hideFrom": {
                  "legend": false,
                  "tooltip": false,
                  "viz": false
                }
              },
              "mappings": [],
              "unit": "none"
            },
            "overrides": []
          },
          "options": {
            "displayLabels": [
              "value"
            ],
            "legend": {
              "displayMode": "table",
              "placement": "right",
              "showLegend": true,
              "values": [
                "value"
              ]
            },
            "pieType": "donut",
            "reduceOptions": {
              "calcs": [
                "lastNotNull"
              ],
              "fields": "",
              "values": false
            },
            "tooltip": {
              "mode": "single",
              "sort": "none"
            }
          },
          "gridPos": {
            "h": 8,
            "w": 8,
            "x": 8,
            "y": 12
          }
        }, [
          lib.instant('count by (device_type) (max by (account_id, connector_id, device_type) (cloudflare_magic_connector_info{%(fs)s}))' % v, '{{device_type}}'),
        ]),
        lib.panel({
          "type": "bargauge",
          "title": "Connectors by account",
          "description": "Connectors per account.",
          "fieldConfig": {
            "defaults": {
              "color": {
                "mode": "continuous-BlPu"
              },
              "mappings": [],
              "min": 0,
              "thresholds": {
                "mode": "absolute",
                "steps": [
                  {
                    "color": "green",
                    "value": null
                  }
                ]
              },
              "unit": "none"
            },
            "overrides": []
          },
          "options": {
            "displayMode": "gradient",
            "maxVizHeight": 300,
            "minVizHeight": 16,
            "minVizWidth": 8,
            "namePlacement": "auto",
            "orientation": "horizontal",
            "reduceOptions": {
              "calcs": [
                "lastNotNull"
              ],
              "fields": "",
              "values": false
            },
            "showUnfilled": true,
            "sizing": "auto",
            "valueMode": "color"
          },
          "gridPos": {
            "h": 8,
            "w": 8,
            "x": 16,
            "y": 12
          }
        }, [
          lib.instant('count by (account_id) (max by (account_id, connector_id) (cloudflare_magic_connector_info{%(fs)s}))' % v, '{{account_id}}'),
        ]),
        lib.panel({
          "type": "bargauge",
          "title": "Apps by type and source",
          "description": "Magic WAN apps by type; source account is custom (defined by the account), managed is defined by Cloudflare. Apps without a type count as unknown.",
          "fieldConfig": {
            "defaults": {
              "color": {
                "mode": "continuous-BlPu"
              },
              "mappings": [],
              "min": 0,
              "thresholds": {
                "mode": "absolute",
                "steps": [
                  {
                    "color": "green",
                    "value": null
                  }
                ]
              },
              "unit": "none"
            },
            "overrides": []
          },
          "options": {
            "displayMode": "gradient",
            "maxVizHeight": 300,
            "minVizHeight": 16,
            "minVizWidth": 8,
            "namePlacement": "auto",
            "orientation": "horizontal",
            "reduceOptions": {
              "calcs": [
                "lastNotNull"
              ],
              "fields": "",
              "values": false
            },
            "showUnfilled": true,
            "sizing": "auto",
            "valueMode": "color"
          },
          "gridPos": {
            "h": 8,
            "w": 12,
            "x": 0,
            "y": 20
          }
        }, [
          lib.instant('sum by (source, type) (max by (account_id, source, type) (cloudflare_magic_apps{%(f)s}))' % v, '{{source}} / {{type}}'),
        ]),
        lib.panel({
          "type": "table",
          "title": "Stale connectors",
          "description": "Connectors whose last heartbeat is more than 5 minutes old.",
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
                    "id": "custom.cellOptions",
                    "value": {
                      "type": "color-text"
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
              "id": "organize",
              "options": {
                "excludeByName": {
                  "Time": true
                },
                "indexByName": {
                  "notes": 0,
                  "site_id": 1,
                  "Value": 2,
                  "version": 3,
                  "account_id": 4,
                  "connector_id": 5
                },
                "renameByName": {
                  "notes": "Notes",
                  "site_id": "Site",
                  "Value": "Heartbeat age",
                  "version": "Version",
                  "account_id": "Account",
                  "connector_id": "Connector"
                }
              }
            }
          ],
          "gridPos": {
            "h": 8,
            "w": 12,
            "x": 12,
            "y": 20
          }
        }, [
          lib.table('(max by (account_id, connector_id) (cloudflare_magic_connector_heartbeat_age_seconds{%(f)s} %(site)s) > %(stale)s) * on(account_id, connector_id) group_left(notes, site_id, version) topk by (account_id, connector_id) (1, cloudflare_magic_connector_info{%(fs)s})' % v),
        ]),
        lib.panel({
          "type": "table",
          "title": "Firing Magic WAN alerts",
          "description": "Alerts of the shipped rules (deploy/prometheus/alerts.yml) that fire now; the Runbook link above says what to do.",
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
            "overrides": []
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
            "sortBy": []
          },
          "transformations": [
            {
              "id": "organize",
              "options": {
                "excludeByName": {
                  "Time": true,
                  "Value": true,
                  "__name__": true,
                  "alertstate": true
                },
                "indexByName": {
                  "alertname": 0,
                  "severity": 1,
                  "notes": 2,
                  "site_id": 3
                },
                "renameByName": {}
              }
            }
          ],
          "gridPos": {
            "h": 8,
            "w": 24,
            "x": 0,
            "y": 28
          }
        }, [
          lib.table('ALERTS{%(fx)s, alertname=~"MagicWAN.*", alertstate="firing"}' % v),
        ]),
    ]),
  },
}
