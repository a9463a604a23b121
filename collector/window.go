package collector

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	// The time zone database is compiled into the binary so that an image
	// without /usr/share/zoneinfo (scratch, distroless) still knows every
	// connector's zone and computes the same windows as a full OS image. An
	// installed system database, when present, still takes precedence.
	_ "time/tzdata"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
)

const (
	secondsPerHour = 60 * 60
	secondsPerDay  = 24 * secondsPerHour

	// windowHorizonDays bounds the search for the next allowed window, so
	// that a schedule whose every date is blocked (by the day list and the
	// embargo dates together) ends the search instead of looping.
	windowHorizonDays = 400

	// maxZoneOffset exceeds the largest UTC offset of any zone, past or
	// present (the most extreme, local mean times of the 19th century, are
	// within 16 h), so the local clock reads before W at every instant
	// earlier than W-maxZoneOffset.
	maxZoneOffset = 26 * secondsPerHour
)

// interruptWindow is a connector's schedule of upgrade (interrupt) windows,
// parsed and checked once by newInterruptWindow so that at does no parsing.
// The zero value is not usable.
//
// A window is identified by the local calendar date on which it starts. On
// every allowed date it opens at hour:00 local time and stays open for
// duration of elapsed time, however many DST transitions or midnights it
// crosses; the day-of-week and embargo checks look at its start date only.
//
// Local dates are held as day numbers: whole days since 1970-01-01 of the
// proleptic Gregorian calendar, so that date arithmetic is integer
// arithmetic and the weekday is the day number modulo 7.
type interruptWindow struct {
	loc *time.Location
	// days has bit time.Weekday set for every allowed day of the week; an
	// empty day list in the API sets all seven.
	days uint8
	// hour is the local start hour, in seconds after local midnight.
	hour int64
	// duration is the window length in seconds.
	duration int64
	// embargo holds the embargoed dates as sorted, distinct day numbers.
	embargo []int64
}

// windowState is a connector's interrupt window as seen at one instant.
type windowState struct {
	// Active is true when an allowed window contains the instant.
	Active bool
	// Start is the start of the window containing the instant; when two
	// windows do (24 h windows around a 23 h day), the later one. Zero
	// unless Active.
	Start time.Time
	// NextStart is the first allowed window start strictly after the
	// instant, or zero if every date within windowHorizonDays is blocked.
	NextStart time.Time
	// Duration is the length of every window.
	Duration time.Duration
}

// parseWeekday returns the day of the week the API calls name. Names match
// exactly as the API documents them, Sunday..Saturday: "monday" or "Mon" is
// an error, not a guess, because we cannot know whether the connector itself
// honours a spelling the API does not document, and a wrong guess would make
// the window metrics claim windows the connector never opens.
func parseWeekday(name string) (time.Weekday, bool) {
	for d := time.Sunday; d <= time.Saturday; d++ {
		if name == d.String() {
			return d, true
		}
	}
	return 0, false
}

// newInterruptWindow parses and checks c's interrupt window fields. Its
// error names the API field that is wrong, quotes the bad value and says
// what was expected. A day listed twice is accepted (the list is a set);
// so are duplicate embargo dates.
//
// loadLocation resolves the time zone; the exporter passes a cache, since
// time.LoadLocation parses the zone database on every call.
func newInterruptWindow(c *api.Connector, loadLocation func(string) (*time.Location, error)) (interruptWindow, error) {
	var w interruptWindow

	switch c.Timezone {
	case "":
		return w, errors.New("timezone is empty, want an IANA time zone name such as \"Europe/London\"")
	case "Local":
		// time.LoadLocation would answer with the exporter's own zone.
		return w, errors.New("timezone \"Local\" is not an IANA time zone name")
	}
	loc, err := loadLocation(c.Timezone)
	if err != nil {
		return w, fmt.Errorf("timezone %q is not an IANA time zone name known to this exporter: %w", c.Timezone, err)
	}
	w.loc = loc

	if len(c.InterruptWindowDaysOfWeek) == 0 {
		w.days = 1<<7 - 1
	}
	for _, name := range c.InterruptWindowDaysOfWeek {
		d, ok := parseWeekday(name)
		if !ok {
			return interruptWindow{}, fmt.Errorf("interrupt_window_days_of_week: %q is not one of Sunday, Monday, Tuesday, Wednesday, Thursday, Friday, Saturday (spelt exactly so)", name)
		}
		w.days |= 1 << d
	}

	h := c.InterruptWindowHourOfDay
	if !(h >= 0 && h <= 23) || h != math.Trunc(h) {
		return interruptWindow{}, fmt.Errorf("interrupt_window_hour_of_day %v is not a whole hour from 0 to 23", h)
	}
	w.hour = int64(h) * secondsPerHour

	d := c.InterruptWindowDurationHours
	if !(d >= 1 && d <= 24) || d != math.Trunc(d) {
		return interruptWindow{}, fmt.Errorf("interrupt_window_duration_hours %v is not a whole number of hours from 1 to 24", d)
	}
	w.duration = int64(d) * secondsPerHour

	for _, s := range c.InterruptWindowEmbargoDates {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return interruptWindow{}, fmt.Errorf("interrupt_window_embargo_dates: %q is not a calendar date in YYYY-MM-DD form", s)
		}
		w.embargo = append(w.embargo, t.Unix()/secondsPerDay)
	}
	slices.Sort(w.embargo)
	w.embargo = slices.Compact(w.embargo)
	return w, nil
}

