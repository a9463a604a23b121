package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Message is one entry of the errors or messages array of a Cloudflare
// response envelope.
type Message struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// Error is a failed API call. It says what was called (Op) and why it failed:
// the HTTP status when a response arrived, every Cloudflare code: message
// pair the response carried, and the transport or decode problem (Err).
// Nothing in it is taken from a credential.
type Error struct {
	// Endpoint is the short name of the endpoint, such as "connectors".
	Endpoint string
	// Op is the method and path called, such as
	// "GET /accounts/0123.../magic/connectors".
	Op string
	// StatusCode is the HTTP status, or 0 when no response arrived.
	StatusCode int
	// Errors are the first Cloudflare errors of the response envelope (at
	// most 5, each message cut to 300 bytes), with any credential text
	// removed.
	Errors []Message
	// MoreErrors is how many more errors the envelope carried.
	MoreErrors int
	// Err is the transport, decode or protocol problem, if any.
	Err error
	// Attempts is how many requests were made: 2 when a transient failure
	// was retried, 0 when none was made (the client was backing off).
	Attempts int
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.StatusCode)
		if text := http.StatusText(e.StatusCode); text != "" {
			b.WriteString(" " + text)
		}
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	for i, m := range e.Errors {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%d: %s", m.Code, m.Message)
	}
	if e.MoreErrors > 0 {
		fmt.Fprintf(&b, " (and %d more)", e.MoreErrors)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	return b.String()
}

// Unwrap returns the underlying transport or decode error.
func (e *Error) Unwrap() error { return e.Err }

// HasCode reports whether the response carried the Cloudflare error code.
func (e *Error) HasCode(code int) bool {
	for _, m := range e.Errors {
		if m.Code == code {
			return true
		}
	}
	return false
}

// IsAuth reports whether the call was refused for its credential: HTTP 401
// or 403, or Cloudflare's authentication error codes under any status.
func (e *Error) IsAuth() bool {
	return e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden ||
		e.HasCode(CodeAuthenticationError) || e.HasCode(CodeInvalidAccessToken)
}

// Cloudflare error codes the exporter reacts to.
const (
	CodeAuthenticationError = 10000
	CodeInvalidAccessToken  = 9109
)

// StatusCode returns the HTTP status of a failed call, or 0 when err is not
// an *Error or no response arrived.
func StatusCode(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

// ErrBackoff is wrapped by every error of a call refused, or answered 429,
// because the API's rate limit was reached.
var ErrBackoff = errors.New("rate limited by the Cloudflare API")

// BackoffError says the client is pausing its calls after an HTTP 429.
type BackoffError struct {
	// Remaining is how long the pause still lasts.
	Remaining time.Duration
	// Started is true for the 429 response that began the pause, false for
	// the calls refused without a request during it.
	Started bool
}

func (e *BackoffError) Error() string {
	if e.Started {
		return fmt.Sprintf("%s: no call for %s", ErrBackoff, e.Remaining.Round(time.Second))
	}
	return fmt.Sprintf("%s: not called, %s of backoff left", ErrBackoff, e.Remaining.Round(time.Second))
}

// Unwrap makes errors.Is(err, ErrBackoff) true.
func (e *BackoffError) Unwrap() error { return ErrBackoff }

// errTooLarge is returned when a body exceeds the configured limit.
type errTooLarge struct{ limit int64 }

func (e errTooLarge) Error() string {
	return fmt.Sprintf("response body larger than %d bytes (--cloudflare.max-response-bytes)", e.limit)
}
