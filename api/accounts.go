package api

import (
	"context"
	"fmt"
	"regexp"
	"time"
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

// MaxAccountPages bounds the paging: 1,000 pages are 50,000 accounts, and
// 1,000 calls, more than the whole rate limit of a user's five minutes. An
// answer announcing more is not believed.
const MaxAccountPages = 1000

// Paging paces a listing of many pages. The zero value asks for every page
// at once, within the listing's context.
type Paging struct {
	// Wait, if set, is waited for before each page is asked for (a budget
	// to spend); its error stops the listing.
	Wait func(ctx context.Context) error
	// PageTimeout, if positive, bounds each page's call, its retry
	// included, the wait aside.
	PageTimeout time.Duration
}

// ListAccounts returns every account the credential can see (GET /accounts,
// page by page until result_info.total_pages). It needs no Magic WAN
// permission; a token without account read access gets an *Error.
//
// The paging is checked as it goes, so that a broken or hostile API cannot
// keep the exporter listing: a page that is not the one asked for, or that
// lists only accounts already listed (a cursor that repeats), more pages
// than MaxAccountPages, or a page count that grows while it is read, stop
// the listing with an error saying which.
func (c *Client) ListAccounts(ctx context.Context, paging Paging) ([]Account, error) {
	var all []Account
	seen := map[string]bool{}
	announced := 0
	for page := 1; ; page++ {
		env, err := c.accountsPage(ctx, page, paging)
		if err != nil {
			return nil, err
		}
		items, info := env.Result.items, env.ResultInfo
		if info == nil {
			info = &resultInfo{}
		}
		op := fmt.Sprintf("GET /accounts (page %d)", page)
		switch {
		case info.Page != 0 && info.Page != page:
			return nil, fmt.Errorf("%s: the API answered page %d: a cursor that repeats, listing stopped", op, info.Page)
		case info.TotalPages > MaxAccountPages:
			return nil, fmt.Errorf("%s: the API announces %d pages of %d accounts, more than the %d the exporter reads: not believed, listing stopped",
				op, info.TotalPages, AccountsPerPage, MaxAccountPages)
		case page == 1:
			announced = info.TotalPages
		case info.TotalPages > announced+1+announced/10:
			// An account or two added while the pages are read may add a
			// page; a count that keeps growing is a listing without end.
			return nil, fmt.Errorf("%s: the page count grew from %d to %d while the pages were read: listing stopped",
				op, announced, info.TotalPages)
		}
		fresh := 0
		for _, a := range items {
			if !seen[a.ID] {
				seen[a.ID] = true
				fresh++
			}
		}
		if len(items) > 0 && fresh == 0 {
			return nil, fmt.Errorf("%s: every account of the page was listed before: a cursor that repeats, listing stopped", op)
		}
		all = append(all, items...)
		if page >= info.TotalPages || len(items) == 0 {
			return all, nil
		}
	}
}

// accountsPage asks for one page of GET /accounts, paced by paging.
func (c *Client) accountsPage(ctx context.Context, page int, paging Paging) (*envelope[list[Account]], error) {
	if paging.Wait != nil {
		if err := paging.Wait(ctx); err != nil {
			return nil, fmt.Errorf("GET /accounts (page %d): %w", page, err)
		}
	}
	if paging.PageTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, paging.PageTimeout)
		defer cancel()
	}
	path := fmt.Sprintf("/accounts?page=%d&per_page=%d", page, AccountsPerPage)
	return getEnvelope[list[Account]](ctx, c, EndpointAccounts, path)
}

var accountIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// ValidAccountID reports whether id is a Cloudflare account ID: 32
// lower-case hex characters.
func ValidAccountID(id string) bool { return accountIDPattern.MatchString(id) }
