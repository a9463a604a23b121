package api

import (
	"context"
	"fmt"
	"regexp"
)

// EndpointAccounts names GET /accounts.
const EndpointAccounts = "accounts"

// Account is a Cloudflare account the credential can see.
type Account struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// AccountsPerPage is the page size asked of GET /accounts, its maximum.
const AccountsPerPage = 50

// maxAccountPages bounds the paging, should the API never report the end.
const maxAccountPages = 1000

// ListAccounts returns every account the credential can see (GET /accounts,
// page by page until result_info.total_pages). It needs no Magic WAN
// permission; a token without account read access gets an *Error.
func (c *Client) ListAccounts(ctx context.Context) ([]Account, error) {
	var all []Account
	for page := 1; page <= maxAccountPages; page++ {
		path := fmt.Sprintf("/accounts?page=%d&per_page=%d", page, AccountsPerPage)
		env, err := getEnvelope[list[Account]](ctx, c, EndpointAccounts, path)
		if err != nil {
			return nil, err
		}
		all = append(all, env.Result.items...)
		if env.ResultInfo == nil || page >= env.ResultInfo.TotalPages || len(env.Result.items) == 0 {
			return all, nil
		}
	}
	return nil, fmt.Errorf("GET /accounts: more than %d pages", maxAccountPages)
}

var accountIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// ValidAccountID reports whether id is a Cloudflare account ID: 32
// lower-case hex characters.
func ValidAccountID(id string) bool { return accountIDPattern.MatchString(id) }
