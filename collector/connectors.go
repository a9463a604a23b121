package collector

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
)

// scrapeConnectors lists the account's connectors.
func (e *Exporter) scrapeConnectors(ctx context.Context, accountID string) (emitter, scrapeResult, error) {
	o := e.connectorsFetch.fetch(ctx, accountID, func(ctx context.Context) ([]api.Connector, error) {
		return e.client.ListConnectors(ctx, accountID)
	})
	if o.err != nil {
		return nil, resultOf(o), fmt.Errorf("list connectors for account %s: %w", accountID, o.err)
	}
	if e.telemetry != nil {
		e.telemetry.SetConnectors(accountID, o.result)
	}
	return e.newConnectorsEmitter(accountID, o.result), resultOf(o), nil
}

// connectorsEmitter writes one account's connector series. Heartbeat ages
// and upgrade windows are computed at scrape time, when it is made.
type connectorsEmitter struct {
	e          *Exporter
	account    string
	connectors []api.Connector
	now        time.Time
	// windows holds each connector's window state; ok is false for a
	// connector whose window configuration is invalid.
	windows      []connectorWindow
	configErrors []configErrorCount
}

type connectorWindow struct {
	ok    bool
	state windowState
}

func (e *Exporter) newConnectorsEmitter(accountID string, connectors []api.Connector) *connectorsEmitter {
	connectors = unique(connectors, func(c *api.Connector) string { return c.ID })
	now := e.now()
	c := &connectorsEmitter{e: e, account: accountID, connectors: connectors, now: now, windows: make([]connectorWindow, len(connectors))}
	for i := range connectors {
		cn := &connectors[i]
		w, err := newInterruptWindow(cn, e.zones.load)
		if err == nil {
			c.windows[i] = connectorWindow{ok: true, state: w.at(now)}
		}
		if len(cn.InvalidFields) > 0 {
			err = errors.Join(err, fmt.Errorf("unreadable %s, treated as absent", strings.Join(cn.InvalidFields, " and ")))
		}
		e.recordConfigError(accountID, cn.ID, err)
	}
	c.configErrors = e.configErrorCounts(accountID, connectors)
	return c
}

// unique returns items without the repeats of an ID already seen, keeping
// the first: a listing that repeats an item must not make the page repeat
// its series. It returns items itself, shared and unchanged, when nothing
// repeats.
func unique[T any](items []T, id func(*T) string) []T {
	seen := make(map[string]bool, len(items))
	for i := range items {
		k := id(&items[i])
		if !seen[k] {
			seen[k] = true
			continue
		}
		out := slices.Clone(items[:i])
		for j := i + 1; j < len(items); j++ {
			if k := id(&items[j]); !seen[k] {
				seen[k] = true
				out = append(out, items[j])
			}
		}
		return out
	}
	return items
}

func (c *connectorsEmitter) emit(f *family, s sink) {
	e := c.e
	switch f {
	case e.connectorInfo:
		// Label values go through one slice, reused from connector to
		// connector: at fleet scale, a slice per sample is most of the
		// garbage.
		info := make([]string, 9)
		info[0] = c.account
		for i := range c.connectors {
			cn := &c.connectors[i]
			info[1], info[2], info[3], info[4] = cn.ID, "", "", ""
			if cn.Device != nil {
				info[2], info[3], info[4] = cn.Device.ID, cn.Device.SerialNumber, cn.Device.Type
			}
			info[5], info[6], info[7], info[8] = cn.SiteID, cn.LastSeenVersion, cn.Timezone, cn.Notes
			s.sample(f, 1, info...)
		}
	case e.connectorActivated:
		c.each(f, s, func(cn *api.Connector, _ connectorWindow) (float64, bool) { return boolToFloat(cn.Activated), true })
	case e.connectorPrimary:
		c.each(f, s, func(cn *api.Connector, _ connectorWindow) (float64, bool) { return boolToFloat(cn.Primary), true })
	case e.connectorLastHeartbeat:
		c.each(f, s, func(cn *api.Connector, _ connectorWindow) (float64, bool) {
			return unixSeconds(cn.LastHeartbeat), !cn.LastHeartbeat.IsZero()
		})
	case e.connectorHeartbeatAge:
		c.each(f, s, func(cn *api.Connector, _ connectorWindow) (float64, bool) {
			// A heartbeat stamped ahead of our clock is "just now", not a
			// negative age.
			return max(c.now.Sub(cn.LastHeartbeat).Seconds(), 0), !cn.LastHeartbeat.IsZero()
		})
	case e.connectorLastUpdated:
		c.each(f, s, func(cn *api.Connector, _ connectorWindow) (float64, bool) {
			return unixSeconds(cn.LastUpdated), !cn.LastUpdated.IsZero()
		})
	case e.windowActive:
		c.each(f, s, func(_ *api.Connector, w connectorWindow) (float64, bool) { return boolToFloat(w.state.Active), w.ok })
	case e.windowDuration:
		c.each(f, s, func(_ *api.Connector, w connectorWindow) (float64, bool) { return w.state.Duration.Seconds(), w.ok })
	case e.windowNextStart:
		c.each(f, s, func(_ *api.Connector, w connectorWindow) (float64, bool) {
			return unixSeconds(w.state.NextStart), w.ok && !w.state.NextStart.IsZero()
		})
	case e.configErrorsTotal:
		for _, ce := range c.configErrors {
			s.sample(f, ce.count, c.account, ce.connectorID)
		}
	}
}

// each emits, for every connector value returns a sample for, one sample
// labelled with the account and connector IDs.
func (c *connectorsEmitter) each(f *family, s sink, value func(*api.Connector, connectorWindow) (float64, bool)) {
	ids := []string{c.account, ""}
	for i := range c.connectors {
		if v, ok := value(&c.connectors[i], c.windows[i]); ok {
			ids[1] = c.connectors[i].ID
			s.sample(f, v, ids...)
		}
	}
}
