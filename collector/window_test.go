package collector

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
)

// schedule is a connector's interrupt window fields, short enough for a
// table row.
type schedule struct {
	zone    string
	days    []string
	hour    float64
	hours   float64
	embargo []string
}

// connector returns a connector carrying s.
func (s schedule) connector() *api.Connector {
	return &api.Connector{ConnectorRecord: &api.ConnectorRecord{
		ID:                           "c1",
		Timezone:                     s.zone,
		InterruptWindowDaysOfWeek:    s.days,
		InterruptWindowHourOfDay:     s.hour,
		InterruptWindowDurationHours: s.hours,
		InterruptWindowEmbargoDates:  s.embargo,
	}}
}

// mustWindow parses s or fails the test.
func mustWindow(tb testing.TB, s schedule) interruptWindow {
	tb.Helper()
	w, err := newInterruptWindow(s.connector(), time.LoadLocation)
	if err != nil {
		tb.Fatalf("newInterruptWindow(%+v): %v", s, err)
	}
	return w
}

// instant parses an RFC 3339 timestamp; "" is the zero time.
func instant(tb testing.TB, s string) time.Time {
	tb.Helper()
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// atCase is one question to at: the schedule, the instant, and the answer.
// start and next are RFC 3339 instants, "" for the zero time.
type atCase struct {
	name   string
	sched  schedule
	now    string
	active bool
	start  string
	next   string
}

// checkAt runs each case as a subtest.
func checkAt(t *testing.T, cases []atCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := mustWindow(t, tc.sched)
			now := instant(t, tc.now)
			got := w.at(now)
			wantStart, wantNext := instant(t, tc.start), instant(t, tc.next)
			if got.Active != tc.active || !got.Start.Equal(wantStart) || !got.NextStart.Equal(wantNext) {
				t.Errorf("at(%s) in %s = active %v, start %s, next %s; want active %v, start %s, next %s",
					tc.now, tc.sched.zone, got.Active, show(got.Start), show(got.NextStart),
					tc.active, show(wantStart.In(w.loc)), show(wantNext.In(w.loc)))
			}
			if want := time.Duration(tc.sched.hours) * time.Hour; got.Duration != want {
				t.Errorf("Duration = %v, want %v", got.Duration, want)
			}
		})
	}
}

// show prints t in UTC and in its own zone, or "zero".
func show(t time.Time) string {
	if t.IsZero() {
		return "zero"
	}
	return t.UTC().Format(time.RFC3339Nano) + " (" + t.Format("2006-01-02 15:04 MST") + ")"
}

var allDays = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}

func TestInterruptWindowDaysOfWeek(t *testing.T) {
	utc := func(days ...string) schedule { return schedule{zone: "UTC", days: days, hour: 2, hours: 2} }
	// 2026-11-24 is a Tuesday.
	checkAt(t, []atCase{
		{name: "empty list means every day", sched: utc(), now: "2026-11-24T03:00:00Z",
			active: true, start: "2026-11-24T02:00:00Z", next: "2026-11-25T02:00:00Z"},
		{name: "all seven days listed is every day", sched: utc(allDays...), now: "2026-11-24T03:00:00Z",
			active: true, start: "2026-11-24T02:00:00Z", next: "2026-11-25T02:00:00Z"},
		{name: "listed day opens, next is a week later", sched: utc("Tuesday"), now: "2026-11-24T03:00:00Z",
			active: true, start: "2026-11-24T02:00:00Z", next: "2026-12-01T02:00:00Z"},
		{name: "day listed twice counts once", sched: utc("Tuesday", "Tuesday"), now: "2026-11-24T03:00:00Z",
			active: true, start: "2026-11-24T02:00:00Z", next: "2026-12-01T02:00:00Z"},
		{name: "unlisted day stays closed", sched: utc("Monday", "Wednesday"), now: "2026-11-24T03:00:00Z",
			next: "2026-11-25T02:00:00Z"},
		{name: "listed day before its hour", sched: utc("Tuesday"), now: "2026-11-24T01:00:00Z",
			next: "2026-11-24T02:00:00Z"},
		{name: "Saturday to Sunday", sched: utc("Saturday", "Sunday"), now: "2026-11-28T03:00:00Z",
			active: true, start: "2026-11-28T02:00:00Z", next: "2026-11-29T02:00:00Z"},
		{name: "Sunday to next Saturday", sched: utc("Saturday", "Sunday"), now: "2026-11-29T03:00:00Z",
			active: true, start: "2026-11-29T02:00:00Z", next: "2026-12-05T02:00:00Z"},
		{name: "days are local days: Tuesday 02:30 IST is Monday in UTC",
			sched:  schedule{zone: "Asia/Kolkata", days: []string{"Tuesday"}, hour: 2, hours: 2},
			now:    "2026-11-23T21:00:00Z",
			active: true, start: "2026-11-23T20:30:00Z", next: "2026-11-30T20:30:00Z"},
	})
}

