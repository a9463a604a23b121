package poll

import (
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
)

// failureLogger logs failed API calls: once per call, not once per scrape
// waiting on it, and the same failure again at most once per interval,
// with the number of repeats it held back. An API that answers 500 to a
// hundred scrapers otherwise writes gigabytes of log an hour.
//
// The same failure is the same endpoint and error whatever the account:
// the budget guard skipping the calls of 10,000 accounts wrote a line per
// account and endpoint, 18.4 MB of log in 50 s. A line that repeats says
// how many accounts met it meanwhile; the metrics say which.
type failureLogger struct {
	logger   log.Logger
	interval time.Duration
	now      func() time.Time

	mu   sync.Mutex
	seen map[failureKey]*failureState
}

// failureKey is a failure; account is empty for a failure whatever the
// account, whose err is the error's text with the account's ID taken out.
type failureKey struct{ account, endpoint, err string }

type failureState struct {
	logged   time.Time
	repeated int
	// accounts met the failure since it was last logged.
	accounts map[string]bool
}

// failureLogInterval is how often one failure is logged again while it
// repeats.
const failureLogInterval = time.Minute

func newFailureLogger(logger log.Logger, now func() time.Time) *failureLogger {
	return &failureLogger{logger: logger, interval: failureLogInterval, now: now, seen: map[failureKey]*failureState{}}
}

// authHint is logged with a refused credential.
const authHint = "the credential needs the Magic WAN Read permission (apps also accept Magic Transit Read) on this account"

// log logs one failed call. A rate-limit pause is logged at warn by the
// call that received the 429; the calls refused during it only at debug.
func (l *failureLogger) log(account, endpoint string, err error) {
	var backoff *api.BackoffError
	if errors.As(err, &backoff) && !backoff.Started {
		level.Debug(l.logger).Log("msg", "call skipped during a rate-limit pause", "account_id", account, "endpoint", endpoint, "err", err)
		return
	}
	key := failureKey{"", endpoint, strings.ReplaceAll(err.Error(), account, "{account}")}
	repeated, accounts, ok := l.allowFor(key, account)
	if !ok {
		return
	}

	kv := []any{"msg", "API call failed", "account_id", account, "endpoint", endpoint, "err", err}
	if repeated > 0 {
		kv = append(kv, "repeated", repeated, "since", l.interval)
	}
	if accounts > 1 {
		kv = append(kv, "accounts", accounts)
	}
	var apiErr *api.Error
	switch {
	case backoff != nil:
		kv[1] = "rate limited by the Cloudflare API: pausing every call"
		level.Warn(l.logger).Log(append(kv, "retry_after", backoff.Remaining.Round(time.Second))...)
	case errors.Is(err, ErrBudget):
		kv[1] = "budget guard: call skipped, the last answer is served if there is one"
		level.Warn(l.logger).Log(kv...)
	case errors.As(err, &apiErr) && apiErr.IsAuth():
		level.Error(l.logger).Log(append(kv, "hint", authHint)...)
	default:
		level.Error(l.logger).Log(kv...)
	}
}

// allow reports whether the failure key names may be logged now: the first
// time, and again once an interval has passed, with the number of repeats
// held back meanwhile.
func (l *failureLogger) allow(key failureKey) (repeated int, ok bool) {
	repeated, _, ok = l.allowFor(key, key.account)
	return repeated, ok
}

// allowFor is allow for a failure account met, also saying how many
// accounts met it since it was last logged, this one included.
func (l *failureLogger) allowFor(key failureKey, account string) (repeated, accounts int, ok bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.seen[key]
	if st == nil {
		if len(l.seen) > 10_000 {
			l.forgetLocked(now)
		}
		st = &failureState{accounts: map[string]bool{}}
		l.seen[key] = st
	} else if now.Sub(st.logged) < l.interval {
		st.repeated++
		st.accounts[account] = true
		return 0, 0, false
	}
	st.accounts[account] = true
	repeated, accounts = st.repeated, len(st.accounts)
	st.logged, st.repeated = now, 0
	clear(st.accounts)
	return repeated, accounts, true
}

// forgetLocked drops the failures not seen for ten intervals.
func (l *failureLogger) forgetLocked(now time.Time) {
	for k, st := range l.seen {
		if now.Sub(st.logged) > 10*l.interval {
			delete(l.seen, k)
		}
	}
}
