package poll

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
)

// EdgeClient is what the edge view needs from the Cloudflare API.
type EdgeClient interface {
	DiscoverEdge(ctx context.Context, accountID string) (*api.EdgeSchema, error)
	QueryEdge(ctx context.Context, accountID string, q api.EdgeQuery) (*api.EdgeResult, error)
}

// EdgeConfig configures an Edge.
type EdgeConfig struct {
	Client   EdgeClient
	Accounts *Accounts
	// Interval is how often each account is queried. It must be positive.
	Interval time.Duration
	// Timeout bounds one query; zero means Interval.
	Timeout time.Duration
	// Budget, if set, is the share of the GraphQL rate limit to spend.
	Budget *Budget
	// MaxSeries bounds the series kept per account; zero means
	// DefaultEdgeMaxSeries.
	MaxSeries int
	Logger    log.Logger
	Now       func() time.Time
}

// DefaultEdgeMaxSeries is the most edge series kept per account: 20,000
// tunnels health-checked from three data centres, their traffic in two
// directions, and 10,000 connectors' telemetry (about 180,000), with room;
// about 96 MiB held at the cap (docs/edge.md).
const DefaultEdgeMaxSeries = 200_000

// Edge keeps Cloudflare's edge view of each account: tunnel health and
// traffic as its data centres see them, and the telemetry every connector
// reports, from the GraphQL Analytics API.
//
// Run refreshes it in the background, one GraphQL request per account per
// Interval whatever the number of scrapers, connectors or tunnels; scrapes
// read the latest view from memory and never wait for the API. Which
// datasets and fields an account has is discovered first, and again every
// edgeDiscoveryInterval, and once after the server rejects a field: the
// query asks only for those. Each refresh asks every dataset only for the
// window that holds the newest bucket already seen (see
// api.DatasetSchema.Window), keeps the newest row of every series, and
// drops a series not seen for edgeRetention, or the oldest past MaxSeries.
type Edge struct {
	cfg EdgeConfig

	mu    sync.Mutex
	state map[string]*edgeAccount
	// logged remembers the lines said once per account: a missing
	// permission, a field or dataset the account lacks.
	logged map[string]bool
	// failures holds back the same line logged again within a minute.
	failures *failureLogger
}

// edgeRetention is how long a series is kept after its newest row: the
// connector or tunnel stopped reporting, and its timestamp says so, until
// then.
const edgeRetention = time.Hour

// edgeDiscoveryInterval is how often an account's schema is discovered
// again: datasets and fields appear as Cloudflare ships them.
const edgeDiscoveryInterval = time.Hour

// EdgeView is an account's edge view at its latest refresh. It is not
// changed after it is handed out.
type EdgeView struct {
	// Discovery is how the latest discovery of the account's schema went.
	Discovery EdgeDiscovery
	Datasets  []EdgeDataset

	TunnelHealth []api.TunnelHealthRow
	// Tunnels are the tunnels of TunnelHealth, with their data centres
	// counted per state.
	Tunnels          []TunnelState
	TunnelTraffic    []TrafficSeries
	Snapshots        []api.ConnectorSnapshotRow
	Mounts           []api.MountRow
	Thermals         []api.ThermalRow
	ConnectorTunnels []api.ConnectorTunnelRow
	HA               []api.HAStateRow
	Events           []EventSeries
	// SeriesEvicted counts the series dropped since the start to stay
	// within MaxSeries.
	SeriesEvicted float64
}

// EdgeEndpoint is the endpoint label of an edge dataset in up and
// last-success metrics.
func EdgeEndpoint(dataset string) string { return "edge_" + dataset }

// EdgeDiscoveryEndpoint is the endpoint label of the discovery of an
// account's GraphQL schema.
const EdgeDiscoveryEndpoint = "edge_discovery"

// endpoints are how the view's discovery and datasets went, as endpoints
// of the account: a dataset not queried (the account's schema rules it
// out) has none.
func (v *EdgeView) endpoints() []EndpointResult {
	var out []EndpointResult
	if v.Discovery.Attempted {
		out = append(out, EndpointResult{Endpoint: EdgeDiscoveryEndpoint, Err: v.Discovery.Err, Duration: -1, LastSuccess: v.Discovery.LastSuccess})
	}
	for _, d := range v.Datasets {
		if d.Queried {
			out = append(out, EndpointResult{Endpoint: EdgeEndpoint(d.Name), Err: d.Err, Duration: -1, LastSuccess: d.LastSuccess})
		}
	}
	return out
}

// EdgeDiscovery is the outcome of the latest discovery of an account's
// schema.
type EdgeDiscovery struct {
	// Attempted is false before the first discovery.
	Attempted bool
	Err       error
	// LastSuccess is when a discovery last succeeded.
	LastSuccess time.Time
}