func TestInterruptWindowPastMidnight(t *testing.T) {
	// Europe/London is on GMT (UTC+0) in November; 2026-11-23 is a Monday.
	late := func(days []string, embargo ...string) schedule {
		return schedule{zone: "Europe/London", days: days, hour: 23, hours: 3, embargo: embargo}
	}
	monday := []string{"Monday"}
	checkAt(t, []atCase{
		{name: "open at 01:00 on the next day, which is not listed", sched: late(monday), now: "2026-11-24T01:00:00Z",
			active: true, start: "2026-11-23T23:00:00Z", next: "2026-11-30T23:00:00Z"},
		{name: "open at 01:00 on the next day, which is embargoed", sched: late(monday, "2026-11-24"), now: "2026-11-24T01:00:00Z",
			active: true, start: "2026-11-23T23:00:00Z", next: "2026-11-30T23:00:00Z"},
		{name: "embargo on the start date blocks it after midnight too", sched: late(monday, "2026-11-23"), now: "2026-11-24T01:00:00Z",
			next: "2026-11-30T23:00:00Z"},
		{name: "closed three hours after it opened", sched: late(monday), now: "2026-11-24T02:00:00Z",
			next: "2026-11-30T23:00:00Z"},
		{name: "the unlisted Sunday opens nothing that runs into Monday", sched: late(monday), now: "2026-11-23T01:00:00Z",
			next: "2026-11-23T23:00:00Z"},
		{name: "a listed Sunday opens a window that runs into Monday", sched: late([]string{"Sunday"}), now: "2026-11-23T01:00:00Z",
			active: true, start: "2026-11-22T23:00:00Z", next: "2026-11-29T23:00:00Z"},
	})
}

func TestInterruptWindowEmbargo(t *testing.T) {
	utc := func(embargo ...string) schedule { return schedule{zone: "UTC", hour: 2, hours: 2, embargo: embargo} }
	checkAt(t, []atCase{
		{name: "embargo blocks the window of its date", sched: utc("2026-11-24"), now: "2026-11-24T03:00:00Z",
			next: "2026-11-25T02:00:00Z"},
		{name: "embargo blocks only its own date", sched: utc("2026-11-24"), now: "2026-11-23T03:00:00Z",
			active: true, start: "2026-11-23T02:00:00Z", next: "2026-11-25T02:00:00Z"},
		{name: "consecutive embargo dates are all skipped", sched: utc("2026-11-24", "2026-11-25", "2026-11-26"), now: "2026-11-23T03:00:00Z",
			active: true, start: "2026-11-23T02:00:00Z", next: "2026-11-27T02:00:00Z"},
		{name: "unsorted and repeated embargo dates", sched: utc("2026-11-26", "2026-11-24", "2026-11-25", "2026-11-24"), now: "2026-11-23T03:00:00Z",
			active: true, start: "2026-11-23T02:00:00Z", next: "2026-11-27T02:00:00Z"},
		{name: "embargo on an unlisted day changes nothing",
			sched:  schedule{zone: "UTC", days: []string{"Tuesday"}, hour: 2, hours: 2, embargo: []string{"2026-11-25"}},
			now:    "2026-11-24T03:00:00Z",
			active: true, start: "2026-11-24T02:00:00Z", next: "2026-12-01T02:00:00Z"},
		{name: "embargo date is a local date: 2026-11-24 01:00 in Apia (UTC+13) is 2026-11-23 in UTC",
			sched: schedule{zone: "Pacific/Apia", hour: 1, hours: 2, embargo: []string{"2026-11-24"}},
			now:   "2026-11-23T12:30:00Z",
			next:  "2026-11-24T12:00:00Z"},
	})
}

// TestDSTTransitions2026 pins the transitions TestInterruptWindowDST relies
// on, so that a change in the time zone database fails here, by name,
// rather than as a puzzling window.
func TestDSTTransitions2026(t *testing.T) {
	for _, tc := range []struct {
		zone          string
		at            string // the transition instant
		before, after string // the clock one second before, and at, the transition
	}{
		{"Europe/London", "2026-03-29T01:00:00Z", "2026-03-29 00:59:59 GMT", "2026-03-29 02:00:00 BST"},
		{"Europe/London", "2026-10-25T01:00:00Z", "2026-10-25 01:59:59 BST", "2026-10-25 01:00:00 GMT"},
		{"America/New_York", "2026-03-08T07:00:00Z", "2026-03-08 01:59:59 EST", "2026-03-08 03:00:00 EDT"},
		{"America/New_York", "2026-11-01T06:00:00Z", "2026-11-01 01:59:59 EDT", "2026-11-01 01:00:00 EST"},
		{"Australia/Lord_Howe", "2026-04-04T15:00:00Z", "2026-04-05 01:59:59 +11", "2026-04-05 01:30:00 +1030"},
		{"Australia/Lord_Howe", "2026-10-03T15:30:00Z", "2026-10-04 01:59:59 +1030", "2026-10-04 02:30:00 +11"},
	} {
		t.Run(tc.zone+" "+tc.at, func(t *testing.T) {
			loc, err := time.LoadLocation(tc.zone)
			if err != nil {
				t.Fatal(err)
			}
			at := instant(t, tc.at).In(loc)
			const layout = "2006-01-02 15:04:05 MST"
			if got := at.Add(-time.Second).Format(layout); got != tc.before {
				t.Errorf("one second before: %s, want %s", got, tc.before)
			}
			if got := at.Format(layout); got != tc.after {
				t.Errorf("at the transition: %s, want %s", got, tc.after)
			}
		})
	}
}

