package collector

import (
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"golang.org/x/time/rate"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/exposition"
)

// writtenTotals adds up, over every page, what the writer cleaned and left
// out, and logs what it left out at a bounded rate.
type writtenTotals struct {
	mu    sync.Mutex
	total writtenRow
	// logs bound the lines of each family and reason to one a minute.
	logs map[dropLogKey]*dropLogState
}

type dropLogKey struct{ family, reason string }

type dropLogState struct {
	every rate.Sometimes
	// n is the samples left off since the last line.
	n int
}

func newWrittenTotals() *writtenTotals {
	return &writtenTotals{total: writtenRow{dropped: map[string]float64{}}, logs: map[dropLogKey]*dropLogState{}}
}

// add adds what writing a page did to w's page, up to now, to the totals,
// and returns them.
func (wt *writtenTotals) add(w *exposition.Writer, logger log.Logger) writtenRow {
	truncated, stripped := w.Cleaned()
	wt.mu.Lock()
	defer wt.mu.Unlock()
	wt.total.truncated += float64(truncated)
	wt.total.stripped += float64(stripped)
	for _, d := range w.Dropped() {
		wt.total.dropped[d.Reason] += float64(d.N)
		wt.log(logger, d)
	}
	row := wt.total
	row.dropped = make(map[string]float64, len(wt.total.dropped))
	for k, v := range wt.total.dropped {
		row.dropped[k] = v
	}
	return row
}

// log logs a family's samples left off, the first time and then at most
// once a minute, with the count since the last line. The caller holds
// wt.mu.
func (wt *writtenTotals) log(logger log.Logger, d exposition.Dropped) {
	k := dropLogKey{d.Family, d.Reason}
	st := wt.logs[k]
	if st == nil {
		st = &dropLogState{every: rate.Sometimes{First: 1, Interval: time.Minute}}
		wt.logs[k] = st // one per family and reason: bounded
	}
	st.n += d.N
	st.every.Do(func() {
		lvl, msg := level.Warn(logger), "series left off the page: it was already on it, most likely two label values equal once cleaned or cut"
		if d.Reason == exposition.DropLabelCount {
			lvl, msg = level.Error(logger), "series left off the page: not one value per label of its family, a bug of the exporter"
		}
		lvl.Log("msg", msg, "family", d.Family, "reason", d.Reason, "series", d.Series, "samples", st.n)
		st.n = 0
	})
}

// writtenRow is what writing the pages left out or changed, this page
// included.
type writtenRow struct {
	truncated, stripped float64
	// dropped counts samples left off, by reason (exposition.Drop*).
	dropped map[string]float64
}

// dropReasons are the reasons of cloudflare_magic_series_dropped_total,
// each present from the first page.
var dropReasons = []string{exposition.DropDuplicate, exposition.DropLabelCount}

// writtenFamilies count what writing the page did to it. They are written
// last, after every other family and out of name order, so that they count
// the page they are on: the writer cleans label values as it goes.
func writtenFamilies() []renderer {
	return bind(SourceExporter, func(p *page) []writtenRow { return p.written },
		&Family[writtenRow]{
			Name: namespace + "_label_values_truncated_total",
			Help: "Label values cut to --web.max-label-value-length on the pages served.",
			Doc: "A label value longer than that (a connector's notes, say) would make a Prometheus with " +
				"`label_value_length_limit` reject the whole scrape. Counted over every page written, this one included.",
			Type:    exposition.Counter,
			Samples: func(s Sampler, r *writtenRow) { s.Add(r.truncated) },
		},
		&Family[writtenRow]{
			Name: namespace + "_label_values_stripped_total",
			Help: "Label values from which control or bidirectional formatting characters were removed.",
			Doc: "NUL, ESC and U+202E, say, would reach dashboards raw; tabs and line breaks become spaces. " +
				"Counted over every page written, this one included.",
			Type:    exposition.Counter,
			Samples: func(s Sampler, r *writtenRow) { s.Add(r.stripped) },
		},
		&Family[writtenRow]{
			Name: namespace + "_series_dropped_total",
			Help: "Samples left off the pages served, by reason; the exporter's log names the family.",
			Doc: "`duplicate`: a series the page already held, most likely two label values that became equal once " +
				"cleaned or cut (Prometheus would fail the second); `label_count`: a sample without one value per label, " +
				"a bug of the exporter. Counted over every page written, this one included.",
			Type: exposition.Counter, Labels: []string{"reason"},
			Samples: func(s Sampler, r *writtenRow) {
				for _, reason := range dropReasons {
					s.Add(r.dropped[reason], reason)
				}
			},
		})
}
