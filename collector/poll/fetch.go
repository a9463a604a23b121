package poll

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// fetcher spends the API budget once. Concurrent scrapes of the same
// account share one call: while a call is in flight, later scrapes wait for
// its result instead of calling again. With a minimum interval, an outcome
// younger than it is served again without a call.
//
// A call runs detached from the scrape that started it: a scrape that
// gives up does not fail the others waiting on the same call, and the call
// is cancelled when every scrape waiting on it has given up (so it lasts
// until the latest of their deadlines), or after maxWait.
type fetcher[T any] struct {
	minInterval time.Duration
	maxWait     time.Duration
	now         func() time.Time
	// budget, if set, must allow each call; a call it refuses is answered
	// with the last outcome instead.
	budget *Budget
	// done, if set, is called once per finished call, not per scrape
	// waiting on it: that is where a failure is logged.
	done func(account string, err error)

	mu      sync.Mutex
	entries map[string]*fetchEntry[T]
}

type fetchEntry[T any] struct {
	flight *flight[T]

	// The last finished call, reused within minInterval and when the
	// budget refuses a call.
	result T
	err    error
	at     time.Time
	// started numbers the calls; recorded is the number of the call whose
	// outcome is held, so that a call outlived by a newer one's outcome
	// does not overwrite it.
	started, recorded uint64

	lastSuccess time.Time
}

type flight[T any] struct {
	number  uint64
	done    chan struct{}
	result  T
	err     error
	waiters int
	cancel  context.CancelFunc
}

func newFetcher[T any](minInterval, maxWait time.Duration, now func() time.Time) *fetcher[T] {
	return &fetcher[T]{minInterval: minInterval, maxWait: maxWait, now: now, entries: map[string]*fetchEntry[T]{}}
}

// outcome is what a scrape gets from fetch.
type outcome[T any] struct {
	result T
	err    error
	// lastSuccess is when a call for the account last succeeded; zero if
	// never.
	lastSuccess time.Time
	// cached is true when a recent outcome was served again without a call.
	cached bool
}

// fetch returns the account's data, from a call of its own, a call in
// flight or a recent outcome. It returns when ctx ends even if the call has
// not.
func (f *fetcher[T]) fetch(ctx context.Context, account string, call func(context.Context) (T, error)) outcome[T] {
	f.mu.Lock()
	e := f.entries[account]
	if e == nil {
		e = &fetchEntry[T]{}
		f.entries[account] = e
	}
	if e.flight == nil && f.minInterval > 0 && !e.at.IsZero() && f.now().Sub(e.at) < f.minInterval {
		o := outcome[T]{result: e.result, err: e.err, lastSuccess: e.lastSuccess, cached: true}
		f.mu.Unlock()
		return o
	}
	fl := e.flight
	if fl == nil {
		if err := ctx.Err(); err != nil {
			// Too late to start a call nobody could wait for.
			o := outcome[T]{err: err, lastSuccess: e.lastSuccess}
			f.mu.Unlock()
			return o
		}
		if !takeCall(ctx, f.budget) {
			o := outcome[T]{result: e.result, err: e.err, lastSuccess: e.lastSuccess, cached: true}
			if e.at.IsZero() {
				o.err = ErrBudget
			}
			f.mu.Unlock()
			if f.done != nil {
				// Logged at a bounded rate, as any failure.
				f.done(account, ErrBudget)
			}
			return o
		}
		fl = f.start(ctx, account, e, call)
	}
	fl.waiters++
	f.mu.Unlock()

	select {
	case <-fl.done:
		f.mu.Lock()
		defer f.mu.Unlock()
		return outcome[T]{result: fl.result, err: fl.err, lastSuccess: e.lastSuccess}
	case <-ctx.Done():
		f.mu.Lock()
		defer f.mu.Unlock()
		fl.waiters--
		if fl.waiters == 0 {
			// Nobody wants this call any more; a later scrape starts its
			// own.
			fl.cancel()
			if e.flight == fl {
				e.flight = nil
			}
		}
		if f.done != nil {
			// The call goes on for other scrapes, or was abandoned; this
			// scrape's giving up is worth a line (at a bounded rate).
			f.done(account, fmt.Errorf("the scrape gave up waiting for the call: %w", ctx.Err()))
		}
		return outcome[T]{err: ctx.Err(), lastSuccess: e.lastSuccess}
	}
}

// start begins a call for the account. The caller holds f.mu.
func (f *fetcher[T]) start(ctx context.Context, account string, e *fetchEntry[T], call func(context.Context) (T, error)) *flight[T] {
	callCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	if f.maxWait > 0 {
		callCtx, cancel = context.WithTimeout(context.WithoutCancel(ctx), f.maxWait)
	}
	e.started++
	fl := &flight[T]{number: e.started, done: make(chan struct{}), cancel: cancel}
	e.flight = fl
	// The last answer stays while the call runs: should every scrape give
	// up on the call, it is what the budget guard serves next.
	go func() {
		defer cancel()
		result, err := call(callCtx)
		abandoned := errors.Is(err, context.Canceled) && callCtx.Err() != nil

		f.mu.Lock()
		fl.result, fl.err = result, err
		if e.flight == fl {
			e.flight = nil
		}
		if !abandoned && fl.number > e.recorded {
			now := f.now()
			e.at, e.err, e.result, e.recorded = now, err, result, fl.number
			if err == nil {
				e.lastSuccess = now
			}
		}
		f.mu.Unlock()
		// Logged before the waiters go on, so that a scrape's failures are
		// in the log when it answers.
		if f.done != nil && !abandoned {
			f.done(account, err)
		}
		close(fl.done)
	}()
	return fl
}

// prune forgets the accounts keep rejects, except calls in flight: the
// accounts no longer scraped must not hold memory forever.
func (f *fetcher[T]) prune(keep func(string) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for account, e := range f.entries {
		if e.flight == nil && !keep(account) {
			delete(f.entries, account)
		}
	}
}

// waiting reports how many scrapes wait on the account's call in flight.
func (f *fetcher[T]) waiting(account string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e := f.entries[account]; e != nil && e.flight != nil {
		return e.flight.waiters
	}
	return 0
}
