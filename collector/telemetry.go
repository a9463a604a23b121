package collector

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

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
}

// Telemetry keeps the latest telemetry snapshot of every activated
// connector and turns it into metrics.
//
// The snapshot endpoint costs one API call per connector, so it is not
// called per scrape: the Exporter tells Telemetry which connectors exist
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

	families                                   []*family
	snapshotTimestamp                          *family
	tunnelHealth, tunnelProbedMTU              *family
	haState                                    *family
	interfaceUp, interfaceSpeed                *family
	receiveBytes, transmitBytes                *family
	receiveErrors, transmitErrors              *family
	receiveDrop, transmitDrop                  *family
	cpuCores, load1, load5, load15             *family
	memoryTotal, memoryAvailable               *family
	filesystemSize, filesystemAvail            *family
	temperature, temperatureCritical, bootTime *family
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

	desc := func(name, help string, labels ...string) *family {
		typ := prometheus.GaugeValue
		if strings.HasSuffix(name, "_total") {
			typ = prometheus.CounterValue
		}
		f := newFamily(namespace+"_connector_"+name, help, typ, append([]string{"account_id", "connector_id"}, labels...)...)
		t.families = append(t.families, f)
		return f
	}
	t.snapshotTimestamp = desc("snapshot_timestamp_seconds",
		"Unix time the connector recorded its latest telemetry snapshot, which every other telemetry metric comes from. Older than a few refresh intervals, the connector stopped sending telemetry or the exporter cannot fetch it (see cloudflare_magic_up{endpoint=\"telemetry\"}).")
	t.tunnelHealth = desc("tunnel_health",
		"Health of the connector's tunnel to Cloudflare: 0 unknown, 1 healthy, 2 degraded, 3 down. A degraded or down tunnel loses traffic; check the site's uplink behind interface_name.",
		"tunnel_id", "interface_name")
	t.tunnelProbedMTU = desc("tunnel_probed_mtu_bytes",
		"MTU measured between the two ends of the tunnel, in bytes. A drop points at a path that fragments or blackholes large packets.",
		"tunnel_id")
	t.haState = desc("ha_state",
		"High-availability state of the connector: 0 disabled, 1 active, 2 standby, 3 stopped, 4 fault. A pair needs exactly one active member; 3 or 4 needs attention.")
	t.interfaceUp = desc("interface_up",
		"Whether the connector's network interface is operationally up (1) or not (0). A WAN interface down means the site runs on its other uplinks.",
		"interface")
	t.interfaceSpeed = desc("interface_speed_bytes",
		"Link speed of the connector's network interface, in bytes per second (the API's bits per second divided by 8). A drop points at a cable or port negotiating a lower speed.",
		"interface")
	t.receiveBytes = desc("network_receive_bytes_total",
		"Bytes received by the connector's network device, as counted by the connector; it restarts from zero when the connector reboots.",
		"device")
	t.transmitBytes = desc("network_transmit_bytes_total",
		"Bytes sent by the connector's network device, as counted by the connector; it restarts from zero when the connector reboots.",
		"device")
	t.receiveErrors = desc("network_receive_errors_total",
		"Bad packets received by the connector's network device. A steady rise points at a faulty cable, port or duplex mismatch.",
		"device")
	t.transmitErrors = desc("network_transmit_errors_total",
		"Transmission errors of the connector's network device. A steady rise points at a faulty cable, port or duplex mismatch.",
		"device")
	t.receiveDrop = desc("network_receive_drop_total",
		"Received packets the connector's network device dropped. A steady rise means the connector cannot keep up with its traffic.",
		"device")
	t.transmitDrop = desc("network_transmit_drop_total",
		"Packets the connector's network device dropped while sending. A steady rise means the uplink is saturated.",
		"device")
	t.cpuCores = desc("cpu_cores",
		"Number of CPU cores of the connector; load averages above it mean the connector is overloaded.")
	t.load1 = desc("load1",
		"One-minute load average of the connector; compare with cloudflare_magic_connector_cpu_cores.")
	t.load5 = desc("load5",
		"Five-minute load average of the connector; compare with cloudflare_magic_connector_cpu_cores.")
	t.load15 = desc("load15",
		"Fifteen-minute load average of the connector; compare with cloudflare_magic_connector_cpu_cores.")
	t.memoryTotal = desc("memory_total_bytes",
		"Usable RAM of the connector, in bytes.")
	t.memoryAvailable = desc("memory_available_bytes",
		"Memory available to start new work on the connector, in bytes. Near zero, the connector is about to swap or kill processes.")
	t.filesystemSize = desc("filesystem_size_bytes",
		"Size of the connector's filesystem, in bytes.",
		"mountpoint")
	t.filesystemAvail = desc("filesystem_avail_bytes",
		"Free space of the connector's filesystem, in bytes. A full filesystem stops logging and software upgrades; act before it falls below a tenth of its size.",
		"mountpoint")
	t.temperature = desc("temperature_celsius",
		"Current temperature of the connector's sensor, in degrees Celsius; compare with cloudflare_magic_connector_temperature_critical_celsius and check the appliance's airflow.",
		"sensor")
	t.temperatureCritical = desc("temperature_critical_celsius",
		"Temperature at which the connector's sensor reports a critical failure, in degrees Celsius.",
		"sensor")
	t.bootTime = desc("boot_time_seconds",
		"Unix time the connector last booted; a change means it rebooted.")
	return t, nil
}

