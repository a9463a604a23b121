package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RateLimit is what a response said about the caller's rate limit, from
// the headers Cloudflare sends on every REST response:
//
//	Ratelimit: "default";r=<remaining>;t=<seconds to reset>
//	Ratelimit-Policy: "<name>";q=<quota>;w=<window seconds>
//
// Each Has field is false when its header was absent or unreadable.
type RateLimit struct {
	HasRemaining bool
	Remaining    float64
	Reset        time.Duration

	HasPolicy bool
	Limit     float64
	Window    time.Duration
}

// ParseRateLimit reads the Ratelimit and Ratelimit-Policy headers. Only the
// first list member that carries the needed parameters is used; anything
// malformed is ignored rather than guessed at.
func ParseRateLimit(h http.Header) RateLimit {
	var rl RateLimit
	if params, ok := firstWithParams(h.Values("Ratelimit"), "r", "t"); ok {
		rl.HasRemaining = true
		rl.Remaining = params["r"]
		rl.Reset = seconds(params["t"])
	}
	if params, ok := firstWithParams(h.Values("Ratelimit-Policy"), "q", "w"); ok {
		rl.HasPolicy = true
		rl.Limit = params["q"]
		rl.Window = seconds(params["w"])
	}
	return rl
}

// seconds converts, clamped to a day: a hostile or broken header must not
// overflow into a negative duration.
func seconds(s float64) time.Duration {
	return time.Duration(min(s, 24*60*60) * float64(time.Second))
}

// firstWithParams scans the members of a structured-field list (RFC 9651)
// such as `"default";r=50;t=30, "burst";r=5;t=1` and returns the numeric
// parameters of the first member that has every one of keys, each a
// non-negative integer.
func firstWithParams(values []string, keys ...string) (map[string]float64, bool) {
	for _, v := range values {
		for _, member := range splitOutsideQuotes(v, ',') {
			params := map[string]float64{}
			parts := splitOutsideQuotes(member, ';')
			for _, p := range parts[1:] {
				k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
				if !ok {
					continue
				}
				n, err := strconv.ParseUint(strings.TrimSpace(val), 10, 53)
				if err != nil {
					continue
				}
				params[strings.ToLower(strings.TrimSpace(k))] = float64(n)
			}
			found := true
			for _, k := range keys {
				if _, ok := params[k]; !ok {
					found = false
					break
				}
			}
			if found {
				return params, true
			}
		}
	}
	return nil, false
}

// splitOutsideQuotes splits s at sep, except inside double-quoted strings
// (where a backslash escapes the next character).
func splitOutsideQuotes(s string, sep byte) []string {
	var parts []string
	inQuote, escaped, start := false, false, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case escaped:
			escaped = false
		case inQuote && c == '\\':
			escaped = true
		case c == '"':
			inQuote = !inQuote
		case !inQuote && c == sep:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// DefaultRetryAfter is how long the client pauses after a 429 that carries
// no usable Retry-After: Cloudflare answers every call with 429 for five
// minutes once the limit is passed.
const DefaultRetryAfter = 5 * time.Minute

// MaxRetryAfter caps the pause a 429 can impose, so that a bogus header
// cannot silence the exporter for days.
const MaxRetryAfter = time.Hour

// parseRetryAfter reads Retry-After as delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return DefaultRetryAfter
	}
	d := DefaultRetryAfter
	if n, err := strconv.ParseUint(v, 10, 32); err == nil {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), MaxRetryAfter)
}
