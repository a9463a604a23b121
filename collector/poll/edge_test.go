package poll

import (
	"testing"
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
)

// TestCountCompleteSparseSeries: an event type that happens once every
// fifteen minutes shows up in one bucket of three. The answer that brings
// its next bucket starts at the newest bucket any series had, so it does
// not hold the previous one: that bucket must still be counted, once.
func TestCountCompleteSparseSeries(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 11, 45, 0, 0, time.UTC)
	bucket := func(n int) time.Time { return t0.Add(time.Duration(n) * api.EdgeBucket) }
	key := func(r *api.EventRow) (string, time.Time, float64, bool) {
		return r.ConnectorID + "/" + r.EventType, r.Time, *r.Count, true
	}
	one := 1.0
	at := map[string]*counted{}
	var total float64
	count := func(rows ...api.EventRow) {
		countComplete(at, rows, key, func(_ string, v float64, _ *api.EventRow) { total += v })
	}
	ev := func(n int) api.EventRow {
		return api.EventRow{ConnectorID: "c", EventType: "Init", Time: bucket(n), Count: &one}
	}

	for _, step := range []struct {
		rows []api.EventRow
		want float64
	}{ // want is the total after each answer
		{[]api.EventRow{ev(0)}, 0}, // first seen: starts at 0
		{nil, 0},                   // answers without the series
		{nil, 0},
		{[]api.EventRow{ev(3)}, 1}, // bucket 0 is complete, though not in this answer
		{[]api.EventRow{ev(3)}, 1}, // bucket 3 again: not complete yet
		{nil, 1},
		{[]api.EventRow{ev(6)}, 2}, // bucket 3 complete
	} {
		count(step.rows...)
		if total != step.want {
			t.Fatalf("after %v: total %g, want %g", step.rows, total, step.want)
		}
	}

	// A dense series, its previous bucket re-fetched and grown: counted
	// once, at its latest value.
	at, total = map[string]*counted{}, 0
	two, three := 2.0, 3.0
	count(api.EventRow{ConnectorID: "c", EventType: "X", Time: bucket(0), Count: &two})
	count(api.EventRow{ConnectorID: "c", EventType: "X", Time: bucket(1), Count: &two},
		api.EventRow{ConnectorID: "c", EventType: "X", Time: bucket(0), Count: &three})
	if total != 3 {
		t.Errorf("dense series: total %g, want the grown bucket's 3", total)
	}
}
