package poll

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/go-kit/log/level"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
)

// When the accounts need more calls per scrape than the budget allows, a
// scrape serves what the budget lets it and the last answers for the rest.
// Which accounts get the calls must not be left to the scheduler: an
// account could wait for ever. A scrape starts the accounts called longest
// ago first, each taking the budget for all its calls before it starts
// (an account served in part would be first again at the next scrape, and
// its calls made twice), so that those the budget skipped are the first
// served at the next: every account is served within
// ceil(accounts x calls / calls the budget allows per scrape) scrapes.

// reservation is the calls a scrape took from the budget for one account
// before starting it; its fetches spend them rather than the budget.
type reservation struct {
	mu sync.Mutex
	// left is the calls taken and not yet made; refused is set when the
	// budget had no room for the account.
	left    int
	refused bool
}

type reservationKey struct{}

// reserve takes the budget for every call of the account, or none.
func (p *Poller) reserve(ctx context.Context) (context.Context, *reservation) {
	if p.budget == nil {
		return ctx, nil
	}
	n := p.callsPerAccount()
	r := &reservation{left: n, refused: !p.budget.TakeN(n)}
	if r.refused {
		r.left = 0
	}
	return context.WithValue(ctx, reservationKey{}, r), r
}

// release gives back the calls reserved and not made (outcomes reused, or
// calls shared with another scrape).
func (p *Poller) release(r *reservation) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	p.budget.Refund(r.left)
	r.left = 0
}

// takeCall says whether a call may be made: from the scrape's reservation
// for the account when it made one, else from the budget.
func takeCall(ctx context.Context, b *Budget) bool {
	r, _ := ctx.Value(reservationKey{}).(*reservation)
	if r == nil {
		return b.Take()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.left > 0 {
		r.left--
		return true
	}
	return !r.refused && b.Take()
}

// lastCall is when the account's latest call finished; zero if none has.
func (f *fetcher[T]) lastCall(account string) time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e := f.entries[account]; e != nil {
		return e.at
	}
	return time.Time{}
}

// fairOrder returns the indices of accounts in the order a scrape starts
// them: the one whose endpoints were called longest ago first (never
// called: first of all), then by ID.
func (p *Poller) fairOrder(accounts []api.Account) []int {
	var lastCalls []func(string) time.Time
	for _, ep := range p.endpoints {
		if ep.lastCall != nil {
			lastCalls = append(lastCalls, ep.lastCall)
		}
	}
	last := make([]time.Time, len(accounts))
	for i, a := range accounts {
		for j, lastCall := range lastCalls {
			if t := lastCall(a.ID); j == 0 || t.Before(last[i]) {
				last[i] = t
			}
		}
	}
	order := make([]int, len(accounts))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(x, y int) int {
		return cmp.Or(last[x].Compare(last[y]), cmp.Compare(accounts[x].ID, accounts[y].ID))
	})
	return order
}

// callsPerAccount is how many calls a scrape makes per account: the
// endpoints called per scrape (telemetry is refreshed apart).
func (p *Poller) callsPerAccount() int {
	n := 0
	for _, ep := range p.endpoints {
		if !ep.logHere {
			n++
		}
	}
	return n
}

// budgetRoundWarning is the round beyond which the accounts known are said
// at start to be more than the budget serves: a minute, Prometheus's
// default scrape interval.
const budgetRoundWarning = time.Minute

// budgetNotice remembers what the log last said of the budget against the
// accounts, so that it is said once, not at every listing.
type budgetNotice struct {
	mu          sync.Mutex
	said, short bool
}

// accountsKnown tells the budget how many calls a scrape of every account
// needs, and says so in the log when that is more than it serves in
// budgetRoundWarning: at start, and again when that changes.
func (p *Poller) accountsKnown(accounts int) {
	if p.budget == nil {
		return
	}
	calls := accounts * p.callsPerAccount()
	round := p.budget.SetDemand(calls)
	short := round > budgetRoundWarning
	n := &p.budgetNotice
	n.mu.Lock()
	said, wasShort := n.said, n.short
	n.said, n.short = true, short
	n.mu.Unlock()
	switch {
	case short && (!said || !wasShort):
		level.Warn(p.logger).Log("msg", "the API budget cannot call every account at every scrape: accounts are served in turn, the longest waiting first; "+
			"shard the accounts over several exporters (docs/sharding.md), or raise --cloudflare.budget-share",
			"accounts", accounts, "calls_per_scrape", calls, "budget_calls_per_30s", p.budget.State().Slice,
			"round", round.Round(time.Second), "hint", fmt.Sprintf("each account is served about once every %s", round.Round(time.Second)))
	case !short && said && wasShort:
		level.Info(p.logger).Log("msg", "the API budget calls every account at every scrape again", "accounts", accounts, "calls_per_scrape", calls)
	}
}