// Describe sends the descriptors of every telemetry metric.
func (t *Telemetry) Describe(ch chan<- *prometheus.Desc) {
	for _, f := range t.families {
		ch <- f.desc
	}
}

// retain forgets the accounts keep rejects: they are no longer scraped,
// and refreshing them would spend the API budget for nothing.
func (t *Telemetry) retain(keep func(string) bool) {
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
			strings.Compare(a.accountID, b.accountID), strings.Compare(a.connectorID, b.connectorID))
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

// scrape is the Exporter's telemetry scraper: it never calls the API. It
// returns the latest snapshot of each of the account's connectors, from
// memory, and an error if the latest refresh of any of them failed. Its
// last success is the latest successful refresh of the account's
// connectors.
func (t *Telemetry) scrape(_ context.Context, accountID string) (emitter, scrapeResult, error) {
	var res scrapeResult
	out := &telemetryEmitter{t: t, account: accountID}
	var failed []connectorSnapshot
	now := t.now()
	t.mu.Lock()
	for id, c := range t.accounts[accountID] {
		if c.succeeded.After(res.lastSuccess) {
			res.lastSuccess = c.succeeded
		}
		if c.snapshot != nil && now.Sub(c.succeeded) <= t.staleAfter() {
			out.snapshots = append(out.snapshots, connectorSnapshot{id, c.snapshot, nil})
		}
		if c.err != nil {
			failed = append(failed, connectorSnapshot{id, nil, c.err})
		}
	}
	total := len(t.accounts[accountID])
	t.mu.Unlock()
	slices.SortFunc(out.snapshots, func(a, b connectorSnapshot) int { return strings.Compare(a.id, b.id) })
	if len(failed) == 0 {
		return out, res, nil
	}
	first := slices.MinFunc(failed, func(a, b connectorSnapshot) int { return strings.Compare(a.id, b.id) })
	return out, res, fmt.Errorf("latest snapshot of %d of %d connectors failed, connector %s: %w",
		len(failed), total, first.id, first.err)
}

type connectorSnapshot struct {
	id       string
	snapshot *api.Snapshot
	err      error
}

// telemetryEmitter writes the latest snapshots of one account's connectors.
type telemetryEmitter struct {
	t         *Telemetry
	account   string
	snapshots []connectorSnapshot
}

func (te *telemetryEmitter) emit(f *family, out sink) {
	for _, c := range te.snapshots {
		te.t.emitSnapshot(f, out, te.account, c.id, c.snapshot)
	}
}