// EdgeDataset is what is known of one dataset of an account.
type EdgeDataset struct {
	Name string
	// Queried is true when the latest refresh asked for the dataset; Why
	// says why not when the account's schema rules it out.
	Queried bool
	Why     string
	// Fields is what the account's schema has of each field the dataset
	// is read for; nil before a discovery.
	Fields []api.FieldChoice
	// Err is the error of the latest refresh; nil when it succeeded.
	Err error
	// LastSuccess is when a refresh of the dataset last succeeded.
	LastSuccess time.Time
	// Newest is the newest bucket seen; zero before the first row.
	Newest time.Time
	// Truncated is true when the latest answer held the row limit, Limit.
	Truncated bool
	Limit     int
	// Dropped counts the rows of the latest answer left out, by reason.
	Dropped map[string]float64
}

// Reasons rows are dropped.
const (
	DropValue           = "unusable_value"
	DropEmptyTunnelName = "empty_tunnel_name"
	DropDuplicate       = "duplicate"
	DropPastLimit       = "past_limit"
	DropOutsideWindow   = "outside_window"
)

// DropReasons lists every reason, in the order of the metrics.
var DropReasons = []string{DropDuplicate, DropEmptyTunnelName, DropOutsideWindow, DropPastLimit, DropValue}

// TunnelState is one tunnel as Cloudflare's data centres see it in its
// newest bucket.
type TunnelState struct {
	TunnelName, SiteName string
	// Colos counts the data centres that see it down, degraded and
	// healthy (StateDown, StateDegraded, StateHealthy).
	Colos [3]int
	// Active counts, likewise, those of them that route the tunnel (carried
	// its traffic in the last six hours); every one of them when none
	// does, or the account does not say: a tunnel down for six hours
	// routes nowhere, and must not fall silent.
	Active [3]int
}

// Indexes of TunnelState's counts; TunnelStates names them.
const (
	StateDown = iota
	StateDegraded
	StateHealthy
)

// TunnelStates name the states a tunnel is seen in.
var TunnelStates = [3]string{"down", "degraded", "healthy"}

// Best is the state the tunnel is in where it is routed: healthy if a data
// centre that routes it sees it healthy, else degraded if one sees it
// degraded, else down.
func (t *TunnelState) Best() int {
	for s := StateHealthy; s > StateDown; s-- {
		if t.Active[s] > 0 {
			return s
		}
	}
	return StateDown
}

// TrafficSeries is the latest row of one tunnel's traffic in one
// direction, and the bits counted over the complete buckets since the
// exporter first saw it.
type TrafficSeries struct {
	api.TunnelTrafficRow
	BitsTotal float64
}

// EventSeries is the count of one connector's events of one type over the
// complete buckets since the exporter first saw it.
type EventSeries struct {
	ConnectorID, EventType string
	Total                  float64
}

// edgeAccount is what Edge keeps of one account between refreshes.
type edgeAccount struct {
	view atomic.Pointer[EdgeView]
	// busy is held by the refresh of the account: two at once would fold
	// the same state.
	busy sync.Mutex

	// schema is the latest discovery's, nil before one succeeded;
	// discovered when it was asked; unknown the fields the server
	// rejected since; rediscover asks a discovery at the next refresh,
	// after a field was rejected, once per discovery interval.
	schema        *api.EdgeSchema
	discovered    time.Time
	unknown       []api.FieldRef
	rediscover    bool
	rediscovered  bool
	discovery     EdgeDiscovery
	seriesEvicted float64

	datasets map[string]*EdgeDataset

	health    map[string]api.TunnelHealthRow
	traffic   map[string]*TrafficSeries
	trafficAt map[string]*counted // where each series' counter stands
	snapshots map[string]api.ConnectorSnapshotRow
	mounts    map[string]api.MountRow
	thermals  map[string]api.ThermalRow
	tunnels   map[string]api.ConnectorTunnelRow
	ha        map[string]api.HAStateRow
	events    map[string]*EventSeries
	eventsAt  map[string]*counted
}

