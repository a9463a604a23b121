package api

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// Credentials are the ways the command line and the environment can give
// a credential: an API token (Token, or TokenFile), or the legacy email
// with a global API key (Key, or KeyFile). Exactly one must be given.
type Credentials struct {
	Token, TokenFile    string
	Email, Key, KeyFile string
}

const (
	tokenHint = "--cloudflare.api-token-file, --cloudflare.api-token or CLOUDFLARE_API_TOKEN"
	keyHint   = "--cloudflare.api-email with --cloudflare.api-key-file, --cloudflare.api-key or CLOUDFLARE_API_KEY"
)

// Auth picks the one credential c gives and returns its Auth. Errors name
// the flags and environment variables to set; they never quote a secret.
func (c Credentials) Auth() (Auth, error) {
	hasToken := c.Token != "" || c.TokenFile != ""
	hasKey := c.Key != "" || c.KeyFile != ""
	switch {
	case hasToken && (hasKey || c.Email != ""):
		return nil, fmt.Errorf("both an API token and an email/API key are set: set either %s, or %s", tokenHint, keyHint)
	case c.Token != "" && c.TokenFile != "":
		return nil, errors.New("both --cloudflare.api-token (or CLOUDFLARE_API_TOKEN) and --cloudflare.api-token-file are set: set one")
	case c.TokenFile != "":
		a, err := TokenFileAuth(c.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("--cloudflare.api-token-file=%s: %w", c.TokenFile, err)
		}
		return a, nil
	case c.Token != "":
		return TokenAuth(c.Token)
	case c.Key != "" && c.KeyFile != "":
		return nil, errors.New("both --cloudflare.api-key (or CLOUDFLARE_API_KEY) and --cloudflare.api-key-file are set: set one")
	case hasKey && c.Email == "":
		return nil, errors.New("an API key needs the user's email: set --cloudflare.api-email or CLOUDFLARE_API_EMAIL")
	case c.Email != "" && !hasKey:
		return nil, errors.New("--cloudflare.api-email needs the global API key: set --cloudflare.api-key-file, --cloudflare.api-key or CLOUDFLARE_API_KEY")
	case hasKey:
		key := c.Key
		if c.KeyFile != "" {
			b, err := os.ReadFile(c.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("--cloudflare.api-key-file=%s: read API key file: %w", c.KeyFile, err)
			}
			key = string(b)
		}
		return KeyAuth(c.Email, key)
	}
	return nil, fmt.Errorf("no Cloudflare credential: set %s (or %s); to try the exporter without an account, run it with --demo", tokenHint, keyHint)
}

// ParseAccountIDs splits comma-separated values, lower-cases and checks
// each account ID, and drops repeats. None means: discover the accounts.
func ParseAccountIDs(values []string) ([]string, error) {
	var ids []string
	seen := map[string]bool{}
	for _, v := range values {
		for _, id := range strings.Split(v, ",") {
			id = strings.ToLower(strings.TrimSpace(id))
			if id == "" || seen[id] {
				continue
			}
			if !ValidAccountID(id) {
				return nil, fmt.Errorf("account ID %q is not 32 hex characters (--cloudflare.account-id, CLOUDFLARE_ACCOUNT_ID)", id)
			}
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, nil
}
