package server

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/go-kit/log"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/exposition"
)

// escapeValues escapes, in every value logged (strings, errors, and
// anything else that prints as text), the characters label values are
// cleaned of (exposition.Control): an API answer carries names and IDs
// the exporter logs, and a bidirectional control character there would
// make a line read differently from what it holds. Each becomes \uXXXX, so
// the log shows it was there; invalid UTF-8 becomes \xNN. Tabs and line
// breaks are left to the log's encoder, which escapes them.
func escapeValues(next log.Logger) log.Logger {
	return log.LoggerFunc(func(kv ...any) error {
		var out []any // a copy, made at the first value changed
		for i := 1; i < len(kv); i += 2 {
			var s string
			switch v := kv[i].(type) {
			case string:
				s = v
			case error:
				s = v.Error()
			case fmt.Stringer:
				s = v.String()
			default:
				continue
			}
			if !needsEscape(s) {
				continue
			}
			if out == nil {
				out = append([]any(nil), kv...)
			}
			out[i] = escape(s)
		}
		if out == nil {
			return next.Log(kv...)
		}
		return next.Log(out...)
	})
}

// needsEscape is a quick scan for what escape changes.
func needsEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0x7f || c == 0xc2 || c == 0xe2 || c >= 0xf8 {
			return true
		}
	}
	return !utf8.ValidString(s)
}

func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r != '\t' && r != '\n' && r != '\r' && exposition.Control(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}