// NewEdge returns an Edge for cfg; start its Run.
func NewEdge(cfg EdgeConfig) (*Edge, error) {
	switch {
	case cfg.Client == nil:
		return nil, errors.New("edge: no API client")
	case cfg.Interval <= 0:
		return nil, fmt.Errorf("edge interval must be positive, not %s", cfg.Interval)
	case cfg.MaxSeries < 0:
		return nil, fmt.Errorf("edge series limit must not be negative, not %d", cfg.MaxSeries)
	}
	if cfg.Accounts == nil {
		cfg.Accounts = FixedAccounts()
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = cfg.Interval
	}
	if cfg.MaxSeries == 0 {
		cfg.MaxSeries = DefaultEdgeMaxSeries
	}
	if cfg.Logger == nil {
		cfg.Logger = log.NewNopLogger()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Edge{cfg: cfg, state: map[string]*edgeAccount{}, logged: map[string]bool{},
		failures: newFailureLogger(cfg.Logger, cfg.Now)}, nil
}

// edgeConcurrency bounds the accounts queried at once.
const edgeConcurrency = 4

// Run refreshes every account at once, then every Interval, until ctx is
// done. Call it once.
func (e *Edge) Run(ctx context.Context) {
	level.Info(e.cfg.Logger).Log("msg", "refreshing the edge view in the background", "interval", e.cfg.Interval)
	e.cfg.Accounts.waitReady(ctx)
	ticker := time.NewTicker(e.cfg.Interval)
	defer ticker.Stop()
	for {
		e.RefreshAll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// RefreshAll queries every account once, at most edgeConcurrency at once,
// and forgets the accounts no longer scraped. An account whose refresh is
// still running (called again meanwhile) is left to it.
func (e *Edge) RefreshAll(ctx context.Context) {
	accounts := e.cfg.Accounts.Current()
	e.mu.Lock()
	for id := range e.state {
		if !e.cfg.Accounts.Allowed(id) {
			delete(e.state, id)
		}
	}
	for key := range e.logged {
		if account, _, _ := strings.Cut(key, "/"); !e.cfg.Accounts.Allowed(account) {
			delete(e.logged, key)
		}
	}
	e.mu.Unlock()
	slots := make(chan struct{}, edgeConcurrency)
	var wg sync.WaitGroup
	for _, a := range accounts {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return
		}
		wg.Go(func() {
			defer func() { <-slots }()
			e.refresh(ctx, a.ID)
		})
	}
	wg.Wait()
}

// View returns the account's latest edge view; nil before its first
// refresh.
func (e *Edge) View(accountID string) *EdgeView {
	e.mu.Lock()
	st := e.state[accountID]
	e.mu.Unlock()
	if st == nil {
		return nil
	}
	return st.view.Load()
}

// refresh discovers the account's schema when due, queries the account and
// updates its view. A refresh of the same account already running is left
// to finish alone.
func (e *Edge) refresh(ctx context.Context, accountID string) {
	e.mu.Lock()
	st := e.state[accountID]
	if st == nil {
		st = newEdgeAccount()
		e.state[accountID] = st
	}
	e.mu.Unlock()
	if !st.busy.TryLock() {
		return
	}
	defer st.busy.Unlock()

	now := e.cfg.Now()
	if st.schema == nil || st.rediscover || now.Sub(st.discovered) >= edgeDiscoveryInterval {
		if !e.discover(ctx, st, accountID, now) {
			return
		}
	}
	var res *api.EdgeResult
	err := st.discovery.Err
	if st.schema != nil {
		q := api.EdgeQuery{Schema: st.schema.Without(st.unknown), Newest: map[string]time.Time{}, Now: now}
		for name, d := range st.datasets {
			q.Newest[name] = d.Newest
		}
		if !e.cfg.Budget.Take() {
			err = ErrBudget
		} else {
			qctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
			res, err = e.cfg.Client.QueryEdge(qctx, accountID, q)
			cancel()
			if ctx.Err() != nil {
				return // shutting down: the query was cut short, it did not fail
			}
		}
		if err != nil {
			e.warn("querying the edge view failed; the last view is served", accountID, "", err.Error(), "err", err)
		}
	}
	if res != nil && len(res.Unknown) > 0 {
		st.unknown = append(st.unknown, res.Unknown...)
		// Once per discovery interval: a server whose settings keep
		// offering a field it rejects must not cost a discovery a refresh.
		st.rediscover = !st.rediscovered
		level.Warn(e.cfg.Logger).Log("msg", "the GraphQL API rejected fields its schema had offered; they are left out, and the schema discovered again",
			"account_id", accountID, "fields", refsString(res.Unknown))
	}
	e.merge(st, accountID, res, err, now)
}

// discover asks the account's schema, at most once per call. It reports
// whether the refresh may go on: false when shutting down.
func (e *Edge) discover(ctx context.Context, st *edgeAccount, accountID string, now time.Time) bool {
	// The second of its two requests asks the budget through the client
	// (api.Config.AllowRetry).
	if !e.cfg.Budget.Take() {
		st.discovery.Err = ErrBudget
		return true
	}
	qctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	schema, err := e.cfg.Client.DiscoverEdge(qctx, accountID)
	cancel()
	if ctx.Err() != nil {
		return false
	}
	st.discovery.Attempted, st.discovery.Err = true, err
	if err != nil {
		if api.IsPermission(err) {
			e.once(accountID+"/discovery", func() {
				level.Warn(e.cfg.Logger).Log("msg", "the credential may not read the account's analytics: give the token the "+api.PermissionAnalyticsRead+" permission, or turn the edge view off with --no-collector.edge",
					"account_id", accountID, "err", err)
			})
		} else {
			e.warn("discovering the account's GraphQL schema failed; the edge view waits for it", accountID, "discovery", err.Error(), "err", err)
		}
		return true
	}
	if st.rediscover {
		st.rediscovered = true
	} else {
		st.unknown, st.rediscovered = nil, false
	}
	st.schema, st.discovered, st.rediscover = schema, now, false
	st.discovery.LastSuccess = now
	e.logSchema(accountID, schema)
	return true
}

// logSchema says, once per account, each dataset the account's schema
// rules out and each field it lacks: their metrics are absent. A field
// that comes back is said again should it go.
func (e *Edge) logSchema(accountID string, schema *api.EdgeSchema) {
	for _, ds := range schema.Datasets {
		askable, why := ds.Askable()
		key := accountID + "/" + ds.Dataset
		if !askable {
			e.once(key, func() {
				level.Warn(e.cfg.Logger).Log("msg", "an edge dataset is not queried: its metrics are absent", "account_id", accountID, "dataset", ds.Dataset, "reason", why)
			})
			continue
		}
		e.forget(key)
		for _, c := range ds.Choices() {
			key := accountID + "/" + ds.Dataset + "/" + c.Field
			if c.Chosen != "" {
				e.forget(key)
				continue
			}
			e.once(key, func() {
				level.Info(e.cfg.Logger).Log("msg", "the account's GraphQL schema lacks an edge field: what is read from it is absent",
					"account_id", accountID, "dataset", ds.Dataset, "field", strings.Join(c.Names, " or "))
			})
		}
	}
}

// once runs log the first time key is seen, until forgotten.
func (e *Edge) once(key string, log func()) {
	e.mu.Lock()
	done := e.logged[key]
	e.logged[key] = true
	e.mu.Unlock()
	if !done {
		log()
	}
}

func (e *Edge) forget(key string) {
	e.mu.Lock()
	delete(e.logged, key)
	e.mu.Unlock()
}

func refsString(refs []api.FieldRef) string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = strings.TrimSuffix(r.Dataset+":"+r.Field, ":")
	}
	return strings.Join(out, ",")
}

