package api_test

import (
	"context"
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
			got, err := c.ListAccounts(context.Background())
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
	_, err := c.ListAccounts(context.Background())
	if err == nil || !strings.HasPrefix(err.Error(), "GET /accounts?page=1&per_page=50: HTTP 403 Forbidden: 9109") {
		t.Errorf("err = %v", err)
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
