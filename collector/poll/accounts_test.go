package poll

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/exportertest"
)

// TestDiscoverySpendsTheBudget: the pages of a listing are calls like any
// other: each takes from the budget, and a listing the budget cannot
// serve waits for it, within the listing's bound, rather than call
// beyond it.
func TestDiscoverySpendsTheBudget(t *testing.T) {
	s := newSimulated(t, simulator.BranchGroups(testNow, 120)) // three pages of 50
	// Two calls per slice of a second.
	s.accounts.cfg.Budget = NewBudget(20, 10*time.Second, nil)
	s.accounts.cfg.Refresh = 300 * time.Millisecond
	err := s.accounts.refresh(context.Background())
	if err == nil || !strings.Contains(err.Error(), "GET /accounts (page 3): waiting for the API budget: context deadline exceeded") {
		t.Errorf("error %v, want the third page to wait for the budget", err)
	}
	if calls, used := s.sim.Calls(simulator.EndpointAccounts), s.accounts.cfg.Budget.State().Used; calls != 2 || used != 2 {
		t.Errorf("%d listing calls, %d taken from the budget; want 2 and 2", calls, used)
	}

	s.accounts.cfg.Budget = NewBudget(600, 5*time.Minute, nil)
	s.accounts.cfg.Refresh = time.Minute
	if err := s.accounts.refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, used := len(s.accounts.Current()), s.accounts.cfg.Budget.State().Used; n != 120 || used != 3 {
		t.Errorf("%d accounts listed, %d calls taken from the budget; want 120 and 3", n, used)
	}
}

// TestBudgetWait: Wait takes a call at once while the slice has room, then
// waits for the oldest call to leave the slice, and gives up with its
// context; a call waiting is not counted as skipped.
func TestBudgetWait(t *testing.T) {
	b := NewBudget(10, 200*time.Millisecond, nil) // one call per 20 ms
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := range 3 {
		if err := b.Wait(ctx); err != nil {
			t.Fatalf("wait %d: %v", i, err)
		}
	}
	ended, cancelEnded := context.WithCancel(context.Background())
	cancelEnded()
	if err := b.Wait(ended); err == nil || !strings.Contains(err.Error(), "waiting for the API budget: context canceled") {
		t.Errorf("wait with an ended context: %v", err)
	}
	if st := b.State(); st.Denied != 0 || st.Active {
		t.Errorf("state %+v: waiting calls counted as skipped", st)
	}
	var nilBudget *Budget
	if err := nilBudget.Wait(ended); err != nil {
		t.Errorf("no budget: %v", err)
	}
}

// TestBrokenPagingStopsDiscovery: a listing whose cursor repeats stops at
// the second page, and discovery reports the error, keeping no account
// from it.
func TestBrokenPagingStopsDiscovery(t *testing.T) {
	s := newSimulated(t, simulator.BranchGroups(testNow, 60))
	s.sim.SetAccountPaging(simulator.PagingRepeat)
	if err := s.accounts.refresh(context.Background()); err == nil {
		t.Fatal("the listing did not fail")
	}
	res := s.poller.Poll(context.Background(), nil)
	if res.Discovery == nil || res.Discovery.Err == nil || !strings.Contains(res.Discovery.Err.Error(), "a cursor that repeats") {
		t.Errorf("discovery %+v, want the repeated cursor", res.Discovery)
	}
	if len(res.Accounts) != 0 || s.sim.Calls(simulator.EndpointAccounts) != 2 {
		t.Errorf("%d accounts, %d listing calls; want none and 2", len(res.Accounts), s.sim.Calls(simulator.EndpointAccounts))
	}
	if !strings.Contains(s.logs.String(), `msg="listing accounts failed; scraping the accounts of the last good listing" accounts=0 err="GET /accounts (page 2): every account of the page was listed before: a cursor that repeats, listing stopped"`) {
		t.Errorf("log:\n%s", s.logs.String())
	}
}

// TestAccountsAreServedInTurn: thirty accounts of two calls each, a budget
// of ten calls per slice, a scrape per slice, four accounts called at
// once. Each scrape serves five accounts whole, the longest waiting first:
// every account is served within ceil(60/10) = 6 scrapes, and no call is
// spent twice, whatever the order of the list or of the goroutines.
func TestAccountsAreServedInTurn(t *testing.T) {
	client := newFakeClient()
	ids := make([]string, 30)
	for i := range ids {
		ids[i] = fmt.Sprintf("%032x", 100-i) // IDs in reverse of the list's order
		client.accounts[ids[i]] = client.accounts[simulator.AccountLabs]
	}
	var mu sync.Mutex
	now := testNow
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	budget := NewBudget(100, 5*time.Minute, clock) // 10 calls per 30 s
	p := newTestPoller(t, Config{Client: client, Budget: budget, AccountConcurrency: 4, Now: clock}, ids...)
	const bound = 6
	served := map[string]int{} // the scrape that served the account in full
	for scrape := 1; scrape <= bound; scrape++ {
		p.Poll(context.Background(), nil)
		for _, id := range ids {
			if served[id] == 0 && client.callCount(id+"/connectors") > 0 && client.callCount(id+"/apps") > 0 {
				served[id] = scrape
			}
		}
		mu.Lock()
		now = now.Add(30 * time.Second)
		mu.Unlock()
	}
	calls := 0
	for _, id := range ids {
		if served[id] == 0 {
			t.Errorf("account %s not served in %d scrapes", id, bound)
		}
		calls += client.callCount(id+"/connectors") + client.callCount(id+"/apps")
	}
	if calls != 10*bound {
		t.Errorf("%d calls in %d scrapes, want the budget's %d", calls, bound, 10*bound)
	}
	if st := budget.State(); st.Round != 3*time.Minute {
		t.Errorf("round %s, want 3m0s: 60 calls at 10 per 30 s", st.Round)
	}
	t.Logf("served in scrape: %v", served)
}

// TestBudgetShortfallIsSaidAtStart: accounts that need more calls per
// scrape than the budget serves in a minute are said to at start, once,
// with the advice to shard; accounts it serves are not.
func TestBudgetShortfallIsSaidAtStart(t *testing.T) {
	for _, tc := range []struct {
		accounts int
		round    time.Duration
		said     bool
	}{
		{2, 1 * time.Second, false},
		{20, 10 * time.Second, false},
		{300, 150 * time.Second, true},
	} {
		t.Run(fmt.Sprint(tc.accounts), func(t *testing.T) {
			var logs exportertest.LogBuffer
			ids := make([]string, tc.accounts)
			for i := range ids {
				ids[i] = fmt.Sprintf("%032x", i+1)
			}
			budget := NewBudget(1200, 5*time.Minute, nil) // 120 calls per 30 s
			p := newTestPoller(t, Config{Client: newFakeClient(), Budget: budget, Logger: log.NewLogfmtLogger(&logs)}, ids...)
			if st := budget.State(); st.Round != tc.round {
				t.Errorf("round %s, want %s (2 calls per account)", st.Round, tc.round)
			}
			said := strings.Contains(logs.String(), "the API budget cannot call every account at every scrape")
			if said != tc.said || tc.said && !strings.Contains(logs.String(), "docs/sharding.md") {
				t.Errorf("log:\n%s", logs.String())
			}
			p.accountsKnown(tc.accounts) // a listing finding the same accounts
			if n := strings.Count(logs.String(), "msg="); tc.said && n != 1 {
				t.Errorf("said %d times, want once:\n%s", n, logs.String())
			}
		})
	}
}