func TestInterruptWindowDST(t *testing.T) {
	zone := func(name string, hour, hours float64) schedule {
		return schedule{zone: name, hour: hour, hours: hours}
	}
	london, newYork := zone("Europe/London", 1, 4), zone("America/New_York", 1, 4)
	checkAt(t, []atCase{
		// Europe/London springs forward 2026-03-29 01:00 GMT -> 02:00 BST.
		{name: "London, day before spring forward: opens 01:00 GMT, next opens at the end of the gap", sched: london, now: "2026-03-28T02:00:00Z",
			active: true, start: "2026-03-28T01:00:00Z", next: "2026-03-29T01:00:00Z"},
		{name: "London spring forward: 01:00 does not exist, closed just before the gap", sched: london, now: "2026-03-29T00:59:59Z",
			next: "2026-03-29T01:00:00Z"},
		{name: "London spring forward: opens at 02:00 BST, the first instant after the gap", sched: london, now: "2026-03-29T01:00:00Z",
			active: true, start: "2026-03-29T01:00:00Z", next: "2026-03-30T00:00:00Z"},
		{name: "London spring forward: open until 4 elapsed hours later", sched: london, now: "2026-03-29T04:59:59Z",
			active: true, start: "2026-03-29T01:00:00Z", next: "2026-03-30T00:00:00Z"},
		{name: "London spring forward: closed at 06:00 BST", sched: london, now: "2026-03-29T05:00:00Z",
			next: "2026-03-30T00:00:00Z"},
		// Europe/London falls back 2026-10-25 02:00 BST -> 01:00 GMT.
		{name: "London fall back: opens at the first 01:00 (BST)", sched: london, now: "2026-10-24T23:59:59Z",
			next: "2026-10-25T00:00:00Z"},
		{name: "London fall back: open during the second 01:00 (GMT), from the first", sched: london, now: "2026-10-25T01:30:00Z",
			active: true, start: "2026-10-25T00:00:00Z", next: "2026-10-26T01:00:00Z"},
		{name: "London fall back: open until 4 elapsed hours later", sched: london, now: "2026-10-25T03:59:59Z",
			active: true, start: "2026-10-25T00:00:00Z", next: "2026-10-26T01:00:00Z"},
		{name: "London fall back: closed at 04:00 GMT", sched: london, now: "2026-10-25T04:00:00Z",
			next: "2026-10-26T01:00:00Z"},
		// America/New_York springs forward 2026-03-08 02:00 EST -> 03:00 EDT.
		{name: "New York spring forward: 01:00 EST exists and opens a window across the gap", sched: newYork, now: "2026-03-08T06:00:00Z",
			active: true, start: "2026-03-08T06:00:00Z", next: "2026-03-09T05:00:00Z"},
		{name: "New York spring forward: open until 4 elapsed hours later", sched: newYork, now: "2026-03-08T09:59:59Z",
			active: true, start: "2026-03-08T06:00:00Z", next: "2026-03-09T05:00:00Z"},
		{name: "New York spring forward: closed at 06:00 EDT", sched: newYork, now: "2026-03-08T10:00:00Z",
			next: "2026-03-09T05:00:00Z"},
		{name: "New York spring forward: 02:00 does not exist, closed at 01:59:59 EST", sched: zone("America/New_York", 2, 4), now: "2026-03-08T06:59:59Z",
			next: "2026-03-08T07:00:00Z"},
		{name: "New York spring forward: 02:00 opens at 03:00 EDT, the first instant after the gap", sched: zone("America/New_York", 2, 4), now: "2026-03-08T07:00:00Z",
			active: true, start: "2026-03-08T07:00:00Z", next: "2026-03-09T06:00:00Z"},
		// America/New_York falls back 2026-11-01 02:00 EDT -> 01:00 EST.
		{name: "New York fall back: opens at the first 01:00 (EDT)", sched: newYork, now: "2026-11-01T04:59:59Z",
			next: "2026-11-01T05:00:00Z"},
		{name: "New York fall back: open during the second 01:00 (EST), from the first", sched: newYork, now: "2026-11-01T06:30:00Z",
			active: true, start: "2026-11-01T05:00:00Z", next: "2026-11-02T06:00:00Z"},
		{name: "New York fall back: closed at 04:00 EST, 4 elapsed hours later", sched: newYork, now: "2026-11-01T09:00:00Z",
			next: "2026-11-02T06:00:00Z"},
		// Australia/Lord_Howe moves by 30 minutes: 2026-10-04 02:00 -> 02:30
		// (+1030 -> +11) and 2026-04-05 02:00 -> 01:30 (+11 -> +1030).
		{name: "Lord Howe spring forward: 02:00 does not exist, closed just before the gap", sched: zone("Australia/Lord_Howe", 2, 1), now: "2026-10-03T15:29:59Z",
			next: "2026-10-03T15:30:00Z"},
		{name: "Lord Howe spring forward: 02:00 opens at 02:30 and lasts one elapsed hour", sched: zone("Australia/Lord_Howe", 2, 1), now: "2026-10-03T16:29:59Z",
			active: true, start: "2026-10-03T15:30:00Z", next: "2026-10-04T15:00:00Z"},
		{name: "Lord Howe fall back: 01:00 +11 for one elapsed hour is open at 01:29:59 +1030", sched: zone("Australia/Lord_Howe", 1, 1), now: "2026-04-04T14:59:59Z",
			active: true, start: "2026-04-04T14:00:00Z", next: "2026-04-05T14:30:00Z"},
		{name: "Lord Howe fall back: closed at 01:30 +1030", sched: zone("Australia/Lord_Howe", 1, 1), now: "2026-04-04T15:00:00Z",
			next: "2026-04-05T14:30:00Z"},
	})
}

