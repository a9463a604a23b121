package api

import (
	"bufio"
	"bytes"
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/cespare/xxhash/v2"
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Between two answers of a list endpoint nearly every item is the same,
// byte for byte: apps rarely change, and a connector's record changes in
// one field, last_heartbeat, which a live connector renews about every 10
// seconds. So each item is recognised by a hash of its bytes (its
// heartbeat's value left out), and an item seen in the account's last
// answer is not decoded again: it is the same Connector or App, with the
// new heartbeat read from its bytes. Only new and changed items are
// decoded, and their repeated strings (versions, time zones, site IDs,
// app types) are stored once. The memo holds the last answer itself, the
// slice the caller got, and an index: no second copy of the fleet.

// memo is what is remembered of one endpoint's last answer for one
// account.
type memo[T any] struct {
	mu    sync.Mutex
	state memoState[T]
}

type memoState[T any] struct {
	// answer is the last answer, as returned; index says where each of
	// its items is, by hash, and items what is known of its bytes.
	answer []T
	index  map[uint64]int32
	items  []memoItem
	// reused counts the items of the answer taken from the one before.
	reused int
}

func (m *memo[T]) load() memoState[T] {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state
}

func (m *memo[T]) store(s memoState[T]) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.state = s
}

// memoKey names a memo: an endpoint of an account.
type memoKey struct{ endpoint, account string }

// memos are a Client's memos.
type memos struct {
	mu     sync.Mutex
	byKey  map[memoKey]any
	intern interner
}

// get returns the memo of the endpoint of the account, made if new.
func memoFor[T any](ms *memos, endpoint, account string) *memo[T] {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if ms.byKey == nil {
		ms.byKey = map[memoKey]any{}
	}
	k := memoKey{endpoint, account}
	if m, ok := ms.byKey[k].(*memo[T]); ok {
		return m
	}
	m := &memo[T]{}
	ms.byKey[k] = m
	return m
}

// ForgetAnswers drops what is remembered of the accounts keep rejects:
// accounts no longer scraped must not hold their last fleet for ever.
func (c *Client) ForgetAnswers(keep func(accountID string) bool) {
	c.memos.mu.Lock()
	defer c.memos.mu.Unlock()
	for k := range c.memos.byKey {
		if !keep(k.account) {
			delete(c.memos.byKey, k)
		}
	}
}

// memoItem is what an item's unmarshaler learns of it: its hash, and
// where it was in the last answer (0: it was not; i+1: at i).
type memoItem struct {
	hash uint64
	hit  int32
	// length is the item's length in bytes, and [volStart, volEnd) where
	// its volatile member's value is in them (0, 0 without one): enough
	// to check that the bytes ahead are the same item, heartbeat aside,
	// without scanning them (expectedItem).
	length, volStart, volEnd int32
}

// volatileSpan returns where the value of the member key is in the object
// raw: one member of that name, its value a string without escapes or
// null. ok is false when the object cannot be read that way, and then it
// is not remembered; found is false when it has no such member.
func volatileSpan(raw []byte, key string) (start, end int, found, ok bool) {
	if key == "" {
		return 0, 0, false, true
	}
	i := memberName(raw, key, 0)
	switch {
	case i < 0:
		return 0, 0, false, true
	case memberName(raw, key, i+len(key)+2) >= 0:
		return 0, 0, false, false
	}
	i += len(key) + 2
	// After the padding filter, at most one byte of white space between
	// tokens.
	skip := func() {
		if i < len(raw) && (raw[i] == ' ' || raw[i] == '\n' || raw[i] == '\t' || raw[i] == '\r') {
			i++
		}
	}
	skip()
	if i >= len(raw) || raw[i] != ':' {
		// A string value that happens to read "key", not the member.
		return 0, 0, false, false
	}
	i++
	skip()
	start = i
	switch {
	case bytes.HasPrefix(raw[i:], []byte("null")):
		return start, i + 4, true, true
	case i < len(raw) && raw[i] == '"':
		j := bytes.IndexByte(raw[i+1:], '"')
		if j < 0 || bytes.IndexByte(raw[i+1:i+1+j], '\\') >= 0 {
			return 0, 0, false, false
		}
		return start, i + 2 + j, true, true
	}
	return 0, 0, false, false
}

// memberName returns where "key" is in raw from from on, quotes
// included, or -1. It looks for key and then for its quotes: a search
// starting with a quote, the most common byte of JSON, is ten times
// slower.
func memberName(raw []byte, key string, from int) int {
	for from < len(raw) {
		i := bytes.Index(raw[from:], []byte(key))
		if i < 0 {
			return -1
		}
		i += from
		if i > 0 && raw[i-1] == '"' && i+len(key) < len(raw) && raw[i+len(key)] == '"' {
			return i - 1
		}
		from = i + 1
	}
	return -1
}

