package api_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
)

func TestListAccountsPages(t *testing.T) {
	for _, n := range []int{0, 1, 50, 51, 123} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			accounts := make([]simulator.Account, n)
			for i := range accounts {
				accounts[i] = simulator.Account{ID: fmt.Sprintf("%032x", i+1), Name: fmt.Sprintf("Account %d", i+1)}
			}
			sim := simulator.NewServer(accounts, simulator.WithToken(simulator.DemoToken))
			c, err := api.New(api.Config{BaseURL: sim.Start(t), Auth: mustAuth(api.TokenAuth(simulator.DemoToken))})
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.ListAccounts(context.Background(), api.Paging{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != n {
				t.Fatalf("%d accounts, want %d", len(got), n)
			}
			for i, a := range got {
				if a.ID != accounts[i].ID || a.Name != accounts[i].Name {
					t.Errorf("account %d = %+v, want %+v", i, a, accounts[i])
				}
			}
			pages := max(1, (n+api.AccountsPerPage-1)/api.AccountsPerPage)
			if calls := sim.Calls(simulator.EndpointAccounts); calls != pages {
				t.Errorf("%d requests for %d accounts, want %d pages", calls, n, pages)
			}
			for _, r := range sim.Requests() {
				if r.URL.Query().Get("per_page") != "50" {
					t.Errorf("request %s does not ask 50 per page", r.URL)
				}
			}
		})
	}
}

func TestListAccountsFailure(t *testing.T) {
	sim, c := newClient(t, api.Config{})
	sim.SetFault("", simulator.EndpointAccounts, simulator.Fault{Status: 403, Errors: []simulator.Message{{Code: 9109, Message: "Unauthorized to access requested resource"}}})
	_, err := c.ListAccounts(context.Background(), api.Paging{})
	if err == nil || !strings.HasPrefix(err.Error(), "GET /accounts?page=1&per_page=50: HTTP 403 Forbidden: 9109") {
		t.Errorf("err = %v", err)
	}
}

// TestListAccountsStopsOnBrokenPaging: paging that would never end, or
// that cannot be right, stops the listing at once with an error saying
// why, after as few calls as it takes to see it.
func TestListAccountsStopsOnBrokenPaging(t *testing.T) {
	page := func(resultPage, totalPages int) string {
		return fmt.Sprintf(`{"success":true,"errors":[],"result":[{"id":"%032x","name":"a"}],"result_info":{"page":%d,"per_page":50,"total_pages":%d}}`, 7, resultPage, totalPages)
	}
	for _, tc := range []struct {
		name   string
		paging simulator.AccountPaging
		fault  *simulator.Fault
		calls  int
		want   string
	}{
		{"the same accounts on every page", simulator.PagingRepeat, nil, 2,
			"GET /accounts (page 2): every account of the page was listed before: a cursor that repeats, listing stopped"},
		{"the first page whatever is asked", simulator.PagingHonest, &simulator.Fault{Body: page(1, 3)}, 2,
			"GET /accounts (page 2): the API answered page 1: a cursor that repeats, listing stopped"},
		{"new accounts on every page, and one page more", simulator.PagingEndless, nil, 3,
			"GET /accounts (page 3): the page count grew from 2 to 4 while the pages were read: listing stopped"},
		{"a million pages announced", simulator.PagingHonest, &simulator.Fault{Body: page(1, 1000000)}, 1,
			"GET /accounts (page 1): the API announces 1000000 pages of 50 accounts, more than the 1000 the exporter reads: not believed, listing stopped"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim, c := newClient(t, api.Config{})
			sim.SetAccountPaging(tc.paging)
			if tc.fault != nil {
				sim.SetFault("", simulator.EndpointAccounts, *tc.fault)
			}
			got, err := c.ListAccounts(context.Background(), api.Paging{})
			if err == nil || err.Error() != tc.want {
				t.Errorf("%d accounts, error %v; want %q", len(got), err, tc.want)
			}
			if calls := sim.Calls(simulator.EndpointAccounts); calls != tc.calls {
				t.Errorf("%d calls, want %d", calls, tc.calls)
			}
		})
	}
}

// TestListAccountsIsPaced: every page waits for Paging.Wait first, and a
// Wait that gives up stops the listing before the page is asked for.
func TestListAccountsIsPaced(t *testing.T) {
	accounts := make([]simulator.Account, 120)
	for i := range accounts {
		accounts[i] = simulator.Account{ID: fmt.Sprintf("%032x", i+1)}
	}
	sim := simulator.NewServer(accounts, simulator.WithToken(simulator.DemoToken))
	c, err := api.New(api.Config{BaseURL: sim.Start(t), Auth: mustAuth(api.TokenAuth(simulator.DemoToken))})
	if err != nil {
		t.Fatal(err)
	}
	waits := 0
	got, err := c.ListAccounts(context.Background(), api.Paging{Wait: func(context.Context) error { waits++; return nil }})
	if err != nil || len(got) != 120 || waits != 3 || sim.Calls(simulator.EndpointAccounts) != 3 {
		t.Errorf("%d accounts, %v; %d waits and %d calls, want 3 each", len(got), err, waits, sim.Calls(simulator.EndpointAccounts))
	}
	spent := errors.New("budget spent")
	waits = 0
	_, err = c.ListAccounts(context.Background(), api.Paging{Wait: func(context.Context) error {
		if waits++; waits == 2 {
			return spent
		}
		return nil
	}})
	if !errors.Is(err, spent) || !strings.HasPrefix(err.Error(), "GET /accounts (page 2): ") || sim.Calls(simulator.EndpointAccounts) != 4 {
		t.Errorf("error %v after %d calls in all, want page 2 not asked for", err, sim.Calls(simulator.EndpointAccounts))
	}
}

func TestValidAccountID(t *testing.T) {
	for id, want := range map[string]bool{
		simulator.AccountRetail:               true,
		"4E5C2A1B9D8F7E6A5B4C3D2E1F0A9B8C":    false, // callers lower-case first
		"4e5c2a1b9d8f7e6a5b4c3d2e1f0a9b8":     false,
		"4e5c2a1b9d8f7e6a5b4c3d2e1f0a9b8c0":   false,
		"4e5c2a1b9d8f7e6a5b4c3d2e1f0a9b8g":    false,
		"../4e5c2a1b9d8f7e6a5b4c3d2e1f0a9b8c": false,
		"":                                    false,
	} {
		if api.ValidAccountID(id) != want {
			t.Errorf("ValidAccountID(%q) = %v", id, !want)
		}
	}
}