// TestInterruptWindowHistoricClocks covers clock changes no zone makes
// today but some made in living memory, which the rules must still handle:
// a fall-back that crosses midnight, so that a date's window opens while
// the clock will still read the day before again, and a date that never
// happened.
func TestInterruptWindowHistoricClocks(t *testing.T) {
	checkAt(t, []atCase{
		// America/St_Johns fell back 2010-11-07 00:01 -0230 -> 2010-11-06 23:01 -0330.
		{name: "St John's: Sunday's 00:00 window is open when the clock reads Saturday 23:14 again",
			sched:  schedule{zone: "America/St_Johns", days: []string{"Sunday"}, hour: 0, hours: 1},
			now:    "2010-11-07T02:45:00Z",
			active: true, start: "2010-11-07T02:30:00Z", next: "2010-11-14T03:30:00Z"},
		{name: "St John's: Saturday's 00:00 window is not",
			sched: schedule{zone: "America/St_Johns", days: []string{"Saturday"}, hour: 0, hours: 1},
			now:   "2010-11-07T02:45:00Z",
			next:  "2010-11-13T03:30:00Z"},
		// Antarctica/Casey went back three hours, 2010-03-05 02:00 +11 -> 2010-03-04 23:00 +08.
		{name: "Casey: 2010-03-05's window is open when the clock reads 2010-03-04 23:30 again",
			sched:  schedule{zone: "Antarctica/Casey", hour: 0, hours: 4},
			now:    "2010-03-04T15:30:00Z",
			active: true, start: "2010-03-04T13:00:00Z", next: "2010-03-05T16:00:00Z"},
		// Pacific/Apia skipped 2011-12-30: 2011-12-29 23:59:59 -10 -> 2011-12-31 00:00 +14.
		{name: "Apia: the window of a date that never happened opens when the clock jumps past it",
			sched: schedule{zone: "Pacific/Apia", days: []string{"Friday"}, hour: 10, hours: 2},
			now:   "2011-12-30T09:59:59Z",
			next:  "2011-12-30T10:00:00Z"},
		{name: "Apia: and lasts its elapsed duration",
			sched:  schedule{zone: "Pacific/Apia", days: []string{"Friday"}, hour: 10, hours: 2},
			now:    "2011-12-30T11:59:59Z",
			active: true, start: "2011-12-30T10:00:00Z", next: "2012-01-05T20:00:00Z"},
	})
}

func TestInterruptWindow24Hours(t *testing.T) {
	daily := func(days []string, embargo ...string) schedule {
		return schedule{zone: "Europe/London", days: days, hour: 0, hours: 24, embargo: embargo}
	}
	checkAt(t, []atCase{
		{name: "back to back: the new window opens as the old one closes", sched: daily(nil), now: "2026-11-24T00:00:00Z",
			active: true, start: "2026-11-24T00:00:00Z", next: "2026-11-25T00:00:00Z"},
		{name: "back to back: a nanosecond earlier it is the old one", sched: daily(nil), now: "2026-11-23T23:59:59.999999999Z",
			active: true, start: "2026-11-23T00:00:00Z", next: "2026-11-24T00:00:00Z"},
		{name: "23-hour day: two windows overlap and the later start wins", sched: daily(nil), now: "2026-03-29T23:30:00Z",
			active: true, start: "2026-03-29T23:00:00Z", next: "2026-03-30T23:00:00Z"},
		{name: "23-hour day: the earlier window when the later one's day is not listed", sched: daily([]string{"Sunday"}), now: "2026-03-29T23:30:00Z",
			active: true, start: "2026-03-29T00:00:00Z", next: "2026-04-04T23:00:00Z"},
		{name: "23-hour day: the earlier window when the later one's date is embargoed", sched: daily(nil, "2026-03-30"), now: "2026-03-29T23:30:00Z",
			active: true, start: "2026-03-29T00:00:00Z", next: "2026-03-30T23:00:00Z"},
		{name: "25-hour day: its last hour is in no window", sched: daily(nil), now: "2026-10-25T23:30:00Z",
			next: "2026-10-26T00:00:00Z"},
	})
}

