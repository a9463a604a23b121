package collector

import (
	"hash/maphash"
	"slices"
	"strings"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/exposition"
)

// unknownAppType is the type label of apps without a type, in both app
// families, so that a join on type works.
const unknownAppType = "unknown"

// appRow is one app of one account. Items of a shape the client does not
// know (no id field it recognises, so no source) are not rows.
type appRow struct {
	account string
	*api.App
	// key is Family.Static's: the account and the app's record; 0 when
	// unknown, or when the writer must clean or cut the app's ID.
	key uint64
}

// appCount is the number of an account's apps of one source and type.
type appCount struct {
	account string
	source  api.AppSource
	typ     string
	n       int
}

func appType(a *api.App) string {
	if a.Type == "" {
		return unknownAppType
	}
	return a.Type
}

func appFamilies() []renderer {
	return append(
		bind(SourceApps, func(p *page) []appRow { return p.apps },
			&Family[appRow]{
				Name:   namespace + "_app_info",
				Help:   "Magic WAN app attributes as labels; always 1.",
				Doc:    "Apps without a type have `type=\"unknown\"`, as in `cloudflare_magic_apps`.",
				Type:   exposition.Gauge,
				Labels: []string{"account_id", "app_id", "source", "name", "type"},
				Samples: func(s Sampler, a *appRow) {
					s.Add(1, a.account, a.ID, string(a.Source), a.Name, appType(a.App))
				},
				Static: func(a *appRow) (uint64, bool) { return a.key, a.key != 0 },
			}),
		bind(SourceApps, func(p *page) []appCount { return p.appCounts },
			&Family[appCount]{
				Name: namespace + "_apps",
				Help: "Number of Magic WAN apps defined, by source and type.",
				Doc:  "`source` is `account` for custom apps, `managed` for apps defined by Cloudflare; apps without a type count as `unknown`.",
				Type: exposition.Gauge, Labels: []string{"account_id", "source", "type"},
				Samples: func(s Sampler, c *appCount) { s.Add(float64(c.n), c.account, string(c.source), c.typ) },
			})...)
}

// addApps adds an account's apps and their counts to the page.
func (p *page) addApps(account string, apps []api.App, limits exposition.Limits) {
	type key struct {
		source api.AppSource
		typ    string
	}
	counts := map[key]int{}
	accountKey := maphash.String(rowSeed, account)
	for i := range apps {
		a := &apps[i]
		if a.Source == "" {
			continue
		}
		row := appRow{account: account, App: a}
		if a.Rev != 0 && limits.Keeps(account) && limits.Keeps(a.ID) {
			// Rev, a hash of the record's bytes, covers its source too.
			row.key = mixKeys(accountKey, a.Rev)
		}
		p.apps = append(p.apps, row)
		counts[key{a.Source, appType(a)}]++
	}
	start := len(p.appCounts)
	for k, n := range counts {
		p.appCounts = append(p.appCounts, appCount{account, k.source, k.typ, n})
	}
	slices.SortFunc(p.appCounts[start:], func(a, b appCount) int {
		if c := strings.Compare(string(a.source), string(b.source)); c != 0 {
			return c
		}
		return strings.Compare(a.typ, b.typ)
	})
}