func newEdgeAccount() *edgeAccount {
	st := &edgeAccount{
		datasets:  map[string]*EdgeDataset{},
		health:    map[string]api.TunnelHealthRow{},
		traffic:   map[string]*TrafficSeries{},
		trafficAt: map[string]*counted{},
		snapshots: map[string]api.ConnectorSnapshotRow{},
		mounts:    map[string]api.MountRow{},
		thermals:  map[string]api.ThermalRow{},
		tunnels:   map[string]api.ConnectorTunnelRow{},
		ha:        map[string]api.HAStateRow{},
		events:    map[string]*EventSeries{},
		eventsAt:  map[string]*counted{},
	}
	for _, name := range api.EdgeDatasets() {
		st.datasets[name] = &EdgeDataset{Name: name, Dropped: map[string]float64{}}
	}
	return st
}

// merge folds a refresh into the account's state and publishes a new view.
// Only refresh calls it for an account, one at a time.
func (e *Edge) merge(st *edgeAccount, accountID string, res *api.EdgeResult, err error, now time.Time) {
	var failed []*api.DatasetError
	for _, name := range api.EdgeDatasets() {
		d := st.datasets[name]
		d.Err = err
		if ds := st.schema.Dataset(name); ds != nil {
			d.Fields = ds.Choices()
			var ok bool
			ok, d.Why = ds.Askable()
			d.Queried = ok
		}
		if res == nil {
			continue
		}
		s := res.Status(name)
		d.Queried = s.Queried
		if !s.Queried {
			d.Err = nil
			clear(d.Dropped)
			continue
		}
		d.Truncated, d.Limit = s.Truncated, s.Limit
		// The latest answer's counts: every refresh asks for the newest
		// bucket again, so adding them up would count a row each time.
		d.Dropped[DropValue] = float64(s.Rejected)
		d.Dropped[DropEmptyTunnelName] = float64(s.EmptyTunnelNames)
		d.Dropped[DropPastLimit] = float64(s.PastLimit)
		d.Dropped[DropOutsideWindow] = float64(s.OutsideWindow)
		d.Dropped[DropDuplicate] = 0
		if s.Err != nil {
			d.Err = s.Err
			failed = append(failed, s.Err)
			continue
		}
		d.LastSuccess = now
		if s.Newest.After(d.Newest) {
			d.Newest = s.Newest
		}
		if s.Truncated {
			e.warn("an edge dataset answered the row limit: the oldest bucket of the answer may be incomplete",
				accountID, name, "truncated", "dataset", name, "limit", s.Limit)
		}
		if s.PastLimit > 0 || s.OutsideWindow > 0 {
			e.warn("an edge dataset answered rows it was not asked for: they are discarded",
				accountID, name, "unasked", "dataset", name, "past_limit", s.PastLimit, "outside_window", s.OutsideWindow)
		}
	}
	e.logDatasetErrors(accountID, failed)
	if res != nil {
		e.fold(st, res)
	}
	st.forget(now.Add(-edgeRetention))
	if n := st.evict(e.cfg.MaxSeries); n > 0 {
		st.seriesEvicted += float64(n)
		e.warn("the account's edge series passed --collector.edge.max-series: the oldest are dropped", accountID, "", "max-series",
			"max_series", e.cfg.MaxSeries, "dropped", n)
	}
	v := st.publish()
	v.Discovery, v.SeriesEvicted = st.discovery, st.seriesEvicted
	st.view.Store(v)
}

