package collector

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log/level"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
)

// zoneCache remembers time zones by name: time.LoadLocation parses the
// zone database on every call, and a scrape resolves every connector's.
type zoneCache struct {
	mu    sync.Mutex
	zones map[string]zoneEntry
}

type zoneEntry struct {
	loc *time.Location
	err error
}

func newZoneCache() *zoneCache { return &zoneCache{zones: map[string]zoneEntry{}} }

func (z *zoneCache) load(name string) (*time.Location, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	e, ok := z.zones[name]
	if !ok {
		e.loc, e.err = time.LoadLocation(name)
		z.zones[name] = e
	}
	return e.loc, e.err
}

// configErrors remembers, per connector, the window configuration error
// last found, so each is logged and counted once, not at every scrape.
type configErrors struct {
	mu     sync.Mutex
	byConn map[string]map[string]*configError // account, connector
}

type configError struct {
	msg   string
	count float64
}

func newConfigErrors() *configErrors {
	return &configErrors{byConn: map[string]map[string]*configError{}}
}

// recordConfigError counts and logs a connector's configuration error the
// first time it is seen, and again only if it changes or comes back after
// being corrected. err is nil for a valid configuration.
func (e *Exporter) recordConfigError(accountID, connectorID string, err error) {
	ce := e.configErrors
	ce.mu.Lock()
	defer ce.mu.Unlock()
	if err == nil {
		if state := ce.byConn[accountID][connectorID]; state != nil {
			state.msg = ""
		}
		return
	}
	conns := ce.byConn[accountID]
	if conns == nil {
		conns = map[string]*configError{}
		ce.byConn[accountID] = conns
	}
	state := conns[connectorID]
	if state == nil {
		state = &configError{}
		conns[connectorID] = state
	}
	if state.msg == err.Error() {
		return
	}
	state.msg = err.Error()
	state.count++
	level.Warn(e.logger).Log("msg", "connector data is invalid; the metrics it affects are not exported",
		"account_id", accountID, "connector_id", connectorID, "err", err)
}

// prune forgets the accounts keep rejects.
func (ce *configErrors) prune(keep func(string) bool) {
	ce.mu.Lock()
	defer ce.mu.Unlock()
	for account := range ce.byConn {
		if !keep(account) {
			delete(ce.byConn, account)
		}
	}
}

// configErrorCount is one connector's configuration error counter.
type configErrorCount struct {
	connectorID string
	count       float64
}

// configErrorCounts returns the account's configuration error counters and
// forgets connectors no longer listed. A connector whose configuration was
// corrected keeps its counter.
func (e *Exporter) configErrorCounts(accountID string, connectors []api.Connector) []configErrorCount {
	ce := e.configErrors
	ce.mu.Lock()
	defer ce.mu.Unlock()
	if len(ce.byConn[accountID]) == 0 {
		return nil
	}
	listed := make(map[string]bool, len(connectors))
	for i := range connectors {
		listed[connectors[i].ID] = true
	}
	var out []configErrorCount
	for id, state := range ce.byConn[accountID] {
		if !listed[id] {
			delete(ce.byConn[accountID], id)
			continue
		}
		out = append(out, configErrorCount{id, state.count})
	}
	slices.SortFunc(out, func(a, b configErrorCount) int { return strings.Compare(a.connectorID, b.connectorID) })
	return out
}
