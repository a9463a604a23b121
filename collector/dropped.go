package collector

import (
	"sync"

	"github.com/go-kit/log/level"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/exposition"
)

// droppedRow is how many items of an endpoint's latest answer for an
// account were left out, for one reason.
type droppedRow struct {
	account, endpoint, reason string
	n                         int
}

// Reasons items of a list are left out.
const (
	reasonEmptyID    = "empty_id"
	reasonRepeatedID = "repeated_id"
)

func droppedFamilies() []renderer {
	return bind(SourceExporter, func(p *page) []droppedRow { return p.dropped },
		&Family[droppedRow]{
			Name: namespace + "_dropped_items",
			Help: "Items of the endpoint's latest answer left out, by reason.",
			Doc: "`empty_id`: an item without an ID identifies nothing; `repeated_id`: an ID listed twice, whose first " +
				"item is kept. Either means the API answered something it should not; the exporter's log says so once.",
			Type: exposition.Gauge, Labels: []string{"account_id", "endpoint", "reason"},
			Samples: func(s Sampler, r *droppedRow) { s.Add(float64(r.n), r.account, r.endpoint, r.reason) },
		})
}

// dropLog remembers the counts last logged, so that an answer that keeps
// dropping the same items is logged once, not at every scrape.
type dropLog struct {
	mu   sync.Mutex
	last map[dropKey]int
}

type dropKey struct{ account, endpoint, reason string }

// dropped adds an endpoint's drop counts to the page, when it answered,
// and logs a count that changed to a non-zero one.
func (e *Exporter) dropped(p *page, account, endpoint string, answered bool, empty, repeated int) {
	if !answered {
		return
	}
	for _, d := range []struct {
		reason string
		n      int
	}{{reasonEmptyID, empty}, {reasonRepeatedID, repeated}} {
		p.dropped = append(p.dropped, droppedRow{account, endpoint, d.reason, d.n})
		k := dropKey{account, endpoint, d.reason}
		e.drops.mu.Lock()
		changed := e.drops.last[k] != d.n
		e.drops.last[k] = d.n
		e.drops.mu.Unlock()
		if changed && d.n > 0 {
			level.Warn(e.logger).Log("msg", "items of the API's answer left out", "account_id", account,
				"endpoint", endpoint, "reason", d.reason, "items", d.n)
		}
	}
}

// prune forgets the accounts keep rejects.
func (d *dropLog) prune(keep func(string) bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k := range d.last {
		if !keep(k.account) {
			delete(d.last, k)
		}
	}
}