// logDatasetErrors logs the datasets' errors of one refresh: those with
// the same cause in one line (a quota error or data null concerns them
// all), a missing permission once per account and dataset, naming the
// permission, since it will not change by itself.
func (e *Edge) logDatasetErrors(accountID string, errs []*api.DatasetError) {
	var causes []string
	byCause := map[string][]string{}
	for _, err := range errs {
		if err.Permission {
			e.once(accountID+"/"+err.Dataset+"/permission", func() {
				level.Warn(e.cfg.Logger).Log("msg", "the credential may not read an edge dataset: give the token the "+api.PermissionAnalyticsRead+" permission, or turn the edge view off with --no-collector.edge",
					"account_id", accountID, "dataset", err.Dataset, "err", err)
			})
			continue
		}
		cause := err.Code + ": " + err.Message
		if byCause[cause] == nil {
			causes = append(causes, cause)
		}
		byCause[cause] = append(byCause[cause], err.Dataset)
	}
	for _, cause := range causes {
		datasets := strings.Join(byCause[cause], ",")
		var first *api.DatasetError
		for _, err := range errs {
			if err.Dataset == byCause[cause][0] {
				first = err
			}
		}
		e.warn("an edge dataset failed; its last rows are served", accountID, datasets, cause, "dataset", datasets, "err", first)
	}
}

// warn logs a line about an account's edge view, the same one again at
// most once a minute, with the count of repeats held back.
//
// The limit holds across accounts: the same cause met by many accounts
// (a quota error, the budget guard) is one line, saying how many.
func (e *Edge) warn(msg, accountID, dataset, cause string, kv ...any) {
	key := failureKey{"", "edge/" + dataset, strings.ReplaceAll(msg+cause, accountID, "{account}")}
	repeated, accounts, ok := e.failures.allowFor(key, accountID)
	if !ok {
		return
	}
	kv = append([]any{"msg", msg, "account_id", accountID}, kv...)
	if repeated > 0 {
		kv = append(kv, "repeated", repeated, "since", e.failures.interval)
	}
	if accounts > 1 {
		kv = append(kv, "accounts", accounts)
	}
	level.Warn(e.cfg.Logger).Log(kv...)
}

