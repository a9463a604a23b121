package collector

import (
	"sync"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
)

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
func (ce *configErrors) record(logger log.Logger, accountID, connectorID string, err error) {
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
	level.Warn(logger).Log("msg", "connector data is invalid; the metrics it affects are not exported",
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

// counts returns the account's configuration error counters, one per
// connector listed, 0 for those never found invalid (so that increase()
// sees the first error), and forgets connectors no longer listed. A
// connector whose configuration was corrected keeps its counter.
func (ce *configErrors) counts(accountID string, connectors []api.Connector) []configErrorRow {
	ce.mu.Lock()
	defer ce.mu.Unlock()
	states := ce.byConn[accountID]
	if len(states) > 0 {
		listed := make(map[string]bool, len(connectors))
		for i := range connectors {
			listed[connectors[i].ID] = true
		}
		for id := range states {
			if !listed[id] {
				delete(states, id)
			}
		}
	}
	out := make([]configErrorRow, len(connectors))
	for i := range connectors {
		out[i] = configErrorRow{account: accountID, connector: connectors[i].ID}
		if state := states[connectors[i].ID]; state != nil {
			out[i].count = state.count
		}
	}
	return out
}
