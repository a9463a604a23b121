package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// What an answer may make the client hold is bounded before it is decoded:
// a hostile or broken server can send a 30 MB error message, a million
// errors, or a result of the wrong shape.

// maxErrorMessages is how many errors of one answer an *Error keeps; the
// rest are counted (Error.MoreErrors).
const maxErrorMessages = 5

// maxJSONString bounds every JSON string of an answer, member names
// included: the decoder must hold a whole string to read it, so a longer
// one is cut as it streams in. No field of the API comes near it; label
// values are cut far shorter later.
const maxJSONString = 64 << 10

// stringCutter passes JSON through, cutting every string to at most max
// bytes of its content (escapes are never split; a multi-byte character
// may be, which the decoder turns into U+FFFD). It keeps no more than the
// caller's buffer: the excess is dropped as it is read.
type stringCutter struct {
	r   io.Reader
	max int

	in   bool // inside a string
	drop bool // past max: dropping until the closing quote
	esc  bool // the previous byte was a backslash
	hex  int  // hex digits of a \u escape still to come
	n    int  // content bytes of the current string kept
}

func (c *stringCutter) Read(p []byte) (int, error) {
	for {
		n, err := c.r.Read(p)
		// Only ever return 0 bytes with an error: a reader that keeps
		// answering nothing makes bufio give up.
		if w := c.filter(p[:n]); w > 0 || err != nil {
			return w, err
		}
	}
}

// filter rewrites b in place and returns how many bytes it kept.
func (c *stringCutter) filter(b []byte) int {
	w, i := 0, 0
	// put moves kept bytes down over dropped ones; while nothing has been
	// dropped (nearly always) they are already in place.
	// (seg always starts at b[i], the byte being read.)
	put := func(seg []byte) {
		if w != i {
			copy(b[w:], seg)
		}
		w += len(seg)
	}
	keep := func(seg []byte) {
		if !c.drop && len(seg) > 0 {
			put(seg)
			c.n += len(seg)
		}
	}
	for i < len(b) {
		switch {
		case !c.in:
			j := bytes.IndexByte(b[i:], '"')
			if j < 0 {
				put(b[i:])
				return w
			}
			put(b[i : i+j+1])
			i += j + 1
			c.in, c.drop, c.esc, c.hex, c.n = true, false, false, 0, 0
		case c.esc:
			c.esc = false
			if b[i] == 'u' {
				c.hex = 4
			}
			keep(b[i : i+1])
			i++
		case c.hex > 0:
			c.hex--
			keep(b[i : i+1])
			i++
		default:
			if c.n >= c.max {
				c.drop = true
			}
			seg := b[i:]
			if !c.drop && len(seg) > c.max-c.n {
				seg = seg[:c.max-c.n]
			}
			// Two byte scans, not IndexAny: they are vectorised, and the
			// second runs over one string, which rarely holds a backslash.
			j := bytes.IndexByte(seg, '"')
			if j < 0 {
				j = len(seg)
			}
			if k := bytes.IndexByte(seg[:j], '\\'); k >= 0 {
				j = k
			}
			if j == len(seg) {
				j = -1
			}
			if j < 0 {
				keep(seg)
				i += len(seg)
				continue
			}
			keep(seg[:j])
			i += j
			if b[i] == '"' {
				b[w] = '"'
				w++
				c.in = false
			} else {
				keep(b[i : i+1])
				c.esc = true
			}
			i++
		}
	}
	return w
}

// list is the result of a list endpoint: a JSON array. Anything else, null
// included, is remembered and makes the call fail (check), rather than
// pass for an empty list: an account whose connectors answer null must not
// look like an account without connectors.
type list[T any] struct {
	items []T
	// kind is the result's JSON kind, 0 when the answer had no result.
	kind jsontext.Kind
}

func (l *list[T]) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	l.kind = dec.PeekKind()
	if l.kind != '[' {
		return dec.SkipValue()
	}
	return json.UnmarshalDecode(dec, &l.items)
}

func (l *list[T]) check() error {
	switch l.kind {
	case '[':
		return nil
	case 0:
		return errNoResult
	case 'n':
		return errNullResult
	}
	return fmt.Errorf("result is not a list but %s", kindName(l.kind))
}

var (
	errNoResult   = errors.New(`response has no "result"`)
	errNullResult = errors.New("result is null, not a list")
)

func kindName(k jsontext.Kind) string {
	switch k {
	case '{':
		return "an object"
	case '"':
		return "a string"
	case '0':
		return "a number"
	case 't', 'f':
		return "a boolean"
	}
	return "not JSON"
}

// messageList is the errors array of an envelope: the first
// maxErrorMessages entries, each cut to maxMessageBytes, and a count of the
// rest. Anything but an array is read as no errors.
type messageList struct {
	items []Message
	more  int
}

func (m *messageList) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	if dec.PeekKind() != '[' {
		return dec.SkipValue()
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	for dec.PeekKind() != ']' {
		if len(m.items) == maxErrorMessages {
			m.more++
			if err := dec.SkipValue(); err != nil {
				return err
			}
			continue
		}
		var e restError
		switch dec.PeekKind() {
		case '{':
			if err := json.UnmarshalDecode(dec, &e); err != nil {
				return err
			}
		case '[':
			// Not an error object; its text is not worth holding.
			e.Message = "(a list where an error belongs)"
			if err := dec.SkipValue(); err != nil {
				return err
			}
		default:
			if err := e.Message.UnmarshalJSONFrom(dec); err != nil {
				return err
			}
		}
		m.items = append(m.items, e.message())
	}
	_, err := dec.ReadToken()
	return err
}

// restError is one entry of an envelope's errors array, read leniently:
// a code that is not a number is 0, and members other than these two are
// skipped without being held.
type restError struct {
	Code    number        `json:"code"`
	Message boundedString `json:"message"`
}

func (e *restError) message() Message {
	return Message{Code: e.Code.code(), Message: string(e.Message)}
}
