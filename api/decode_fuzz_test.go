package api

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// licenseKeyPair matches a well-formed license_key member of a JSON object.
var licenseKeyPair = regexp.MustCompile(`"license_key"\s*:\s*"(?:[^"\\]|\\.)*"`)

// FuzzDecodeBody feeds arbitrary bodies to the response decoder of both
// list endpoints. It must never panic, must fail on anything that is not a
// JSON object, and its errors must never repeat a license_key's value
// (checked for the secret marker the fixtures use).
func FuzzDecodeBody(f *testing.F) {
	for _, name := range []string{"connectors.json", "apps.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	for _, s := range []string{
		``, ` `, `null`, `[]`, `{}`, `<html><title>502</title></html>`,
		`{"success":false,"errors":[{"code":10000,"message":"Authentication error"}]}`,
		`{"success":true,"result":[{"id":"x","license_key":"LK-SECRET-1","last_heartbeat":"bad"}]}`,
		`{"success":true,"result":[{"id":"x","license_key":LK-SECRET-1}]}`,
		`{"success":true,"result":[{"managed_app_id":"m","type":7}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, decode := range []func() error{
			func() error { var e envelope[list[Connector]]; return decodeBody(response(body), &e, 1<<20, nil) },
			func() error { var e envelope[list[App]]; return decodeBody(response(body), &e, 1<<20, nil) },
		} {
			err := decode()
			trimmed := bytes.TrimLeft(body, " \t\r\n")
			if err == nil && (len(trimmed) == 0 || trimmed[0] != '{') {
				t.Fatalf("no error for a body that is not a JSON object: %q", body)
			}
			if err == nil {
				continue
			}
			outside := licenseKeyPair.ReplaceAll(body, nil)
			if strings.Contains(err.Error(), "LK-SECRET") && !bytes.Contains(outside, []byte("LK-SECRET")) {
				t.Fatalf("error repeats a license_key value: %v", err)
			}
		}
	})
}

func response(body []byte) *http.Response {
	return &http.Response{
		StatusCode: 200,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(bytes.NewReader(body)),
	}
}