// fold keeps the newest row of every series of the datasets that answered.
func (e *Edge) fold(st *edgeAccount, res *api.EdgeResult) {
	ok := func(name string) bool { return res.Status(name).Err == nil }
	dup := func(name string, n int) { st.datasets[name].Dropped[DropDuplicate] += float64(n) }
	if ok(api.DatasetTunnelHealth) {
		dup(api.DatasetTunnelHealth, latest(st.health, res.TunnelHealth.Rows, func(r *api.TunnelHealthRow) (string, time.Time, bool) {
			return r.TunnelName + "\xff" + r.Colo, r.Time, r.TunnelName != "" && r.State != nil
		}))
	}
	if ok(api.DatasetTunnelTraffic) {
		rows, dups := sumTraffic(res.TunnelTraffic.Rows)
		dup(api.DatasetTunnelTraffic, dups+countComplete(st.trafficAt, rows, func(r *api.TunnelTrafficRow) (string, time.Time, float64, bool) {
			return r.TunnelName + "\xff" + r.Direction, r.Time, deref(r.Bits), true
		}, func(key string, bits float64, r *api.TunnelTrafficRow) {
			s := st.traffic[key]
			if s == nil {
				s = &TrafficSeries{}
				st.traffic[key] = s
			}
			if r != nil {
				s.TunnelTrafficRow = *r
			}
			s.BitsTotal += bits
		}))
	}
	if ok(api.DatasetConnectorSnapshots) {
		dup(api.DatasetConnectorSnapshots, latest(st.snapshots, res.ConnectorSnapshots.Rows, func(r *api.ConnectorSnapshotRow) (string, time.Time, bool) {
			return r.ConnectorID, r.Time, r.ConnectorID != ""
		}))
	}
	if ok(api.DatasetConnectorMounts) {
		dup(api.DatasetConnectorMounts, latest(st.mounts, res.ConnectorMounts.Rows, func(r *api.MountRow) (string, time.Time, bool) {
			return r.ConnectorID + "\xff" + r.MountPoint, r.Time, r.ConnectorID != ""
		}))
	}
	if ok(api.DatasetConnectorThermals) {
		dup(api.DatasetConnectorThermals, latest(st.thermals, res.ConnectorThermals.Rows, func(r *api.ThermalRow) (string, time.Time, bool) {
			return r.ConnectorID + "\xff" + r.Label, r.Time, r.ConnectorID != ""
		}))
	}
	if ok(api.DatasetConnectorTunnels) {
		dup(api.DatasetConnectorTunnels, latest(st.tunnels, res.ConnectorTunnels.Rows, func(r *api.ConnectorTunnelRow) (string, time.Time, bool) {
			return r.ConnectorID + "\xff" + r.TunnelID + "\xff" + r.InterfaceName, r.Time, r.ConnectorID != "" && r.HealthValue != nil
		}))
	}
	if ok(api.DatasetConnectorHA) {
		dup(api.DatasetConnectorHA, latest(st.ha, res.ConnectorHA.Rows, func(r *api.HAStateRow) (string, time.Time, bool) {
			return r.ConnectorID, r.Time, r.ConnectorID != "" && r.HAState != nil
		}))
	}
	if ok(api.DatasetConnectorEvents) {
		dup(api.DatasetConnectorEvents, countComplete(st.eventsAt, res.ConnectorEvents.Rows, func(r *api.EventRow) (string, time.Time, float64, bool) {
			return r.ConnectorID + "\xff" + r.EventType, r.Time, deref(r.Count), r.ConnectorID != "" && r.EventType != ""
		}, func(key string, n float64, r *api.EventRow) {
			s := st.events[key]
			if s == nil {
				s = &EventSeries{}
				st.events[key] = s
			}
			if r != nil {
				s.ConnectorID, s.EventType = r.ConnectorID, r.EventType
			}
			s.Total += n
		}))
	}
}

// sumTraffic returns the traffic rows with a tunnel name, one per tunnel,
// direction and bucket: rows that differ only in their ingress or egress
// tunnel (an account whose tunnelName is empty names the tunnel there, and
// lateral traffic has both) are added up. A row that repeats another's
// dimensions and bucket is a duplicate, left out and counted.
func sumTraffic(rows []api.TunnelTrafficRow) (out []api.TunnelTrafficRow, duplicates int) {
	type full struct {
		row  [3]string
		dir  string
		time time.Time
	}
	type series struct {
		name, dir string
		time      time.Time
	}
	seen := make(map[full]bool, len(rows))
	at := make(map[series]int, len(rows))
	for i := range rows {
		r := &rows[i]
		if r.TunnelName == "" {
			continue
		}
		fk := full{[3]string{r.TunnelName, r.IngressTunnelName, r.EgressTunnelName}, r.Direction, r.Time}
		if seen[fk] {
			duplicates++
			continue
		}
		seen[fk] = true
		sk := series{r.TunnelName, r.Direction, r.Time}
		j, ok := at[sk]
		if !ok {
			at[sk] = len(out)
			sum := *r
			sum.BitRate, sum.Bits, sum.Packets = copyOf(r.BitRate), copyOf(r.Bits), copyOf(r.Packets)
			out = append(out, sum)
			continue
		}
		s := &out[j]
		s.BitRate, s.Bits, s.Packets = add(s.BitRate, r.BitRate), add(s.Bits, r.Bits), add(s.Packets, r.Packets)
		if s.IngressTunnelName != r.IngressTunnelName {
			s.IngressTunnelName = ""
		}
		if s.EgressTunnelName != r.EgressTunnelName {
			s.EgressTunnelName = ""
		}
	}
	return out, duplicates
}

func copyOf(v *float64) *float64 {
	if v == nil {
		return nil
	}
	x := *v
	return &x
}

// add adds b to a; nil is no value, not zero.
func add(a, b *float64) *float64 {
	switch {
	case a == nil:
		return copyOf(b)
	case b != nil:
		*a += *b
	}
	return a
}

func deref(v *float64) float64 {
	if v == nil {
		return 0
	}
	return *v
}

// latest keeps in m the newest row of each series of rows; key reports a
// row's series, its bucket, and false for a row to leave out. It returns
// how many rows repeated a series and bucket already taken.
func latest[R any](m map[string]R, rows []R, key func(*R) (string, time.Time, bool)) (duplicates int) {
	seen := make(map[string]time.Time, len(rows))
	for i := range rows {
		k, t, ok := key(&rows[i])
		if !ok {
			continue
		}
		if at, was := seen[k]; was && at.Equal(t) {
			duplicates++
			continue
		}
		seen[k] = t
		old, had := m[k]
		if had {
			if _, oldT, _ := key(&old); t.Before(oldT) {
				continue
			}
		}
		m[k] = rows[i]
	}
	return duplicates
}

