package poll

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
)

// TelemetryClient is what Telemetry needs from the Cloudflare API.
type TelemetryClient interface {
	LatestSnapshot(ctx context.Context, accountID, connectorID string) (*api.Snapshot, error)
}

// TelemetryConfig configures a Telemetry.
type TelemetryConfig struct {
	Client TelemetryClient
	// Interval is the shortest time between two snapshot calls for one
	// connector, whatever the scrape interval. It must be positive.
	Interval time.Duration
	// Concurrency bounds the snapshot calls in flight, across all
	// accounts. It must be positive.
	Concurrency int
	// Timeout bounds each snapshot call; zero means Interval.
	Timeout time.Duration
	Logger  log.Logger
	// Now defaults to time.Now; tests fix it.
	Now func() time.Time
	// Budget, if set, is the share of the REST rate limit shared with the
	// list calls; refreshes take only what the list calls leave.
	Budget *Budget
}

// Telemetry keeps the latest telemetry snapshot of every activated
// connector and hands them to each scrape.
//
// The snapshot endpoint costs one API call per connector, so it is not
// called per scrape: the Poller tells Telemetry which connectors exist
// (SetConnectors, after each successful connectors list), Run refreshes each
// of them in the background at most every Interval, and a scrape emits what
// is in memory without waiting for the API. A snapshot keeps its own
// timestamp (cloudflare_magic_connector_snapshot_timestamp_seconds), never a
// sample timestamp.
//
// A failed refresh keeps the connector's previous snapshot and makes the
// account's cloudflare_magic_up{endpoint="telemetry"} 0 until the
// connector's next refresh succeeds. A connector that has no snapshot (the
// API answers count 0), or whose first refresh has not finished yet, has no
// telemetry series and does not count as a failure.
type Telemetry struct {
	client      TelemetryClient
	budget      *Budget
	interval    time.Duration
	concurrency int
	timeout     time.Duration
	logger      log.Logger
	now         func() time.Time
	// wake tells Run that connectors were added, so they need not wait for
	// the next tick.
	wake chan struct{}

	mu       sync.Mutex
	accounts map[string]map[string]*connectorTelemetry
}

// connectorTelemetry is what Telemetry knows of one connector. Its fields
// are guarded by Telemetry.mu.
type connectorTelemetry struct {
	accountID, connectorID string
	// snapshot is the latest snapshot received; nil before the first or
	// when the API has none.
	snapshot *api.Snapshot
	// err is the error of the latest finished refresh, nil if it succeeded.
	err error
	// started is when the latest refresh started; zero before the first.
	started time.Time
	// succeeded is when a refresh last succeeded; zero if none has.
	succeeded time.Time
	inFlight  bool
	// forgotten is set when the connector is deleted or deactivated.
	forgotten bool
}

// NewTelemetry returns a Telemetry for cfg; start its Run.
func NewTelemetry(cfg TelemetryConfig) (*Telemetry, error) {
	switch {
	case cfg.Client == nil:
		return nil, errors.New("telemetry: no API client")
	case cfg.Interval <= 0:
		return nil, fmt.Errorf("telemetry interval must be positive, not %s", cfg.Interval)
	case cfg.Concurrency <= 0:
		return nil, fmt.Errorf("telemetry concurrency must be positive, not %d", cfg.Concurrency)
	}
	t := &Telemetry{
		client:      cfg.Client,
		budget:      cfg.Budget,
		interval:    cfg.Interval,
		concurrency: cfg.Concurrency,
		timeout:     cmp.Or(cfg.Timeout, cfg.Interval),
		logger:      cfg.Logger,
		now:         cfg.Now,
		wake:        make(chan struct{}, 1),
		accounts:    map[string]map[string]*connectorTelemetry{},
	}
	if t.logger == nil {
		t.logger = log.NewNopLogger()
	}
	if t.now == nil {
		t.now = time.Now
	}

	return t, nil
}

// prune forgets the accounts keep rejects: they are no longer scraped,
// and refreshing them would spend the API budget for nothing.
func (t *Telemetry) prune(keep func(string) bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for account, connectors := range t.accounts {
		if keep(account) {
			continue
		}
		for _, c := range connectors {
			c.forgotten = true
		}
		delete(t.accounts, account)
	}
}

// staleAfter is how long after its last successful refresh a snapshot is
// still served: past it, the connector's telemetry series are dropped
// rather than shown as current.
func (t *Telemetry) staleAfter() time.Duration { return 3 * t.interval }

