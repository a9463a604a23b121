package api

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
)

// Auth puts a credential on a request. The implementations in this package
// are the only ones: they also know which strings are secret, so the client
// can keep them out of every error it returns.
type Auth interface {
	apply(h http.Header) error
	secrets() []string
}

// TokenAuth authenticates with an API token (Authorization: Bearer), the
// method Cloudflare prefers.
func TokenAuth(token string) (Auth, error) {
	token = strings.TrimSpace(token)
	if err := checkSecret("API token", token); err != nil {
		return nil, err
	}
	return tokenAuth(token), nil
}

// TokenFileAuth reads an API token from a file; surrounding white space,
// such as a trailing newline, is ignored.
func TokenFileAuth(path string) (Auth, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read API token file: %w", err)
	}
	return TokenAuth(string(b))
}

// KeyAuth authenticates with the legacy account email and global API key
// (X-Auth-Email and X-Auth-Key).
func KeyAuth(email, key string) (Auth, error) {
	email, key = strings.TrimSpace(email), strings.TrimSpace(key)
	if email == "" {
		return nil, errors.New("API email is empty")
	}
	if err := checkSecret("API key", key); err != nil {
		return nil, err
	}
	return keyAuth{email: email, key: key}, nil
}

// checkSecret rejects an empty credential or one that cannot travel in an
// HTTP header. The error never quotes the secret.
func checkSecret(what, s string) error {
	if s == "" {
		return fmt.Errorf("%s is empty", what)
	}
	for _, r := range s {
		if r < 0x21 || r > 0x7e {
			return fmt.Errorf("%s contains white space or a character that is not printable ASCII", what)
		}
	}
	return nil
}

type tokenAuth string

func (t tokenAuth) apply(h http.Header) error {
	h.Set("Authorization", "Bearer "+string(t))
	return nil
}

func (t tokenAuth) secrets() []string { return []string{string(t)} }

type keyAuth struct{ email, key string }

func (k keyAuth) apply(h http.Header) error {
	h.Set("X-Auth-Email", k.email)
	h.Set("X-Auth-Key", k.key)
	return nil
}

func (k keyAuth) secrets() []string { return []string{k.key} }
