package poll

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrBudget is the error of a call the budget guard skipped when there was
// no earlier answer to serve instead.
var ErrBudget = errors.New("API budget guard: call skipped, the exporter's share of the Cloudflare rate limit is spent (see --cloudflare.budget-share)")

// Budget is the exporter's share of one Cloudflare rate limit (REST: 1,200
// calls per 5 minutes per user; GraphQL: 300), whatever the number of
// scrapers: anyone who reaches the port could otherwise spend the whole
// user's limit, shared with its dashboard sessions and other tools.
//
// It allows at most a tenth of the share in any sliding tenth of the
// window (60 calls in any 30 s for half of 1,200 per 5 minutes): a burst of
// scrapers cannot spend the window's share in seconds, and since every
// window is ten such slices, no window ever holds more than the share.
type Budget struct {
	span time.Duration
	now  func() time.Time

	mu sync.Mutex
	// calls is a ring of the times of the latest calls allowed; head is
	// the oldest once the ring is full.
	calls      []time.Time
	head, n    int
	denied     float64
	lastDenied time.Time
	// demand is the calls a scrape of every account makes (SetDemand).
	demand int
}

// NewBudget returns a budget of share calls per window; now defaults to
// time.Now. A share below 10 still allows one call per slice.
func NewBudget(share int, window time.Duration, now func() time.Time) *Budget {
	if now == nil {
		now = time.Now
	}
	return &Budget{span: window / 10, now: now, calls: make([]time.Time, max(share/10, 1))}
}

// Take reports whether a call may be made now, and counts it if so.
func (b *Budget) Take() bool {
	if b == nil {
		return true
	}
	return b.take(len(b.calls))
}

// TakeLow is Take for calls that can wait (telemetry refreshes): they may
// use three quarters of the slice, leaving the rest to the list calls
// scrapes are waiting on.
func (b *Budget) TakeLow() bool {
	if b == nil {
		return true
	}
	return b.take(max(len(b.calls)*3/4, 1))
}

func (b *Budget) take(limit int) bool {
	ok, _ := b.takeOr(limit, true)
	return ok
}

// TakeN takes n calls at once, or none: the calls of one account, so that
// the budget serves an account whole or not at all. Refused, they count
// as n calls skipped.
func (b *Budget) TakeN(n int) bool {
	if b == nil {
		return true
	}
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.forgetLocked(now)
	if b.n+n > len(b.calls) {
		b.denied += float64(n)
		b.lastDenied = now
		return false
	}
	for range n {
		b.calls[(b.head+b.n)%len(b.calls)] = now
		b.n++
	}
	return true
}

// Refund gives back n calls taken and not made: the latest ones.
func (b *Budget) Refund(n int) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n -= min(n, b.n)
}

// Wait takes a call as Take does, waiting for the budget to allow one if
// it does not now, until ctx ends: for calls that must be made, but not
// at once (account discovery's pages). A call waiting is not a call
// skipped.
func (b *Budget) Wait(ctx context.Context) error {
	if b == nil {
		return nil
	}
	for {
		ok, wait := b.takeOr(len(b.calls), false)
		if ok {
			return nil
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("waiting for the API budget: %w", ctx.Err())
		}
	}
}

// takeOr takes a call if fewer than limit were made in the slice;
// otherwise it says how long until the oldest leaves the slice, and counts
// the call as skipped when skip is set.
func (b *Budget) takeOr(limit int, skip bool) (bool, time.Duration) {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.forgetLocked(now)
	if b.n >= limit {
		if skip {
			b.denied++
			b.lastDenied = now
		}
		return false, max(b.span-now.Sub(b.calls[b.head]), time.Millisecond)
	}
	b.calls[(b.head+b.n)%len(b.calls)] = now
	b.n++
	return true, 0
}

// forgetLocked forgets the calls older than the slice.
func (b *Budget) forgetLocked(now time.Time) {
	for b.n > 0 && now.Sub(b.calls[b.head]) >= b.span {
		b.head = (b.head + 1) % len(b.calls)
		b.n--
	}
}

// SetDemand records how many calls a scrape of every account makes, and
// returns the round: how long the share takes to allow that many.
func (b *Budget) SetDemand(calls int) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.demand = calls
	return b.roundLocked()
}

func (b *Budget) roundLocked() time.Duration {
	return time.Duration(b.demand) * b.span / time.Duration(len(b.calls))
}

// BudgetState is what a Budget reports for metrics.
type BudgetState struct {
	// Active is true while calls are being skipped: one was in the last
	// slice of the window.
	Active bool
	// Denied counts the calls skipped since the start.
	Denied float64
	// Used is the calls made in the current slice, of Slice allowed.
	Used, Slice int
	// Round is how long the share takes to allow the calls of a scrape of
	// every account; zero when they are not known.
	Round time.Duration
}

// State returns the budget's state now.
func (b *Budget) State() BudgetState {
	if b == nil {
		return BudgetState{}
	}
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	used := 0
	for i := range b.n {
		if now.Sub(b.calls[(b.head+i)%len(b.calls)]) < b.span {
			used++
		}
	}
	return BudgetState{
		Active: !b.lastDenied.IsZero() && now.Sub(b.lastDenied) < b.span,
		Denied: b.denied, Used: used, Slice: len(b.calls), Round: b.roundLocked(),
	}
}