// SetConnectors tells Telemetry the account's connectors, as just listed.
// Only activated connectors are refreshed; connectors no longer listed or no
// longer activated are forgotten, and their series disappear. (The Exporter
// lists connectors and emits telemetry concurrently, so that happens at the
// scrape after the one whose list no longer has them.)
func (t *Telemetry) SetConnectors(accountID string, connectors []api.Connector) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.accounts[accountID]
	next := make(map[string]*connectorTelemetry, len(connectors))
	added := false
	for _, c := range connectors {
		if !c.Activated {
			continue
		}
		if known, ok := old[c.ID]; ok {
			next[c.ID] = known
			continue
		}
		next[c.ID] = &connectorTelemetry{accountID: accountID, connectorID: c.ID}
		added = true
	}
	for id, c := range old {
		if next[id] == nil {
			c.forgotten = true
		}
	}
	t.accounts[accountID] = next
	if added {
		select {
		case t.wake <- struct{}{}:
		default:
		}
	}
}

// Run refreshes the snapshots until ctx is done, then waits for the calls
// in flight to end. A connector is refreshed when its latest refresh started
// at least Interval ago, oldest first, with at most Concurrency calls in
// flight. Call Run once.
func (t *Telemetry) Run(ctx context.Context) {
	level.Info(t.logger).Log("msg", "refreshing connector telemetry in the background", "interval", t.interval, "concurrency", t.concurrency)
	slots := make(chan struct{}, t.concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	// Looking for due connectors every tenth of the interval, and at least
	// every second, delays a refresh by no more than that.
	ticker := time.NewTicker(min(max(t.interval/10, 10*time.Millisecond), time.Second))
	defer ticker.Stop()
	for {
		if !t.dispatch(ctx, slots, &wg) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-t.wake:
		}
	}
}

// dispatch starts a refresh of every connector due, each as soon as one of
// slots is free. It reports false if ctx ended first.
func (t *Telemetry) dispatch(ctx context.Context, slots chan struct{}, wg *sync.WaitGroup) bool {
	for _, c := range t.due() {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return false
		}
		if !t.budget.TakeLow() {
			// The budget guard is on: the rest wait for the next round.
			<-slots
			return true
		}
		t.mu.Lock()
		start := !c.forgotten
		if start {
			c.inFlight, c.started = true, t.now()
		}
		t.mu.Unlock()
		if !start {
			<-slots
			continue
		}
		wg.Go(func() {
			defer func() { <-slots }()
			t.refresh(ctx, c)
		})
	}
	return true
}

// due returns the connectors to refresh, least recently refreshed first.
func (t *Telemetry) due() []*connectorTelemetry {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	var due []*connectorTelemetry
	for _, connectors := range t.accounts {
		for _, c := range connectors {
			if !c.inFlight && (c.started.IsZero() || now.Sub(c.started) >= t.interval) {
				due = append(due, c)
			}
		}
	}
	slices.SortFunc(due, func(a, b *connectorTelemetry) int {
		return cmp.Or(a.started.Compare(b.started),
			cmp.Compare(a.accountID, b.accountID), cmp.Compare(a.connectorID, b.connectorID))
	})
	return due
}

// refresh fetches one connector's latest snapshot. A failure keeps the
// previous snapshot; the scrape reports it through up.
func (t *Telemetry) refresh(ctx context.Context, c *connectorTelemetry) {
	callCtx, cancel := context.WithTimeout(ctx, t.timeout)
	snap, err := t.client.LatestSnapshot(callCtx, c.accountID, c.connectorID)
	cancel()
	t.mu.Lock()
	defer t.mu.Unlock()
	c.inFlight = false
	switch {
	case ctx.Err() != nil:
		// Shutting down: the call was cut short, it did not fail.
	case err != nil:
		c.err = err
		level.Debug(t.logger).Log("msg", "fetching the latest snapshot failed", "account_id", c.accountID, "connector_id", c.connectorID, "err", err)
	default:
		c.snapshot, c.err, c.succeeded = snap, nil, t.now()
	}
}

// snapshots returns the latest snapshot of each of the account's
// connectors, from memory, sorted by connector ID, and an error if the
// latest refresh of any of them failed. last is the latest successful
// refresh of the account's connectors.
func (t *Telemetry) snapshots(accountID string) (snaps []Snapshot, last time.Time, err error) {
	type failure struct {
		id  string
		err error
	}
	var failed []failure
	now := t.now()
	t.mu.Lock()
	for id, c := range t.accounts[accountID] {
		if c.succeeded.After(last) {
			last = c.succeeded
		}
		if c.snapshot != nil && now.Sub(c.succeeded) <= t.staleAfter() {
			snaps = append(snaps, Snapshot{ConnectorID: id, Snapshot: c.snapshot})
		}
		if c.err != nil {
			failed = append(failed, failure{id, c.err})
		}
	}
	total := len(t.accounts[accountID])
	t.mu.Unlock()
	slices.SortFunc(snaps, func(a, b Snapshot) int { return cmp.Compare(a.ConnectorID, b.ConnectorID) })
	if len(failed) == 0 {
		return snaps, last, nil
	}
	first := slices.MinFunc(failed, func(a, b failure) int { return cmp.Compare(a.id, b.id) })
	return snaps, last, fmt.Errorf("latest snapshot of %d of %d connectors failed, connector %s: %w",
		len(failed), total, first.id, first.err)
}