// hashWithout is the hash of raw with the bytes [start, end) left out.
func hashWithout(raw []byte, start, end int) uint64 {
	var d xxhash.Digest
	d.Reset()
	_, _ = d.Write(raw[:start])
	_, _ = d.Write(raw[end:])
	return d.Sum64()
}

// memoEntry is one item of a list answer as read: what the memo needs of
// an item seen before (its hash, where it was, its volatile member's
// value), and the whole record only for an item not seen, so that the
// list of a fleet that did not change is small.
type memoEntry[W any] struct {
	memo     memoItem
	volatile string
	full     *W
}

// memoUnmarshaler decodes a memoEntry[W] through the memo's last answer:
// an item whose bytes, its volatile member's value left out, hash as one
// of the last answer's is not decoded, only that member's value kept. The
// others are decoded into a new W, charged to c like the arrays.
//
// The item's bytes are looked at where they are already read: whole in
// the decoder's buffer (most items), they are read as one value; across
// its end, they are found ahead in the buffered reader below it (br, 64
// KiB) and the decoder skips them. An item longer than that is decoded as
// it streams, never held whole.
func memoUnmarshaler[W, T any](last memoState[T], volatile string) func(br *bufio.Reader, c charger) *json.Unmarshalers {
	size := int64(reflect.TypeFor[W]().Size())
	return func(br *bufio.Reader, c charger) *json.Unmarshalers {
		list := json.UnmarshalFromFunc(func(dec *jsontext.Decoder, s *[]memoEntry[W]) error {
			return decodeCharged(dec, s, c, len(last.answer)+len(last.answer)/64)
		})
		var scratch []byte
		// next is where in the last answer the item ahead most likely is:
		// after the one before it.
		next := 0
		return json.JoinUnmarshalers(list, json.UnmarshalFromFunc(func(dec *jsontext.Decoder, e *memoEntry[W]) error {
			if dec.PeekKind() != '{' {
				return errors.ErrUnsupported
			}
			unread := dec.UnreadBuffer()
			candidate := next
			next++
			if candidate < len(last.items) {
				if it, vol, ok := expectedItem(unread, last.items[candidate]); ok {
					e.memo, e.volatile = it, unquoteSimple(vol)
					e.memo.hit = int32(candidate) + 1
					_, err := dec.ReadValue()
					return err
				}
			}
			inBuffer := objectAhead(unread) != nil
			raw := unread
			if inBuffer {
				var err error
				if raw, err = dec.ReadValue(); err != nil {
					return err
				}
			} else {
				raw, scratch = itemAhead(unread, br, scratch)
			}
			var h uint64
			if start, end, found, ok := volatileSpan(raw, volatile); raw != nil && ok {
				h = hashWithout(raw, start, end)
				e.memo = memoItem{hash: h, length: int32(len(raw)), volStart: int32(start), volEnd: int32(end)}
				if len(raw) > math.MaxInt32 {
					e.memo = memoItem{}
				}
				if i, hit := last.index[h]; hit {
					e.memo.hit, next = i+1, int(i)+1
					if found {
						e.volatile = unquoteSimple(raw[start:end])
					}
					if inBuffer {
						return nil
					}
					return dec.SkipValue()
				}
			}
			if err := c.charge(size); err != nil {
				return err
			}
			e.full = new(W)
			if !inBuffer {
				return json.UnmarshalDecode(dec, e.full)
			}
			// raw is the decoder's buffer, valid until its next read.
			err := json.Unmarshal(raw, e.full, dec.Options())
			var serr *json.SemanticError
			if errors.As(err, &serr) {
				serr.JSONPointer = dec.StackPointer() + serr.JSONPointer
			}
			return err
		}))
	}
}

// expectedItem checks whether the bytes ahead (unread, from the decoder's
// buffer) are it, the item of the last answer, but for its volatile value:
// where it ended, and the hash of the rest. That takes one pass of the
// hash over the item, not the scans of objectAhead and volatileSpan. It
// returns the item as now, with its volatile value.
func expectedItem(unread []byte, it memoItem) (now memoItem, vol []byte, ok bool) {
	if it.hash == 0 {
		return memoItem{}, nil, false
	}
	i := 0
	for i < len(unread) && (unread[i] == ',' || unread[i] == ' ' || unread[i] == '\n' || unread[i] == '\t' || unread[i] == '\r') {
		i++
	}
	b := unread[i:]
	start, end, length := int(it.volStart), int(it.volEnd), int(it.length)
	if end > start {
		// The new value's end: a string without escapes, or null.
		switch {
		case start >= len(b):
			return memoItem{}, nil, false
		case b[start] == '"':
			q := bytes.IndexByte(b[start+1:], '"')
			if q < 0 || bytes.IndexByte(b[start+1:start+1+q], '\\') >= 0 {
				return memoItem{}, nil, false
			}
			length += start + q + 2 - end
			end = start + q + 2
		case bytes.HasPrefix(b[start:], []byte("null")):
			length += start + 4 - end
			end = start + 4
		default:
			return memoItem{}, nil, false
		}
	}
	if length < 2 || length > len(b) || b[0] != '{' || b[length-1] != '}' || hashWithout(b[:length], start, end) != it.hash {
		return memoItem{}, nil, false
	}
	return memoItem{hash: it.hash, length: int32(length), volStart: int32(start), volEnd: int32(end)}, b[start:end], true
}

