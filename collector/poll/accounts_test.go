package poll

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
)

// TestDiscoverySpendsTheBudget: the pages of a listing are calls like any
// other: each takes from the budget, and a listing the budget cannot
// serve waits for it, within the listing's bound, rather than call
// beyond it.
func TestDiscoverySpendsTheBudget(t *testing.T) {
	s := newSimulated(t, manyAccounts(120)) // three pages of 50
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
	s := newSimulated(t, manyAccounts(60))
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
