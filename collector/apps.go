package collector

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
)

// unknownAppType is the type label under which apps without a type are
// counted.
const unknownAppType = "unknown"

// scrapeApps lists the account's apps.
func (e *Exporter) scrapeApps(ctx context.Context, accountID string) (emitter, scrapeResult, error) {
	o := e.appsFetch.fetch(ctx, accountID, func(ctx context.Context) ([]api.App, error) {
		return e.client.ListApps(ctx, accountID)
	})
	if o.err != nil {
		return nil, resultOf(o), fmt.Errorf("list apps for account %s: %w", accountID, o.err)
	}
	return newAppsEmitter(e, accountID, o.result), resultOf(o), nil
}

// appsEmitter writes one account's app info and counts. Items of a shape
// the client does not know (no id field it recognises) are skipped.
type appsEmitter struct {
	e       *Exporter
	account string
	apps    []api.App
	counts  []appCount
}

type appCount struct {
	source api.AppSource
	typ    string
	n      int
}

func newAppsEmitter(e *Exporter, accountID string, apps []api.App) *appsEmitter {
	apps = unique(apps, func(a *api.App) string { return string(a.Source) + "/" + a.ID })
	type key struct {
		source api.AppSource
		typ    string
	}
	counts := map[key]int{}
	for i := range apps {
		if a := &apps[i]; a.Source != "" {
			typ := a.Type
			if typ == "" {
				typ = unknownAppType
			}
			counts[key{a.Source, typ}]++
		}
	}
	out := &appsEmitter{e: e, account: accountID, apps: apps}
	for k, n := range counts {
		out.counts = append(out.counts, appCount{k.source, k.typ, n})
	}
	slices.SortFunc(out.counts, func(a, b appCount) int {
		if c := strings.Compare(string(a.source), string(b.source)); c != 0 {
			return c
		}
		return strings.Compare(a.typ, b.typ)
	})
	return out
}

func (a *appsEmitter) emit(f *family, s sink) {
	switch f {
	case a.e.appInfo:
		info := make([]string, 5) // reused, as for connectors
		info[0] = a.account
		for i := range a.apps {
			app := &a.apps[i]
			if app.Source == "" {
				continue
			}
			info[1], info[2], info[3], info[4] = app.ID, string(app.Source), app.Name, app.Type
			s.sample(f, 1, info...)
		}
	case a.e.apps:
		for _, c := range a.counts {
			s.sample(f, float64(c.n), a.account, string(c.source), c.typ)
		}
	}
}