// at returns the window state at now. It does not allocate.
func (w interruptWindow) at(now time.Time) windowState {
	st := windowState{Duration: time.Duration(w.duration) * time.Second}
	// Window starts are whole seconds, so comparing them with now's whole
	// seconds (Unix rounds down) keeps start <= now < end exact.
	n := now.Unix()

	// Find the last date whose window starts at or before now. Starts never
	// decrease from one date to the next, and the date is usually today's or
	// yesterday's local date, but zones that fall back across midnight can
	// make it tomorrow's, hence both loops.
	day := w.localDay(now)
	start := w.start(day)
	next := w.start(day + 1)
	for next <= n {
		day, start, next = day+1, next, w.start(day+2)
	}
	for start > n {
		day, next, start = day-1, start, w.start(day-1)
	}

	// The window that contains now, if any, is the latest allowed one that
	// has not yet ended. All windows last as long, so once one has ended so
	// have all earlier ones.
	for d, s := day, start; s+w.duration > n; d-- {
		if w.allowed(d) {
			st.Active, st.Start = true, time.Unix(s, 0).In(w.loc)
			break
		}
		s = w.start(d - 1)
	}

	// Every date after day starts strictly after now, so the next window is
	// that of the first allowed date after day.
	for d := day + 1; d <= day+windowHorizonDays; d++ {
		if w.allowed(d) {
			if d == day+1 {
				st.NextStart = time.Unix(next, 0).In(w.loc)
			} else {
				st.NextStart = time.Unix(w.start(d), 0).In(w.loc)
			}
			break
		}
	}
	return st
}

// allowed reports whether a window may start on the local date day: its
// day of the week is listed and it is not embargoed.
func (w interruptWindow) allowed(day int64) bool {
	weekday := ((day+int64(time.Thursday))%7 + 7) % 7 // 1970-01-01 was a Thursday
	if w.days&(1<<weekday) == 0 {
		return false
	}
	_, embargoed := slices.BinarySearch(w.embargo, day)
	return !embargoed
}

// localDay returns the day number of t's local date in the window's zone.
func (w interruptWindow) localDay(t time.Time) int64 {
	_, offset := t.In(w.loc).Zone()
	return floorDiv(t.Unix()+int64(offset), secondsPerDay)
}

// start returns, in Unix seconds, when the window of the local date day
// opens: the first instant at which the zone's clock reads that date at
// hour:00 or later.
//
// That one rule settles both daylight-saving cases. A wall time that does
// not exist (it falls in a spring-forward gap) opens the window at the first
// instant after the gap, when the clock jumps past it. A wall time that
// happens twice (fall-back) opens it at its first occurrence. time.Date
// leaves both cases unspecified, so this walks the zone's periods of
// constant UTC offset explicitly, in time order, and returns the first
// instant in a period whose clock reaches the wall time.
func (w interruptWindow) start(day int64) int64 {
	wall := day*secondsPerDay + w.hour // the wall time, as if the zone were UTC
	from := wall - maxZoneOffset
	for {
		t := time.Unix(from, 0).In(w.loc)
		_, offset := t.Zone()
		_, end := t.ZoneBounds()
		// Within this period the clock reads wall at wall-offset; if that
		// instant is before the period, the clock jumped past wall when the
		// period began. If it is after the period, try the next period,
		// unless this one never ends (or, defensively, would not move the
		// walk forward).
		at := max(wall-int64(offset), from)
		if end.IsZero() || at < end.Unix() || end.Unix() <= from {
			return at
		}
		from = end.Unix()
	}
}

// floorDiv is a divided by b rounded towards minus infinity, for b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}

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
