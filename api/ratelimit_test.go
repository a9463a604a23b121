package api

import (
	"net/http"
	"testing"
	"time"
)

func TestParseRateLimit(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header http.Header
		want   RateLimit
	}{
		{"none", http.Header{}, RateLimit{}},
		// Past int64 nanoseconds: clamped, never negative.
		{"huge reset", http.Header{"Ratelimit": {`"default";r=5;t=99999999999`}},
			RateLimit{HasRemaining: true, Remaining: 5, Reset: 24 * time.Hour}},
		{"Cloudflare's shape", http.Header{
			"Ratelimit":        {`"default";r=1150;t=212`},
			"Ratelimit-Policy": {`"default";q=1200;w=300`},
		}, RateLimit{HasRemaining: true, Remaining: 1150, Reset: 212 * time.Second, HasPolicy: true, Limit: 1200, Window: 300 * time.Second}},
		{"token names and spaces", http.Header{
			"Ratelimit": {`default; r=0; t=1`},
		}, RateLimit{HasRemaining: true, Remaining: 0, Reset: time.Second}},
		{"first complete member of a list", http.Header{
			"Ratelimit":        {`"burst";r=5, "default";r=40;t=30`},
			"Ratelimit-Policy": {`"default";q=1200;w=300, "burst";q=10;w=1`},
		}, RateLimit{HasRemaining: true, Remaining: 40, Reset: 30 * time.Second, HasPolicy: true, Limit: 1200, Window: 300 * time.Second}},
		{"quoted separators", http.Header{
			"Ratelimit": {`"a;b,c";r=7;t=8`},
		}, RateLimit{HasRemaining: true, Remaining: 7, Reset: 8 * time.Second}},
		{"negative and fractional values are ignored", http.Header{
			"Ratelimit":        {`"default";r=-1;t=5`},
			"Ratelimit-Policy": {`"default";q=1.5;w=300`},
		}, RateLimit{}},
		{"garbage", http.Header{"Ratelimit": {`;;;==,,"`}, "Ratelimit-Policy": {"\x00"}}, RateLimit{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ParseRateLimit(tc.header); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", DefaultRetryAfter},
		{"30", 30 * time.Second},
		{"0", 0},
		{"soon", DefaultRetryAfter},
		{"-5", DefaultRetryAfter},
		{"Tue, 24 Nov 2026 12:02:00 GMT", 2 * time.Minute},
		{"Tue, 24 Nov 2026 11:00:00 GMT", 0},
		{"86400", MaxRetryAfter},
	} {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func FuzzParseRateLimit(f *testing.F) {
	for _, seed := range [][2]string{
		{`"default";r=1150;t=212`, `"default";q=1200;w=300`},
		{`default;r=0;t=1, "b";r=1;t=2`, `"x";q=1;w=1`},
		{`"a\";b";r=3;t=4`, ``},
		{`;;;`, `"`},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, ratelimit, policy string) {
		rl := ParseRateLimit(http.Header{"Ratelimit": {ratelimit}, "Ratelimit-Policy": {policy}})
		if rl.Remaining < 0 || rl.Reset < 0 || rl.Limit < 0 || rl.Window < 0 {
			t.Errorf("negative value from %q / %q: %+v", ratelimit, policy, rl)
		}
		if !rl.HasRemaining && (rl.Remaining != 0 || rl.Reset != 0) {
			t.Errorf("values without HasRemaining: %+v", rl)
		}
		if !rl.HasPolicy && (rl.Limit != 0 || rl.Window != 0) {
			t.Errorf("values without HasPolicy: %+v", rl)
		}
	})
}