// counted is where the counter of one series stands.
type counted struct {
	// upTo is the newest bucket counted: every bucket up to it is in the
	// counter, or was never seen.
	upTo time.Time
	// top is the newest bucket seen, not counted yet since it may still
	// grow, and topValue its value when last seen: a series whose buckets
	// are sparse (events) may not have it in the answer that brings a newer
	// one, so it is counted from here.
	top      time.Time
	topValue float64
}

// countComplete adds to counters the value of every complete bucket not
// counted yet: a bucket is complete once a newer one of the same series
// has arrived, since the newest may still grow. A series seen for the
// first time starts from its newest bucket, counting nothing before it.
// at maps a series to where its counter stands; add is called with each
// value to add, and once with the series' newest row. It returns the
// duplicates.
func countComplete[R any](at map[string]*counted, rows []R, key func(*R) (string, time.Time, float64, bool),
	add func(key string, v float64, newest *R)) (duplicates int) {
	type bucket struct {
		t time.Time
		v float64
	}
	type series struct {
		buckets []bucket
		newest  int
	}
	all := map[string]*series{}
	for i := range rows {
		k, t, v, ok := key(&rows[i])
		if !ok {
			continue
		}
		s := all[k]
		if s == nil {
			s = &series{newest: i}
			all[k] = s
		}
		if slices.ContainsFunc(s.buckets, func(b bucket) bool { return b.t.Equal(t) }) {
			duplicates++
			continue
		}
		s.buckets = append(s.buckets, bucket{t, v})
		if _, top, _, _ := key(&rows[s.newest]); t.After(top) {
			s.newest = i
		}
	}
	for k, s := range all {
		_, top, topValue, _ := key(&rows[s.newest])
		c := at[k]
		if c == nil {
			at[k] = &counted{upTo: top.Add(-api.EdgeBucket), top: top, topValue: topValue}
			add(k, 0, &rows[s.newest])
			continue
		}
		for _, b := range s.buckets {
			if b.t.After(c.upTo) && b.t.Before(top) {
				add(k, b.v, nil)
			}
		}
		// The bucket that was newest is complete now, and this answer
		// does not hold it: count it as last seen.
		if c.top.After(c.upTo) && c.top.Before(top) &&
			!slices.ContainsFunc(s.buckets, func(b bucket) bool { return b.t.Equal(c.top) }) {
			add(k, c.topValue, nil)
		}
		if !top.Before(c.top) {
			c.top, c.topValue = top, topValue
		}
		if next := top.Add(-api.EdgeBucket); next.After(c.upTo) {
			c.upTo = next
		}
		add(k, 0, &rows[s.newest])
	}
	return duplicates
}

// forget drops the series whose newest row is older than cutoff.
func (st *edgeAccount) forget(cutoff time.Time) {
	for k, r := range st.health {
		if r.Time.Before(cutoff) {
			delete(st.health, k)
		}
	}
	for k, s := range st.traffic {
		if s.Time.Before(cutoff) {
			delete(st.traffic, k)
			delete(st.trafficAt, k)
		}
	}
	forgetRows(st.snapshots, cutoff, func(r api.ConnectorSnapshotRow) time.Time { return r.Time })
	forgetRows(st.mounts, cutoff, func(r api.MountRow) time.Time { return r.Time })
	forgetRows(st.thermals, cutoff, func(r api.ThermalRow) time.Time { return r.Time })
	forgetRows(st.tunnels, cutoff, func(r api.ConnectorTunnelRow) time.Time { return r.Time })
	forgetRows(st.ha, cutoff, func(r api.HAStateRow) time.Time { return r.Time })
	for k, c := range st.eventsAt {
		if c.upTo.Before(cutoff.Add(-api.EdgeBucket)) {
			delete(st.eventsAt, k)
			delete(st.events, k)
		}
	}
}

func forgetRows[R any](m map[string]R, cutoff time.Time, at func(R) time.Time) {
	for k, r := range m {
		if at(r).Before(cutoff) {
			delete(m, k)
		}
	}
}

