package api

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
)

// Auth puts a credential on a request. The implementations in this package
// are the only ones: they also know which strings are secret, so the client
// can keep them out of every error it returns.
type Auth interface {
	// apply sets the credential's headers. A credential that keeps
	// working after a failed reload reports the failure to report, once
	// per distinct failure.
	apply(h http.Header, report func(error)) error
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
// such as a trailing newline, is ignored. The file is read again whenever
// it changes (new modification time, size or inode, as when Kubernetes
// swaps a mounted Secret), so a token can be rotated without a restart.
// Should the changed file be unreadable, gone or hold no valid token, the
// last good token stays in use, the file is tried again on the next
// request, and the failure goes to Config.OnCredentialError, once until
// the file reads well again or fails otherwise.
func TokenFileAuth(path string) (Auth, error) {
	a := &tokenFileAuth{path: path}
	if err := a.reload(); err != nil {
		return nil, err
	}
	return a, nil
}

// maxSeenTokens bounds how many past tokens are kept for redaction.
const maxSeenTokens = 8

type tokenFileAuth struct {
	path string

	mu    sync.Mutex
	token string
	stat  os.FileInfo
	// seen holds every token read so far, to redact from errors: an error
	// about a request made just before a rotation may carry the old one.
	seen []string
	// reported is the text of the reload failure reported last; "" once a
	// reload succeeded.
	reported string
}

func (a *tokenFileAuth) apply(h http.Header, report func(error)) error {
	err := a.reload()
	token := a.current()
	if err != nil {
		if token == "" {
			return err
		}
		a.mu.Lock()
		fresh := err.Error() != a.reported
		a.reported = err.Error()
		a.mu.Unlock()
		if fresh {
			report(fmt.Errorf("%w; the last good token stays in use", err))
		}
	}
	h.Set("Authorization", "Bearer "+token)
	return nil
}

func (a *tokenFileAuth) current() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.token
}

// reload reads the file if it changed since the last good read.
func (a *tokenFileAuth) reload() error {
	fi, err := os.Stat(a.path)
	if err != nil {
		return fmt.Errorf("read API token file: %w", err)
	}
	a.mu.Lock()
	unchanged := a.stat != nil && os.SameFile(a.stat, fi) && a.stat.ModTime().Equal(fi.ModTime()) && a.stat.Size() == fi.Size()
	a.mu.Unlock()
	if unchanged {
		return nil
	}
	b, err := os.ReadFile(a.path)
	if err != nil {
		return fmt.Errorf("read API token file: %w", err)
	}
	token := strings.TrimSpace(string(b))
	if err := checkSecret("API token in "+a.path, token); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.token, a.stat, a.reported = token, fi, ""
	if !slices.Contains(a.seen, token) {
		a.seen = append(a.seen, token)
		if len(a.seen) > maxSeenTokens {
			a.seen = a.seen[1:]
		}
	}
	return nil
}

func (a *tokenFileAuth) secrets() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.seen)
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

func (t tokenAuth) apply(h http.Header, _ func(error)) error {
	h.Set("Authorization", "Bearer "+string(t))
	return nil
}

func (t tokenAuth) secrets() []string { return []string{string(t)} }

type keyAuth struct{ email, key string }

func (k keyAuth) apply(h http.Header, _ func(error)) error {
	h.Set("X-Auth-Email", k.email)
	h.Set("X-Auth-Key", k.key)
	return nil
}

func (k keyAuth) secrets() []string { return []string{k.key} }
