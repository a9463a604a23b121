package poll

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
)

// AccountLister is what account discovery needs from the API.
type AccountLister interface {
	ListAccounts(ctx context.Context, paging api.Paging) ([]api.Account, error)
}

// AccountsConfig configures Accounts.
type AccountsConfig struct {
	// Client lists the accounts; nil for a fixed set without names.
	Client AccountLister
	// Fixed are the accounts to scrape, given by flag; discovery then only
	// looks up their names. Empty means scrape every account listed.
	Fixed []string
	// Refresh is how often the list is fetched again; it also bounds one
	// listing, its waits for the budget included.
	Refresh time.Duration
	// Timeout bounds the call of one page.
	Timeout time.Duration
	// Budget, if set, is spent by every page, as by every other call: a
	// listing waits for it rather than skip a page.
	Budget *Budget
	Logger log.Logger
	Now    func() time.Time
}

// DefaultAccountsRefresh is how often accounts are listed again.
const DefaultAccountsRefresh = 10 * time.Minute

// retryAfterFailure is how soon a failed listing is tried again, when the
// refresh interval is longer.
const retryAfterFailure = time.Minute

// Accounts is the set of accounts the exporter scrapes: those given by
// flag, or every account the credential can see, listed in the background
// every Refresh (GET /accounts) by Run. A failed listing keeps the accounts
// of the last good one.
type Accounts struct {
	cfg   AccountsConfig
	fixed []api.Account

	// ready is closed once the accounts are known: at once for a fixed
	// set, after the first listing otherwise.
	ready     chan struct{}
	readyOnce sync.Once

	mu sync.Mutex
	// known, if set, is told how many accounts there are whenever a
	// listing finds them.
	known       func(accounts int)
	listed      []api.Account
	listedIDs   map[string]bool // the IDs of listed, for Allowed
	lastErr     error
	lastSuccess time.Time
	attempted   bool
}

// FixedAccounts returns Accounts that scrapes ids, with no name lookup.
func FixedAccounts(ids ...string) *Accounts {
	return NewAccounts(AccountsConfig{Fixed: ids})
}

// NewAccounts returns Accounts for cfg; start its Run to list accounts.
func NewAccounts(cfg AccountsConfig) *Accounts {
	if cfg.Logger == nil {
		cfg.Logger = log.NewNopLogger()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = DefaultAccountsRefresh
	}
	a := &Accounts{cfg: cfg, ready: make(chan struct{})}
	for _, id := range cfg.Fixed {
		a.fixed = append(a.fixed, api.Account{ID: id})
	}
	if !a.Discovering() {
		a.readyOnce.Do(func() { close(a.ready) })
	}
	return a
}

// Discovering reports whether the accounts come from the listing rather
// than from flags.
func (a *Accounts) Discovering() bool { return len(a.fixed) == 0 }

// Ready reports whether the accounts are known: given by flag, or the
// first listing has finished, well or not.
func (a *Accounts) Ready() bool {
	select {
	case <-a.ready:
		return true
	default:
		return false
	}
}

// waitReady waits until the accounts are known or ctx ends, so that the
// first scrape after startup does not miss every account.
func (a *Accounts) waitReady(ctx context.Context) {
	select {
	case <-a.ready:
	case <-ctx.Done():
	}
}

// Allowed reports whether the account is one the exporter scrapes, and so
// one /probe may scrape: a given one, or when discovering, one of the latest
// listing. Nothing else is called, so that no client of /probe can spend
// the API budget on accounts of its choosing.
func (a *Accounts) Allowed(id string) bool {
	if !a.Discovering() {
		return slices.ContainsFunc(a.fixed, func(f api.Account) bool { return f.ID == id })
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.listedIDs[id]
}

// Current returns the accounts to scrape, with their names where known.
func (a *Accounts) Current() []api.Account {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.Discovering() {
		return a.listed
	}
	out := slices.Clone(a.fixed)
	for i := range out {
		out[i].Name = a.nameLocked(out[i].ID)
	}
	return out
}

// Name returns the account's name from the latest listing, or "".
func (a *Accounts) Name(id string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.nameLocked(id)
}

func (a *Accounts) nameLocked(id string) string {
	if i := slices.IndexFunc(a.listed, func(l api.Account) bool { return l.ID == id }); i >= 0 {
		return a.listed[i].Name
	}
	return ""
}

// onKnown has f told how many accounts there are: at once for accounts
// given by flag, after each listing that finds them otherwise.
func (a *Accounts) onKnown(f func(accounts int)) {
	a.mu.Lock()
	a.known = f
	a.mu.Unlock()
	if !a.Discovering() {
		f(len(a.fixed))
	}
}

// status is the outcome of the latest listing.
func (a *Accounts) status() (attempted bool, lastSuccess time.Time, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.attempted, a.lastSuccess, a.lastErr
}

// Run lists the accounts at once, then every Refresh (sooner after a
// failure), until ctx ends.
func (a *Accounts) Run(ctx context.Context) {
	if a.cfg.Client == nil {
		return
	}
	for {
		wait := a.cfg.Refresh
		if err := a.refresh(ctx); err != nil && a.Discovering() && wait > retryAfterFailure {
			wait = retryAfterFailure
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

func (a *Accounts) refresh(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Refresh)
	defer cancel()
	listed, err := a.cfg.Client.ListAccounts(ctx, api.Paging{Wait: a.cfg.Budget.Wait, PageTimeout: a.cfg.Timeout})
	if err != nil && errors.Is(ctx.Err(), context.Canceled) {
		return err // shutting down: not an outcome
	}
	// After the lock is let go, and before the accounts are ready, the
	// budget is told how many there are: what it says of them comes at
	// start, before the first scrape.
	var tell func()
	defer func() {
		if tell != nil {
			tell()
		}
		a.readyOnce.Do(func() { close(a.ready) })
	}()
	a.mu.Lock()
	defer a.mu.Unlock()
	firstFailure := a.lastErr == nil
	a.attempted, a.lastErr = true, err
	switch {
	case err != nil && a.Discovering():
		level.Error(a.cfg.Logger).Log("msg", "listing accounts failed; scraping the accounts of the last good listing",
			"accounts", len(a.listed), "err", err)
		return err
	case err != nil && firstFailure:
		level.Warn(a.cfg.Logger).Log("msg", "looking up account names failed; account_name stays empty (listing accounts needs the Account Settings Read permission)", "err", err)
		return err
	case err != nil:
		return err
	}
	// Pages can shift while they are read (an account added meanwhile), and
	// repeat an account.
	slices.SortFunc(listed, func(x, y api.Account) int { return strings.Compare(x.ID, y.ID) })
	listed = slices.CompactFunc(listed, func(x, y api.Account) bool { return x.ID == y.ID })
	if a.Discovering() && !slices.Equal(listed, a.listed) {
		level.Info(a.cfg.Logger).Log("msg", "accounts discovered", "accounts", len(listed))
		if len(listed) == 0 {
			level.Warn(a.cfg.Logger).Log("msg", "the credential sees no account: nothing to scrape")
		}
	}
	a.listed, a.lastSuccess = listed, a.cfg.Now()
	a.listedIDs = make(map[string]bool, len(listed))
	for _, l := range listed {
		a.listedIDs[l.ID] = true
	}
	if a.known != nil && a.Discovering() {
		known, n := a.known, len(listed)
		tell = func() { known(n) }
	}
	return nil
}
