package collector

import (
	"fmt"
	"hash/maphash"
	"math/bits"
	"sync"
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/exposition"
)

// Between two scrapes nearly every connector's record is the same but for
// its heartbeat (api.Connector.Rev says which are): what was computed of
// it, its upgrade window parsed and its labels rendered, is kept and used
// again. What depends on the time of the scrape (the heartbeat's age, the
// window's state) is still computed at every scrape.

// connectorMemo is what is computed of one connector's record.
type connectorMemo struct {
	rev uint64
	// key is the account and the record, for the static families
	// (Family.Static); 0 when the record's Rev is unknown.
	key uint64
	// window is shared by the connectors of the same window configuration
	// (windows.get): a fleet has few.
	window    *interruptWindow
	windowErr error
	// ids are the rendered labels of the connector families. (Those of
	// connector_info, three times longer and written once a page, would
	// double what the memo holds for a few milliseconds a scrape.)
	ids exposition.Labels
}

// rowMemos are the exporter's memos, per account and connector ID: those
// of the account's latest listing.
type rowMemos struct {
	mu        sync.Mutex
	byAccount map[string]map[string]*connectorMemo
	windows   windowCache
}

func newRowMemos() *rowMemos {
	return &rowMemos{byAccount: map[string]map[string]*connectorMemo{}, windows: windowCache{m: map[string]windowEntry{}}}
}

// connectors returns the memo of each of the account's connectors,
// computed anew where the record is new or changed (or its Rev unknown),
// and forgets the connectors no longer listed.
func (r *rowMemos) connectors(account string, cs []api.Connector, compute func(*api.Connector) *connectorMemo) []*connectorMemo {
	r.mu.Lock()
	old := r.byAccount[account]
	r.mu.Unlock()

	out := make([]*connectorMemo, len(cs))
	next := make(map[string]*connectorMemo, len(cs))
	for i := range cs {
		c := &cs[i]
		m := old[c.ID]
		if m == nil || m.rev != c.Rev || c.Rev == 0 {
			m = compute(c)
			m.rev = c.Rev
			if c.Rev != 0 {
				m.key = mixKeys(maphash.String(rowSeed, account), c.Rev)
			}
		}
		next[c.ID] = m
		out[i] = m
	}
	r.mu.Lock()
	r.byAccount[account] = next
	r.mu.Unlock()
	return out
}

// static is Family.Static of the families of a connector's record: its
// key, while its account and connector ID are written as they are.
func (m *connectorMemo) static() (uint64, bool) { return m.key, m.key != 0 && m.ids.Kept() }

// rowSeed keys the hashes of rows, for the life of the process.
var rowSeed = maphash.MakeSeed()

// mixKeys combines two keys into one, in order.
func mixKeys(h, k uint64) uint64 {
	return bits.RotateLeft64((h^k)*0x9e3779b97f4a7c15, 31) * 0xbf58476d1ce4e5b9
}

// windowCache holds each upgrade window configuration parsed once. It
// starts again past maxWindows configurations: a fleet of distinct ones
// must not grow it for ever.
type windowCache struct {
	mu sync.Mutex
	m  map[string]windowEntry
}

type windowEntry struct {
	w   *interruptWindow
	err error
}

const maxWindows = 4096

// get returns c's upgrade window, parsed with load unless a connector of
// the same configuration had it parsed.
func (wc *windowCache) get(c *api.Connector, load func(string) (*time.Location, error)) (*interruptWindow, error) {
	key := fmt.Sprintf("%s|%q|%v|%v|%q", c.Timezone, c.InterruptWindowDaysOfWeek, c.InterruptWindowHourOfDay,
		c.InterruptWindowDurationHours, c.InterruptWindowEmbargoDates)
	wc.mu.Lock()
	e, ok := wc.m[key]
	wc.mu.Unlock()
	if ok {
		return e.w, e.err
	}
	w, err := newInterruptWindow(c, load)
	e = windowEntry{&w, err}
	wc.mu.Lock()
	if len(wc.m) >= maxWindows {
		clear(wc.m)
	}
	wc.m[key] = e
	wc.mu.Unlock()
	return e.w, e.err
}

// forget drops the accounts keep rejects.
func (r *rowMemos) forget(keep func(account string) bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for a := range r.byAccount {
		if !keep(a) {
			delete(r.byAccount, a)
		}
	}
}
