package api

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestCredentialsAuth(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	keyFile := filepath.Join(dir, "key")
	const token, key, email = "tok-0123456789", "key-0123456789", "ops@example.com"
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		c    Credentials
		// want is the Auth's type name, or wantErr a part of the error.
		want, wantErr string
	}{
		{name: "token", c: Credentials{Token: token}, want: "api.tokenAuth"},
		{name: "token file", c: Credentials{TokenFile: tokenFile}, want: "*api.tokenFileAuth"},
		{name: "email and key", c: Credentials{Email: email, Key: key}, want: "api.keyAuth"},
		{name: "email and key file", c: Credentials{Email: email, KeyFile: keyFile}, want: "api.keyAuth"},
		{name: "nothing", wantErr: "no Cloudflare credential: set --cloudflare.api-token-file, --cloudflare.api-token or CLOUDFLARE_API_TOKEN (or --cloudflare.api-email with"},
		{name: "token and key", c: Credentials{Token: token, Key: key}, wantErr: "both an API token and an email/API key are set"},
		{name: "token file and email", c: Credentials{TokenFile: tokenFile, Email: email}, wantErr: "both an API token and an email/API key are set"},
		{name: "token and token file", c: Credentials{Token: token, TokenFile: tokenFile}, wantErr: "both --cloudflare.api-token (or CLOUDFLARE_API_TOKEN) and --cloudflare.api-token-file are set: set one"},
		{name: "key and key file", c: Credentials{Email: email, Key: key, KeyFile: keyFile}, wantErr: "both --cloudflare.api-key (or CLOUDFLARE_API_KEY) and --cloudflare.api-key-file are set: set one"},
		{name: "key without email", c: Credentials{Key: key}, wantErr: "an API key needs the user's email: set --cloudflare.api-email or CLOUDFLARE_API_EMAIL"},
		{name: "key file without email", c: Credentials{KeyFile: keyFile}, wantErr: "an API key needs the user's email"},
		{name: "email without key", c: Credentials{Email: email}, wantErr: "--cloudflare.api-email needs the global API key"},
		{name: "missing token file", c: Credentials{TokenFile: filepath.Join(dir, "absent")}, wantErr: "read API token file"},
		{name: "missing key file", c: Credentials{Email: email, KeyFile: filepath.Join(dir, "absent")}, wantErr: "read API key file"},
		{name: "token with white space", c: Credentials{Token: "tok en"}, wantErr: "API token contains white space"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			auth, err := tc.c.Auth()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				for _, secret := range []string{token, key} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("the error quotes a secret: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := reflect.TypeOf(auth).String(); got != tc.want {
				t.Errorf("auth is %s, want %s", got, tc.want)
			}
		})
	}
}

func TestParseAccountIDs(t *testing.T) {
	const a, b = "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"
	for _, tc := range []struct {
		name    string
		in      []string
		want    []string
		wantErr string
	}{
		{name: "none"},
		{name: "empty values", in: []string{"", " , "}},
		{name: "one", in: []string{a}, want: []string{a}},
		{name: "repeated flag", in: []string{a, b}, want: []string{a, b}},
		{name: "comma-separated with spaces", in: []string{" " + a + " , " + b + ","}, want: []string{a, b}},
		{name: "upper case and repeats", in: []string{strings.ToUpper(a), a + "," + a}, want: []string{a}},
		{name: "malformed", in: []string{a, "acme"}, wantErr: `account ID "acme" is not 32 hex characters (--cloudflare.account-id, CLOUDFLARE_ACCOUNT_ID)`},
		{name: "too long", in: []string{a + "0"}, wantErr: "is not 32 hex characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseAccountIDs(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestByteSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want ByteSize
		str  string
	}{
		{"1048576", 1 << 20, "1MiB"},
		{"64MiB", 64 << 20, "64MiB"},
		{"512KiB", 512 << 10, "512KiB"},
		{"1000", 1000, "1000B"},
	} {
		var b ByteSize
		if err := b.Set(tc.in); err != nil {
			t.Errorf("Set(%q): %v", tc.in, err)
			continue
		}
		if b != tc.want || b.String() != tc.str {
			t.Errorf("Set(%q) = %d %q, want %d %q", tc.in, b, b.String(), tc.want, tc.str)
		}
	}
	for _, bad := range []string{"", "0", "-1", "0MiB", "-5KiB", "lots", "64 apples"} {
		var b ByteSize
		if err := b.Set(bad); err == nil || !strings.Contains(err.Error(), "is not a positive size") {
			t.Errorf("Set(%q) = %v, want an error", bad, err)
		}
	}
}
