package collector

import (
	"sync/atomic"
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/exposition"
)

// endpointRow is how one endpoint of one account went in this scrape. The
// account listing of discovery is the row with an empty account and no
// duration.
type endpointRow struct {
	account, endpoint string
	up                bool
	// duration is negative when not measured.
	duration    time.Duration
	lastSuccess time.Time
}

// Logins counts the failed logins to the exporter's own pages (the basic
// authentication of --web.config.file), for its page.
type Logins struct{ failed atomic.Int64 }

// Failed counts one failed login.
func (l *Logins) Failed() { l.failed.Add(1) }

// loginRow is the count of failed logins, on a page of every account.
type loginRow struct{ failed float64 }

func loginFamilies() []renderer {
	return bind(SourceExporter, func(p *page) []loginRow { return p.logins },
		&Family[loginRow]{
			Name: namespace + "_web_login_failures_total",
			Help: "Requests to the exporter refused for a wrong user name or password (basic authentication).",
			Doc: "Counts requests that carried credentials, under the `basic_auth_users` of `--web.config.file`; " +
				"the exporter's log says so at most once a minute, with the user name tried and the client's address.",
			Type:    exposition.Counter,
			Samples: func(s Sampler, r *loginRow) { s.Add(r.failed) },
		})
}

// exporterRow holds the exporter-wide values of a scrape.
type exporterRow struct {
	backoff time.Duration
}

func exporterFamilies() []renderer {
	endpointLabels := []string{"account_id", "endpoint"}
	out := bind(SourceExporter, func(p *page) []endpointRow { return p.endpoints },
		&Family[endpointRow]{
			Name: namespace + "_up",
			Help: "Whether this scrape's call to the endpoint for the account succeeded (1) or not (0).",
			Doc: "The exporter's log says why a call failed. Discovery's account listing is " +
				"`cloudflare_magic_up{account_id=\"\",endpoint=\"accounts\"}` (Prometheus stores the empty label as absent).",
			Type: exposition.Gauge, Labels: endpointLabels,
			Samples: func(s Sampler, e *endpointRow) { s.Add(boolToFloat(e.up), e.account, e.endpoint) },
		},
		&Family[endpointRow]{
			Name: namespace + "_scrape_duration_seconds",
			Help: "How long this scrape's call to the endpoint for the account took, in seconds.",
			Type: exposition.Gauge, Labels: endpointLabels,
			Samples: func(s Sampler, e *endpointRow) {
				if e.duration >= 0 {
					s.Add(e.duration.Seconds(), e.account, e.endpoint)
				}
			},
		},
		&Family[endpointRow]{
			Name: namespace + "_last_success_timestamp_seconds",
			Help: "Unix time the last successful call to the endpoint for the account finished.",
			Doc:  "The age of the data served. Absent until a call succeeds.",
			Type: exposition.Gauge, Labels: endpointLabels,
			Samples: func(s Sampler, e *endpointRow) {
				if !e.lastSuccess.IsZero() {
					s.Add(unixSeconds(e.lastSuccess), e.account, e.endpoint)
				}
			},
		},
	)
	out = append(out, bind(SourceExporter, func(p *page) []api.Account { return p.accounts },
		&Family[api.Account]{
			Name: namespace + "_account_info",
			Help: "Each scraped Cloudflare account, with its name as a label; always 1.",
			Doc:  "`account_name` is empty when the credential may not read account details.",
			Type: exposition.Gauge, Labels: []string{"account_id", "account_name"},
			Samples: func(s Sampler, a *api.Account) { s.Add(1, a.ID, a.Name) },
		})...)
	return append(out, bind(SourceExporter, func(p *page) []exporterRow { return p.exporter },
		&Family[exporterRow]{
			Name:    namespace + "_api_backoff_seconds",
			Help:    "Seconds left before the exporter calls the Cloudflare API again after an HTTP 429.",
			Doc:     "0 when it calls normally.",
			Type:    exposition.Gauge,
			Samples: func(s Sampler, e *exporterRow) { s.Add(e.backoff.Seconds()) },
		})...)
}
