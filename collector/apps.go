package collector

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
)

// unknownAppType is the type label under which apps without a type are
// counted.
const unknownAppType = "unknown"

// scrapeApps lists the account's apps and emits their info and counts.
// Items of a shape the client does not know (no id field it recognises) are
// skipped.
func (e *Exporter) scrapeApps(ctx context.Context, accountID string, ch chan<- prometheus.Metric) (scrapeResult, error) {
	o := e.appsFetch.fetch(ctx, accountID, func(ctx context.Context) ([]api.App, error) {
		return e.client.ListApps(ctx, accountID)
	})
	if o.err != nil {
		return resultOf(o), fmt.Errorf("list apps for account %s: %w", accountID, o.err)
	}
	apps := o.result
	type key struct {
		source api.AppSource
		typ    string
	}
	counts := map[key]int{}
	for i := range apps {
		a := &apps[i]
		if a.Source == "" {
			continue
		}
		send(ch, e.appInfo, 1, accountID, a.ID, string(a.Source), a.Name, a.Type)
		typ := a.Type
		if typ == "" {
			typ = unknownAppType
		}
		counts[key{a.Source, typ}]++
	}
	for k, n := range counts {
		send(ch, e.apps, float64(n), accountID, string(k.source), k.typ)
	}
	return resultOf(o), nil
}