// emitSnapshot writes the samples of family f from one snapshot. Values the
// snapshot does not carry have no series; DHCP leases were never decoded.
func (t *Telemetry) emitSnapshot(f *family, out sink, accountID, connectorID string, s *api.Snapshot) {
	e := snapshotSeries{out: out, f: f, ids: []string{accountID, connectorID}}
	gauge := func(v *float64, labels ...string) {
		if v != nil {
			e.send(*v, labels...)
		}
	}
	switch f {
	case t.snapshotTimestamp:
		if s.T > 0 { // t is required; without it there is no time to tell
			gauge(&s.T)
		}
	case t.tunnelHealth:
		for _, tu := range s.Tunnels {
			gauge(&tu.HealthValue, tu.TunnelID, tu.InterfaceName)
		}
	case t.tunnelProbedMTU:
		for _, tu := range s.Tunnels {
			gauge(tu.ProbedMTU, tu.TunnelID)
		}
	case t.haState:
		gauge(s.HAValue)
	case t.interfaceUp:
		for _, i := range s.Interfaces {
			up := boolToFloat(strings.EqualFold(i.Operstate, "up"))
			gauge(&up, i.Name)
		}
	case t.interfaceSpeed:
		for _, i := range s.Interfaces {
			// Linux reports an unknown speed as -1.
			if i.Speed != nil && *i.Speed >= 0 {
				bytes := *i.Speed / 8
				gauge(&bytes, i.Name)
			}
		}
	case t.receiveBytes, t.transmitBytes, t.receiveErrors, t.transmitErrors, t.receiveDrop, t.transmitDrop:
		for _, n := range s.Netdevs {
			v := t.netdevCounter(f, &n)
			gauge(&v, n.Name)
		}
	case t.cpuCores:
		gauge(s.CPUCount)
	case t.load1:
		gauge(s.LoadAverage1m)
	case t.load5:
		gauge(s.LoadAverage5m)
	case t.load15:
		gauge(s.LoadAverage15m)
	case t.memoryTotal:
		gauge(s.MemoryTotalBytes)
	case t.memoryAvailable:
		gauge(s.MemoryAvailableBytes)
	case t.filesystemSize:
		for _, m := range s.Mounts {
			gauge(m.TotalBytes, m.MountPoint)
		}
	case t.filesystemAvail:
		for _, m := range s.Mounts {
			gauge(m.AvailableBytes, m.MountPoint)
		}
	case t.temperature:
		for _, th := range s.Thermals {
			gauge(th.CurrentCelcius, th.Label)
		}
	case t.temperatureCritical:
		for _, th := range s.Thermals {
			gauge(th.CriticalCelcius, th.Label)
		}
	case t.bootTime:
		gauge(s.SystemBootTimeS)
	}
}

// netdevCounter is the netdev's value for one of the network families.
func (t *Telemetry) netdevCounter(f *family, n *api.SnapshotNetdev) float64 {
	switch f {
	case t.receiveBytes:
		return n.RecvBytes
	case t.transmitBytes:
		return n.SentBytes
	case t.receiveErrors:
		return n.RecvErrs
	case t.transmitErrors:
		return n.SentErrs
	case t.receiveDrop:
		return n.RecvDrop
	}
	return n.SentDrop
}

// snapshotSeries sends one family's series of one connector and skips any
// it has sent already: a snapshot listing a mount point or device twice
// must not make the scrape report duplicate series.
type snapshotSeries struct {
	out  sink
	f    *family
	ids  []string // account_id, connector_id
	seen map[string]bool
}

func (e *snapshotSeries) send(v float64, labels ...string) {
	key := strings.Join(labels, "\xff")
	if e.seen[key] {
		return
	}
	if e.seen == nil {
		e.seen = map[string]bool{}
	}
	e.seen[key] = true
	e.out.sample(e.f, v, append(slices.Clip(e.ids), labels...)...)
}
