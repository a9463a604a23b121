package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"runtime"

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

// maxJSONBareToken bounds a number or a literal (true, false, null): the
// decoder holds it whole too. A float needs about 25 bytes; a longer one
// fails the call.
const maxJSONBareToken = 1 << 10

// errLongToken is an answer holding a number (or what would be one) longer
// than maxJSONBareToken.
var errLongToken = fmt.Errorf("response body holds a JSON number of more than %d bytes", maxJSONBareToken)

// padFilter passes JSON through, removing what the decoder would otherwise
// have to hold without bound, as it streams in:
//   - every string is cut to at most max bytes of its content (escapes are
//     never split; a multi-byte character may be, which the decoder turns
//     into U+FFFD);
//   - a run of whitespace between tokens is kept as its first byte: the
//     decoder keeps the whitespace after a token until the next one
//     arrives, so endless padding would grow its buffer to the answer's
//     limit;
//   - a number longer than maxJSONBareToken fails the answer (err).
//
// It keeps no more than the caller's buffer: the excess is dropped as it is
// read. The bytes dropped still count toward the answer's limit, which is
// applied below it.
type padFilter struct {
	r   io.Reader
	max int
	// err is errLongToken once such a token was met.
	err error

	in    bool // inside a string
	drop  bool // past max: dropping until the closing quote
	esc   bool // the previous byte was a backslash
	hex   int  // hex digits of a \u escape still to come
	n     int  // content bytes of the current string kept
	space bool // outside strings, the last byte kept was whitespace
	bare  int  // bytes of the number or literal being read
}

func (c *padFilter) Read(p []byte) (int, error) {
	for {
		n, err := c.r.Read(p)
		w := c.filter(p[:n])
		if c.err != nil {
			return w, c.err
		}
		// Only ever return 0 bytes with an error: a reader that keeps
		// answering nothing makes bufio give up.
		if w > 0 || err != nil {
			return w, err
		}
	}
}

// filter rewrites b in place and returns how many bytes it kept.
func (c *padFilter) filter(b []byte) int {
	w, i := 0, 0
	// put moves kept bytes down over dropped ones; while nothing has been
	// dropped they are already in place.
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
			j := i
			for ; j < len(b); j++ {
				switch b[j] {
				case ' ', '\t', '\r', '\n':
					c.bare = 0
					if c.space {
						// Drop the rest of the run: b[i:j] is kept.
						put(b[i:j])
						i = j + 1
						continue
					}
					c.space = true
					continue
				case '"', '{', '}', '[', ']', ',', ':':
					c.bare = 0
				default:
					if c.bare++; c.bare > maxJSONBareToken {
						c.err = errLongToken
						put(b[i:j])
						return w
					}
				}
				c.space = false
				if b[j] == '"' {
					break
				}
			}
			if j == len(b) {
				put(b[i:])
				return w
			}
			put(b[i : j+1])
			i = j + 1
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
	case '[':
		return "a list"
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
	Code    errorCode   `json:"code"`
	Message messageText `json:"message"`
}

// messageText is an error message: a JSON string, cut to maxMessageBytes,
// or the text of a number or literal. An array or an object is skipped
// token by token, never held whole, and named for what it is.
type messageText string

func (m *messageText) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	if k := dec.PeekKind(); k == '[' || k == '{' {
		*m = messageText("(" + kindName(k) + " where a message belongs)")
		return dec.SkipValue()
	}
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	*m = messageText(bound(jsonText(v)))
	return nil
}

// errorCode is an error's code, read as number is; an array or an object
// is skipped without being held, and is no code.
type errorCode struct{ number }

func (c *errorCode) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	if k := dec.PeekKind(); k == '[' || k == '{' {
		c.state = numberBad
		return dec.SkipValue()
	}
	return c.number.UnmarshalJSONFrom(dec)
}

func (e *restError) message() Message {
	return Message{Code: e.Code.code(), Message: string(e.Message)}
}