// TestInterruptWindow24HoursCoverEveryInstant checks that daily 24-hour
// windows leave no gap away from DST transitions, and that Start is always
// the most recent start.
func TestInterruptWindow24HoursCoverEveryInstant(t *testing.T) {
	for _, zone := range []string{"UTC", "Europe/London", "America/New_York", "Asia/Kolkata"} {
		t.Run(zone, func(t *testing.T) {
			w := mustWindow(t, schedule{zone: zone, hour: 5, hours: 24})
			from := instant(t, "2026-11-10T00:00:00Z")
			for now := from; now.Before(from.Add(14 * 24 * time.Hour)); now = now.Add(7*time.Minute + 13*time.Second) {
				st := w.at(now)
				local := now.In(w.loc)
				wantDay := local.Day()
				if local.Hour() < 5 {
					wantDay--
				}
				wantStart := time.Date(local.Year(), local.Month(), wantDay, 5, 0, 0, 0, w.loc)
				if !st.Active || !st.Start.Equal(wantStart) || !st.NextStart.Equal(wantStart.AddDate(0, 0, 1)) {
					t.Fatalf("at(%s) = active %v, start %s, next %s; want active, start %s, next a day later",
						show(now), st.Active, show(st.Start), show(st.NextStart), show(wantStart))
				}
			}
		})
	}
}

func TestInterruptWindowBoundaries(t *testing.T) {
	utc := schedule{zone: "UTC", hour: 2, hours: 2}
	checkAt(t, []atCase{
		{name: "a nanosecond before the start", sched: utc, now: "2026-11-24T01:59:59.999999999Z",
			next: "2026-11-24T02:00:00Z"},
		{name: "at the start", sched: utc, now: "2026-11-24T02:00:00Z",
			active: true, start: "2026-11-24T02:00:00Z", next: "2026-11-25T02:00:00Z"},
		{name: "half a second after the start", sched: utc, now: "2026-11-24T02:00:00.5Z",
			active: true, start: "2026-11-24T02:00:00Z", next: "2026-11-25T02:00:00Z"},
		{name: "a nanosecond before the end", sched: utc, now: "2026-11-24T03:59:59.999999999Z",
			active: true, start: "2026-11-24T02:00:00Z", next: "2026-11-25T02:00:00Z"},
		{name: "at the end", sched: utc, now: "2026-11-24T04:00:00Z",
			next: "2026-11-25T02:00:00Z"},
		{name: "hour 0 opens at local midnight", sched: schedule{zone: "Europe/London", hour: 0, hours: 1}, now: "2026-11-24T00:00:00Z",
			active: true, start: "2026-11-24T00:00:00Z", next: "2026-11-25T00:00:00Z"},
		{name: "hour 23 opens at 23:00", sched: schedule{zone: "UTC", hour: 23, hours: 1}, now: "2026-11-24T23:00:00Z",
			active: true, start: "2026-11-24T23:00:00Z", next: "2026-11-25T23:00:00Z"},
		{name: "before 1970, where Unix time is negative", sched: utc, now: "1969-12-31T02:00:00.5Z",
			active: true, start: "1969-12-31T02:00:00Z", next: "1970-01-01T02:00:00Z"},
		{name: "before 1970, a nanosecond before the start", sched: utc, now: "1969-12-31T01:59:59.999999999Z",
			next: "1969-12-31T02:00:00Z"},
	})
}

func TestInterruptWindowHorizon(t *testing.T) {
	// dates returns the count dates from first on, every step days.
	dates := func(first string, count, step int) []string {
		d := instant(t, first+"T00:00:00Z")
		var out []string
		for range count {
			out = append(out, d.Format(time.DateOnly))
			d = d.AddDate(0, 0, step)
		}
		return out
	}
	checkAt(t, []atCase{
		{name: "every date of the horizon embargoed: no next start, the current window still open",
			sched:  schedule{zone: "UTC", hour: 2, hours: 2, embargo: dates("2026-11-25", windowHorizonDays, 1)},
			now:    "2026-11-24T03:00:00Z",
			active: true, start: "2026-11-24T02:00:00Z"},
		{name: "the last date of the horizon is still found",
			sched:  schedule{zone: "UTC", hour: 2, hours: 2, embargo: dates("2026-11-25", windowHorizonDays-1, 1)},
			now:    "2026-11-24T03:00:00Z",
			active: true, start: "2026-11-24T02:00:00Z", next: "2027-12-29T02:00:00Z"},
		{name: "every listed day of the horizon embargoed",
			sched: schedule{zone: "UTC", days: []string{"Monday"}, hour: 2, hours: 2, embargo: dates("2026-11-30", 60, 7)},
			now:   "2026-11-24T03:00:00Z"},
	})
}

func TestNewInterruptWindowAccepts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sched schedule
	}{
		{"hour 0 for 1 hour", schedule{zone: "UTC", hour: 0, hours: 1}},
		{"hour 23 for 24 hours", schedule{zone: "UTC", hour: 23, hours: 24}},
		{"negative zero hour", schedule{zone: "UTC", hour: math.Copysign(0, -1), hours: 1}},
		{"every day named, some twice", schedule{zone: "Europe/London", days: append(allDays, "Monday"), hour: 3, hours: 4}},
		{"empty lists", schedule{zone: "America/New_York", days: []string{}, hour: 3, hours: 4, embargo: []string{}}},
		{"leap day embargo", schedule{zone: "UTC", hour: 3, hours: 4, embargo: []string{"2028-02-29"}}},
		{"Etc zone", schedule{zone: "Etc/GMT+5", hour: 3, hours: 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := newInterruptWindow(tc.sched.connector(), time.LoadLocation); err != nil {
				t.Errorf("newInterruptWindow(%+v): %v", tc.sched, err)
			}
		})
	}
}