// evict drops the oldest series past max, so that a hostile or huge
// answer cannot grow the process without bound: the rows of the latest
// answer are the newest, and stay. It returns how many it dropped.
func (st *edgeAccount) evict(max int) int {
	n := len(st.health) + len(st.traffic) + len(st.snapshots) + len(st.mounts) + len(st.thermals) +
		len(st.tunnels) + len(st.ha) + len(st.events)
	if n <= max {
		return 0
	}
	type aged struct {
		t    time.Time
		drop func()
		key  string
	}
	all := make([]aged, 0, n)
	collect := func(key string, t time.Time, drop func()) { all = append(all, aged{t, drop, key}) }
	for k, r := range st.health {
		collect(k, r.Time, func() { delete(st.health, k) })
	}
	for k, s := range st.traffic {
		collect(k, s.Time, func() { delete(st.traffic, k); delete(st.trafficAt, k) })
	}
	for k, c := range st.eventsAt {
		collect(k, c.top, func() { delete(st.eventsAt, k); delete(st.events, k) })
	}
	collectRows(st.snapshots, collect, func(r api.ConnectorSnapshotRow) time.Time { return r.Time })
	collectRows(st.mounts, collect, func(r api.MountRow) time.Time { return r.Time })
	collectRows(st.thermals, collect, func(r api.ThermalRow) time.Time { return r.Time })
	collectRows(st.tunnels, collect, func(r api.ConnectorTunnelRow) time.Time { return r.Time })
	collectRows(st.ha, collect, func(r api.HAStateRow) time.Time { return r.Time })
	slices.SortFunc(all, func(a, b aged) int { return cmp.Or(a.t.Compare(b.t), strings.Compare(b.key, a.key)) })
	drop := n - max
	for _, a := range all[:drop] {
		a.drop()
	}
	return drop
}

func collectRows[R any](m map[string]R, collect func(string, time.Time, func()), at func(R) time.Time) {
	for k, r := range m {
		collect(k, at(r), func() { delete(m, k) })
	}
}

// publish makes the view scrapes read: every series in a stable order,
// tunnel health only from each tunnel's newest bucket (a data centre that
// stopped checking a tunnel does not speak for it any more).
func (st *edgeAccount) publish() *EdgeView {
	v := &EdgeView{}
	for _, name := range api.EdgeDatasets() {
		d := *st.datasets[name]
		d.Dropped = maps.Clone(d.Dropped)
		v.Datasets = append(v.Datasets, d)
	}
	tunnelNewest := map[string]time.Time{}
	for _, r := range st.health {
		if r.Time.After(tunnelNewest[r.TunnelName]) {
			tunnelNewest[r.TunnelName] = r.Time
		}
	}
	for _, r := range st.health {
		if r.Time.Equal(tunnelNewest[r.TunnelName]) {
			v.TunnelHealth = append(v.TunnelHealth, r)
		}
	}
	slices.SortFunc(v.TunnelHealth, func(a, b api.TunnelHealthRow) int {
		return cmp.Or(strings.Compare(a.TunnelName, b.TunnelName), strings.Compare(a.Colo, b.Colo))
	})
	v.Tunnels = tunnelStates(v.TunnelHealth)
	for _, s := range st.traffic {
		v.TunnelTraffic = append(v.TunnelTraffic, *s)
	}
	slices.SortFunc(v.TunnelTraffic, func(a, b TrafficSeries) int {
		return cmp.Or(strings.Compare(a.TunnelName, b.TunnelName), strings.Compare(a.Direction, b.Direction))
	})
	v.Snapshots = sortedRows(st.snapshots)
	v.Mounts = sortedRows(st.mounts)
	v.Thermals = sortedRows(st.thermals)
	v.ConnectorTunnels = sortedRows(st.tunnels)
	v.HA = sortedRows(st.ha)
	for _, s := range st.events {
		v.Events = append(v.Events, *s)
	}
	slices.SortFunc(v.Events, func(a, b EventSeries) int {
		return cmp.Or(strings.Compare(a.ConnectorID, b.ConnectorID), strings.Compare(a.EventType, b.EventType))
	})
	return v
}

// tunnelStates counts, per tunnel, the data centres that see it in each
// state, and those of them that route it. rows are sorted by tunnel.
func tunnelStates(rows []api.TunnelHealthRow) []TunnelState {
	var out []TunnelState
	for i := 0; i < len(rows); {
		t := TunnelState{TunnelName: rows[i].TunnelName}
		anyActive := false
		j := i
		for ; j < len(rows) && rows[j].TunnelName == t.TunnelName; j++ {
			r := &rows[j]
			s := StateHealthy
			switch {
			case *r.State <= 0:
				s = StateDown
			case *r.State < 1:
				s = StateDegraded
			}
			t.Colos[s]++
			if r.Active != nil && *r.Active == 1 {
				t.Active[s]++
				anyActive = true
			}
			t.SiteName = cmp.Or(t.SiteName, r.SiteName)
		}
		if !anyActive {
			t.Active = t.Colos
		}
		out = append(out, t)
		i = j
	}
	return out
}

// sortedRows returns the rows of m in the order of their keys.
func sortedRows[R any](m map[string]R) []R {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]R, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
}