// itemAhead returns the JSON object the bytes ahead start with: those the
// decoder has not read (unread) followed by what br holds, copied into
// scratch, or after br has read ahead as far as it can. nil when it is
// longer.
func itemAhead(unread []byte, br *bufio.Reader, scratch []byte) (raw, _ []byte) {
	if br == nil {
		return nil, scratch
	}
	for _, fill := range []bool{false, true} {
		n := br.Buffered()
		if fill {
			if n == br.Size() {
				break
			}
			// Blocks until the buffer is full or the body ends: the
			// bytes are coming anyway.
			p, _ := br.Peek(br.Size())
			n = len(p)
		}
		more, _ := br.Peek(n)
		var s objectScan
		s.feed(unread) // holds no whole object: the caller looked
		inUnread := s.started
		if end := s.feed(more); end >= 0 {
			if !inUnread {
				// Valid until br reads again, after the caller is done.
				return more[s.start:end], scratch
			}
			scratch = append(append(scratch[:0], unread[s.start:]...), more[:end]...)
			return scratch, scratch
		}
	}
	return nil, scratch
}

// objectAhead returns the JSON object that starts the bytes ahead (after
// white space and a comma), or nil when it does not end within them.
func objectAhead(b []byte) []byte {
	var s objectScan
	if end := s.feed(b); end >= 0 {
		return b[s.start:end]
	}
	return nil
}

// objectScan finds the end of a JSON object fed in parts. It does not
// validate: the decoder does, as it reads the same bytes.
type objectScan struct {
	started           bool
	start             int // where the object starts in the first part
	depth             int
	inString, escaped bool
}

// feed scans the next part, and returns where in it the object ends (the
// index after its closing brace), or -1.
func (s *objectScan) feed(b []byte) int {
	j := 0
	if !s.started {
		i := bytes.IndexByte(b, '{')
		if i < 0 {
			return -1
		}
		s.started, s.start, j = true, i, i
	}
	for j < len(b) {
		if s.inString {
			if s.escaped {
				s.escaped = false
				j++
				continue
			}
			// Most of an object is strings: jump to their end.
			q := bytes.IndexByte(b[j:], '"')
			if q < 0 {
				q = len(b) - j
			}
			if bs := bytes.IndexByte(b[j:j+q], '\\'); bs >= 0 {
				s.escaped = true
				j += bs + 1
				continue
			}
			if j += q; j < len(b) {
				s.inString = false
				j++
			}
			continue
		}
		switch b[j] {
		case '"':
			s.inString = true
		case '{', '[':
			s.depth++
		case '}', ']':
			if s.depth--; s.depth == 0 {
				return j + 1
			}
		}
		j++
	}
	return -1
}

// remember returns the memo state of an answer out whose items carry what
// their unmarshaler learnt.
func remember[T any](out []T, items func(i int) memoItem) memoState[T] {
	s := memoState[T]{answer: out, index: make(map[uint64]int32, len(out)), items: make([]memoItem, len(out))}
	for i := range out {
		it := items(i)
		s.items[i] = it
		if it.hash != 0 {
			s.index[it.hash] = int32(i)
		}
		if it.hit > 0 {
			s.reused++
		}
	}
	return s
}

// unquoteSimple is a JSON string without escapes as a Go string; "" for
// null.
func unquoteSimple(v []byte) string {
	if len(v) < 2 || v[0] != '"' {
		return ""
	}
	return string(v[1 : len(v)-1])
}

// interner stores each short, oft-repeated string (a version, a time zone,
// a site ID) once, and the lists of them (days of the week, embargo
// dates). It forgets everything past maxInterned entries: a hostile answer
// of distinct values must not grow it.
type interner struct {
	mu      sync.Mutex
	strings map[string]string
	lists   map[string][]string
}

const (
	maxInterned       = 4096
	maxInternedLength = 64
)

func (in *interner) string(s string) string {
	if len(s) > maxInternedLength {
		return s
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	return intern(&in.strings, s, s)
}

func (in *interner) list(l []string) []string {
	if len(l) == 0 || len(l) > 16 {
		return l
	}
	key := strings.Join(l, "\x00")
	if len(key) > 4*maxInternedLength {
		return l
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	return intern(&in.lists, key, slices.Clip(l))
}

// intern returns what *m holds under key, else keeps v there and returns
// it; *m starts again past maxInterned entries.
func intern[V any](m *map[string]V, key string, v V) V {
	if kept, ok := (*m)[key]; ok {
		return kept
	}
	if *m == nil || len(*m) >= maxInterned {
		*m = map[string]V{}
	}
	(*m)[key] = v
	return v
}