// Decoding can make more of an answer than it holds: `{},` is 3 bytes of
// JSON and a connector of 216 bytes, `"",` a string header of 16. Every
// JSON array of an answer is therefore decoded element by element, and
// what its slice takes beyond the bytes it was decoded from is taken from
// the bound on answers being read before it is allocated. An answer's
// bytes were taken as they arrived; an element of a connector's 566 bytes
// pays for its 216-byte slot, an element of 3 bytes does not.

// charger takes bytes from the bound on answers being read.
type charger interface {
	// charge takes n bytes, from what prepay gave first.
	charge(n int64) error
	// prepay gives n bytes already taken (an element's own, or an array
	// outgrown and collected) to the next charges.
	prepay(n int64)
}

// chargedSlices are the unmarshalers of every slice type of the answers,
// charging c as they grow, and more. TestEverySliceIsCharged keeps the
// list whole.
func chargedSlices(c charger, more ...*json.Unmarshalers) json.Options {
	return json.WithUnmarshalers(json.JoinUnmarshalers(append(more,
		chargedSlice[string](c),
		chargedSlice[memoEntry[wireConnector]](c),
		chargedSlice[memoEntry[wireApp]](c),
		chargedSlice[Site](c),
		chargedSlice[Account](c),
		chargedSlice[Snapshot](c),
		chargedSlice[SnapshotTunnel](c),
		chargedSlice[SnapshotInterface](c),
		chargedSlice[SnapshotNetdev](c),
		chargedSlice[SnapshotMount](c),
		chargedSlice[SnapshotThermal](c),
		chargedSlice[boundedString](c),
	)...))
}

// largeGarbage is the size from which an outgrown array is collected at
// once: the garbage of growing slices must not pile up to the heap's next
// goal while the bound counts only the arrays in use. Smaller ones add up
// to less than twice it.
const largeGarbage = 8 << 20

// chargedSlice decodes a JSON array into a []E. Each growth of the slice
// is charged to c in full before it is made, as the array outgrown and the
// new one are both in memory while it is copied; the outgrown one then
// goes to the next charges (prepay), collected first when large. Each
// element prepays its share of the bytes it was read from, up to its
// size. Anything but an array is left to the decoder, which reads null as
// nil and fails on the rest.
func chargedSlice[E any](c charger) *json.Unmarshalers {
	return json.UnmarshalFromFunc(func(dec *jsontext.Decoder, s *[]E) error {
		return decodeCharged(dec, s, c, 0)
	})
}

// decodeCharged decodes a JSON array into s, charging c as it grows. With
// a hint (the length of the last answer) it is made that long at once,
// charged as well, so that a list of about the same length grows once,
// not by doubling.
func decodeCharged[E any](dec *jsontext.Decoder, s *[]E, c charger, hint int) error {
	if dec.PeekKind() != '[' {
		return errors.ErrUnsupported
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	size := int64(reflect.TypeFor[E]().Size())
	out := (*s)[:0]
	if hint > 0 && cap(out) == 0 {
		if err := c.charge(int64(hint) * size); err != nil {
			return err
		}
		out = make([]E, 0, hint)
	}
	for dec.PeekKind() != ']' {
		if len(out) == cap(out) {
			grown := max(1, 2*cap(out))
			if err := c.charge(int64(grown) * size); err != nil {
				return err
			}
			outgrown := int64(cap(out)) * size
			// Not slices.Grow, whose append rounds 2x up to about 2.4x.
			out = append(make([]E, 0, grown), out...)
			if outgrown >= largeGarbage {
				runtime.GC()
			}
			c.prepay(outgrown)
		}
		out = out[:len(out)+1]
		start := dec.InputOffset()
		if err := json.UnmarshalDecode(dec, &out[len(out)-1]); err != nil {
			return err
		}
		c.prepay(min(dec.InputOffset()-start, size))
	}
	if out == nil {
		out = []E{}
	}
	*s = out
	_, err := dec.ReadToken()
	return err
}