func TestNewInterruptWindowErrors(t *testing.T) {
	ok := schedule{zone: "Europe/London", days: []string{"Monday"}, hour: 2, hours: 4, embargo: []string{"2026-12-25"}}
	for _, tc := range []struct {
		name   string
		change func(*schedule)
		want   string // the error must contain it
	}{
		{"unknown zone", func(s *schedule) { s.zone = "Mars/Olympus_Mons" }, `timezone "Mars/Olympus_Mons" is not an IANA time zone name`},
		{"empty zone", func(s *schedule) { s.zone = "" }, "timezone is empty"},
		{"Local is the exporter's zone, not the connector's", func(s *schedule) { s.zone = "Local" }, `timezone "Local" is not an IANA time zone name`},
		{"zone with a path", func(s *schedule) { s.zone = "../etc/passwd" }, `timezone "../etc/passwd"`},
		{"lower-case day", func(s *schedule) { s.days = []string{"Monday", "tuesday"} }, `interrupt_window_days_of_week: "tuesday" is not one of Sunday`},
		{"abbreviated day", func(s *schedule) { s.days = []string{"Mon"} }, `interrupt_window_days_of_week: "Mon"`},
		{"day with a space", func(s *schedule) { s.days = []string{" Monday"} }, `interrupt_window_days_of_week: " Monday"`},
		{"empty day", func(s *schedule) { s.days = []string{""} }, `interrupt_window_days_of_week: ""`},
		{"hour 24", func(s *schedule) { s.hour = 24 }, "interrupt_window_hour_of_day 24 is not a whole hour from 0 to 23"},
		{"negative hour", func(s *schedule) { s.hour = -1 }, "interrupt_window_hour_of_day -1 is not"},
		{"half hour", func(s *schedule) { s.hour = 1.5 }, "interrupt_window_hour_of_day 1.5 is not"},
		{"NaN hour", func(s *schedule) { s.hour = math.NaN() }, "interrupt_window_hour_of_day NaN is not"},
		{"infinite hour", func(s *schedule) { s.hour = math.Inf(1) }, "interrupt_window_hour_of_day +Inf is not"},
		{"zero duration, as when the field is missing", func(s *schedule) { s.hours = 0 }, "interrupt_window_duration_hours 0 is not a whole number of hours from 1 to 24"},
		{"25 hours", func(s *schedule) { s.hours = 25 }, "interrupt_window_duration_hours 25 is not"},
		{"half an hour", func(s *schedule) { s.hours = 0.5 }, "interrupt_window_duration_hours 0.5 is not"},
		{"two and a half hours", func(s *schedule) { s.hours = 2.5 }, "interrupt_window_duration_hours 2.5 is not"},
		{"NaN hours", func(s *schedule) { s.hours = math.NaN() }, "interrupt_window_duration_hours NaN is not"},
		{"month 13", func(s *schedule) { s.embargo = []string{"2026-13-01"} }, `interrupt_window_embargo_dates: "2026-13-01" is not a calendar date in YYYY-MM-DD form`},
		{"30 February", func(s *schedule) { s.embargo = []string{"2026-02-30"} }, `interrupt_window_embargo_dates: "2026-02-30"`},
		{"29 February of a common year", func(s *schedule) { s.embargo = []string{"2027-02-29"} }, `interrupt_window_embargo_dates: "2027-02-29"`},
		{"single-digit month", func(s *schedule) { s.embargo = []string{"2026-1-05"} }, `interrupt_window_embargo_dates: "2026-1-05"`},
		{"two-digit year", func(s *schedule) { s.embargo = []string{"26-01-05"} }, `interrupt_window_embargo_dates: "26-01-05"`},
		{"timestamp", func(s *schedule) { s.embargo = []string{"2026-01-05T00:00:00Z"} }, `interrupt_window_embargo_dates: "2026-01-05T00:00:00Z"`},
		{"day first", func(s *schedule) { s.embargo = []string{"25/12/2026"} }, `interrupt_window_embargo_dates: "25/12/2026"`},
		{"empty date", func(s *schedule) { s.embargo = []string{"2026-12-24", ""} }, `interrupt_window_embargo_dates: ""`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := ok
			tc.change(&s)
			_, err := newInterruptWindow(s.connector(), time.LoadLocation)
			if err == nil {
				t.Fatalf("newInterruptWindow(%+v) succeeded, want an error containing %q", s, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
	// The unchanged schedule is valid, so each error above is due to its change.
	if _, err := newInterruptWindow(ok.connector(), time.LoadLocation); err != nil {
		t.Fatalf("the base schedule is invalid: %v", err)
	}
}

func TestInterruptWindowAtDoesNotAllocate(t *testing.T) {
	w := mustWindow(t, schedule{zone: "Europe/London", days: []string{"Monday", "Friday"}, hour: 1, hours: 4, embargo: []string{"2026-03-30"}})
	now := instant(t, "2026-03-29T23:30:00Z")
	if allocs := testing.AllocsPerRun(100, func() { w.at(now) }); allocs != 0 {
		t.Errorf("at allocates %v times per call, want 0", allocs)
	}
}

// fuzzZones are the zones FuzzInterruptWindow picks from: DST of an hour in
// both hemispheres' senses, DST of 30 minutes, a half-hour offset without
// DST, a zone that dropped DST in 2021, and UTC. Every offset and every
// transition of theirs from 2020 to 2035 falls on a quarter hour, which
// refStart relies on.
var fuzzZones = []string{"Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "Pacific/Apia", "UTC"}

// FuzzInterruptWindow checks at against a brute-force reading of the rules
// (refStart, refAllowed) and against the invariants any answer must keep.
func FuzzInterruptWindow(f *testing.F) {
	unix := func(s string) int64 { return instant(f, s).Unix() }
	// hour, duration, day-of-week bit mask (bit 0 Sunday; 0 means every
	// day), three embargo dates as offsets from now's local date, zone
	// index into fuzzZones, and now in Unix seconds.
	f.Add(uint8(1), uint8(4), uint8(0), int8(0), int8(0), int8(0), uint8(0), unix("2026-03-29T01:00:00Z"))     // London spring gap
	f.Add(uint8(1), uint8(4), uint8(0), int8(0), int8(0), int8(0), uint8(0), unix("2026-10-25T01:30:00Z"))     // London second 01:00
	f.Add(uint8(2), uint8(4), uint8(0), int8(0), int8(0), int8(0), uint8(1), unix("2026-03-08T07:00:00Z"))     // New York spring gap
	f.Add(uint8(1), uint8(4), uint8(0), int8(0), int8(0), int8(0), uint8(1), unix("2026-11-01T06:30:00Z"))     // New York second 01:00
	f.Add(uint8(2), uint8(1), uint8(0), int8(0), int8(0), int8(0), uint8(2), unix("2026-10-03T15:30:00Z"))     // Lord Howe 30-minute gap
	f.Add(uint8(1), uint8(1), uint8(0), int8(0), int8(0), int8(0), uint8(2), unix("2026-04-04T14:59:59Z"))     // Lord Howe fall back
	f.Add(uint8(2), uint8(2), uint8(1<<2), int8(0), int8(0), int8(0), uint8(3), unix("2026-11-23T21:00:00Z"))  // Kolkata, Tuesday only
	f.Add(uint8(3), uint8(2), uint8(0), int8(1), int8(0), int8(0), uint8(4), unix("2021-04-04T14:00:00Z"))     // Apia's last fall back
	f.Add(uint8(0), uint8(24), uint8(0), int8(0), int8(0), int8(0), uint8(0), unix("2026-03-29T23:30:00Z"))    // 24 h windows overlap
	f.Add(uint8(0), uint8(24), uint8(1), int8(0), int8(0), int8(0), uint8(0), unix("2026-03-29T23:30:00Z"))    // overlap, Sunday only
	f.Add(uint8(0), uint8(24), uint8(0), int8(0), int8(0), int8(0), uint8(0), unix("2026-10-25T23:30:00Z"))    // 25 h day
	f.Add(uint8(23), uint8(3), uint8(1<<1), int8(0), int8(1), int8(0), uint8(0), unix("2026-11-24T01:00:00Z")) // past midnight into an embargo
	f.Add(uint8(23), uint8(3), uint8(1<<1), int8(-1), int8(0), int8(0), uint8(0), unix("2026-11-24T01:00:00Z"))
	f.Add(uint8(2), uint8(2), uint8(0), int8(0), int8(1), int8(2), uint8(5), unix("2026-11-24T02:00:00Z")) // embargoes, at a start
	f.Add(uint8(2), uint8(2), uint8(0), int8(0), int8(0), int8(0), uint8(5), unix("2026-11-24T04:00:00Z")) // at an end

	locs := make([]*time.Location, len(fuzzZones))
	for i, z := range fuzzZones {
		loc, err := time.LoadLocation(z)
		if err != nil {
			f.Fatal(err)
		}
		locs[i] = loc
	}
	lo, hi := unix("2020-01-01T00:00:00Z"), unix("2035-12-31T00:00:00Z")

	f.Fuzz(func(t *testing.T, hour, duration, dayMask uint8, e1, e2, e3 int8, zone uint8, nowUnix int64) {
		hour %= 24
		duration = duration%24 + 1
		dayMask &= 1<<7 - 1
		loc := locs[int(zone)%len(locs)]
		now := time.Unix(lo+((nowUnix%(hi-lo))+(hi-lo))%(hi-lo), 0)

		today := refDay(now, loc)
		s := schedule{zone: loc.String(), hour: float64(hour), hours: float64(duration)}
		for d := range 7 {
			if dayMask&(1<<d) != 0 {
				s.days = append(s.days, time.Weekday(d).String())
			}
		}
		embargo := map[int64]bool{}
		for _, e := range []int8{e1, e2, e3} {
			d := today + int64(e%8)
			embargo[d] = true
			s.embargo = append(s.embargo, time.Unix(d*secondsPerDay, 0).UTC().Format(time.DateOnly))
		}
		allowed := func(d int64) bool {
			wd := time.Unix(d*secondsPerDay, 0).UTC().Weekday()
			return (dayMask == 0 || dayMask&(1<<wd) != 0) && !embargo[d]
		}
		dur := time.Duration(duration) * time.Hour

		w := mustWindow(t, s)
		got := w.at(now)
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("%+v at %s: got active %v, start %s, next %s: "+format,
				append([]any{s, show(now.In(loc)), got.Active, show(got.Start.In(loc)), show(got.NextStart.In(loc))}, args...)...)
		}

		// Invariants that hold whatever the rules.
		if got.Duration != dur {
			fail("Duration %v, want %v", got.Duration, dur)
		}
		if !got.NextStart.IsZero() && !got.NextStart.After(now) {
			fail("NextStart is not after now")
		}
		if got.Active && (got.Start.After(now) || !now.Before(got.Start.Add(dur))) {
			fail("active, but now is not in [Start, Start+Duration)")
		}
		if !got.Active && !got.Start.IsZero() {
			fail("not active, but Start is set")
		}
		if !got.NextStart.IsZero() {
			// The date whose window opens at NextStart: the clock reads
			// hour:00 then, or later if NextStart ends a DST gap.
			d := floorDiv(refWall(got.NextStart, loc)-int64(hour)*secondsPerHour, secondsPerDay)
			if !allowed(d) {
				fail("NextStart opens the window of %s, which is not allowed", time.Unix(d*secondsPerDay, 0).UTC().Format("Monday 2006-01-02"))
			}
			if want := refStart(d, int(hour), loc); !got.NextStart.Equal(want) {
				fail("NextStart opens the window of %s, which opens at %s", time.Unix(d*secondsPerDay, 0).UTC().Format(time.DateOnly), show(want.In(loc)))
			}
		}

		// The brute-force answer. Starts never decrease from date to date,
		// so the first allowed date that starts after now gives NextStart,
		// and the latest allowed start at or before now whose window has
		// not closed gives Start.
		var wantStart, wantNext time.Time
		for d := today - 3; d <= today+60 && wantNext.IsZero(); d++ {
			if !allowed(d) {
				continue
			}
			start := refStart(d, int(hour), loc)
			switch {
			case start.After(now):
				wantNext = start
			case now.Before(start.Add(dur)):
				wantStart = start
			}
		}
		if got.Active != !wantStart.IsZero() || !got.Start.Equal(wantStart) {
			fail("want Start %s", show(wantStart.In(loc)))
		}
		if !got.NextStart.Equal(wantNext) {
			fail("want NextStart %s", show(wantNext.In(loc)))
		}
	})
}

// refDay is the day number of t's local date in loc.
func refDay(t time.Time, loc *time.Location) int64 {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / secondsPerDay
}

// refWall is what loc's clock reads at t, as Unix seconds of that reading
// taken as UTC.
func refWall(t time.Time, loc *time.Location) int64 {
	l := t.In(loc)
	y, m, d := l.Date()
	h, mi, s := l.Clock()
	return time.Date(y, m, d, h, mi, s, 0, time.UTC).Unix()
}

// refStart is the rule itself, by brute force: the first quarter hour at
// which loc's clock reads the date day at hour:00 or later. It is exact for
// zones whose offsets and transitions fall on quarter hours (fuzzZones).
func refStart(day int64, hour int, loc *time.Location) time.Time {
	wall := day*secondsPerDay + int64(hour)*secondsPerHour
	t := time.Unix(wall-16*secondsPerHour, 0)
	for refWall(t, loc) < wall {
		t = t.Add(15 * time.Minute)
	}
	return t
}

func BenchmarkInterruptWindowAt(b *testing.B) {
	w := mustWindow(b, schedule{
		zone:    "Europe/London",
		days:    []string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday"},
		hour:    2,
		hours:   4,
		embargo: []string{"2026-12-24", "2026-12-25", "2026-12-31", "2027-01-01"},
	})
	// Instants spread over a year, so that some fall in windows and some
	// near DST transitions, as a fleet's scrapes would.
	nows := make([]time.Time, 1024)
	for i := range nows {
		nows[i] = instant(b, "2026-01-01T00:00:00Z").Add(time.Duration(i)*8*time.Hour + 37*time.Minute)
	}
	b.ReportAllocs()
	active := 0
	for i := 0; b.Loop(); i++ {
		if w.at(nows[i%len(nows)]).Active {
			active++
		}
	}
	_ = active
}

func BenchmarkNewInterruptWindow(b *testing.B) {
	c := schedule{zone: "Europe/London", days: []string{"Monday", "Friday"}, hour: 2, hours: 4, embargo: []string{"2026-12-24", "2026-12-25"}}.connector()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := newInterruptWindow(c, time.LoadLocation); err != nil {
			b.Fatal(err)
		}
	}
}
