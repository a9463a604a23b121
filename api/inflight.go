package api

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/alecthomas/units"
)

// DefaultMaxInflightBytes bounds the memory of API answers being read at
// once, by every call of a Client together: their bytes as they arrive,
// and the arrays decoding makes of them (chargedSlice). It is the
// process's memory bound, where MaxResponseBytes bounds one answer.
//
// It fits a 256 MiB pod. Decoding keeps about 0.8 times an answer's bytes
// as Go values, and the garbage made while decoding brings the peak heap
// to 1.5 to 2 times (measured on 50,000 connectors: 28 MB of JSON, 22 MiB
// decoded). 64 MiB in flight is thus at most about 128 MiB of heap for the
// answers being decoded, which leaves half the pod to the Go runtime, the
// last answers the exporter keeps and the page it writes. 50,000
// connectors take 57 MB of it (28 MB of bytes, 28 MB of arrays); the
// largest connectors answer it lets through holds 65,536.
const DefaultMaxInflightBytes = 64 << 20

// inflightChunk is how much a body reader takes from the shared bound at a
// time: fewer round trips to the lock, at most this much unused per call.
const inflightChunk = 256 << 10

// inflight is the bound on the memory of answers being read. A call takes
// bytes as its body streams in and its decoding allocates, and gives them
// all back when it ends. A call that finds the bound reached waits for
// other calls to end, until its context does; and when every call holding
// bytes is waiting for more (none would ever give any back), the last one
// to wait fails at once, so that the others can go on.
type inflight struct {
	limit int64

	mu   sync.Mutex
	used int64
	// holders are the calls holding bytes, blocked those of them waiting
	// for more.
	holders, blocked int
	// wake is closed, and replaced, whenever bytes are given back; gen
	// counts those times.
	wake chan struct{}
	gen  uint64
}

func newInflight(limit int64) *inflight {
	return &inflight{limit: limit, wake: make(chan struct{})}
}

// InflightError is a call that failed because API answers being read at
// once reached Config.MaxInflightBytes.
type InflightError struct {
	Limit int64
	// Err is why the call stopped waiting: its context's error, or nil
	// when every call reading an answer was waiting for the others.
	Err error
	// whole is true when the answer being read has alone taken the whole
	// bound: read past its own limit, it is too large, not crowded out.
	whole bool
}

func (e *InflightError) Error() string {
	s := fmt.Sprintf("API answers being read at once reached --cloudflare.max-inflight-bytes (%s)", units.Base2Bytes(e.Limit))
	if e.Err != nil {
		return s + ": gave up waiting: " + e.Err.Error()
	}
	return s
}

func (e *InflightError) Unwrap() error { return e.Err }

// acquire takes n more bytes for a call that holds *held.
func (l *inflight) acquire(ctx context.Context, held *int64, n int64) error {
	l.mu.Lock()
	for {
		if l.used+n <= l.limit {
			l.used += n
			if *held == 0 {
				l.holders++
			}
			*held += n
			l.mu.Unlock()
			return nil
		}
		if *held > 0 && l.blocked+1 >= l.holders {
			l.mu.Unlock()
			return &InflightError{Limit: l.limit}
		}
		wake, gen := l.wake, l.gen
		if *held > 0 {
			l.blocked++
		}
		l.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
		}
		l.mu.Lock()
		if *held > 0 && l.gen == gen {
			// Not woken by a release, which counts blocked afresh.
			l.blocked--
		}
		if err := ctx.Err(); err != nil {
			l.mu.Unlock()
			return &InflightError{Limit: l.limit, Err: err}
		}
	}
}

// release gives back what a call holds.
func (l *inflight) release(held int64) {
	if held == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.used -= held
	l.holders--
	// Every waiter wakes and, should it still not fit, counts itself again.
	l.blocked = 0
	l.gen++
	close(l.wake)
	l.wake = make(chan struct{})
}

// inflightBody is a response body that takes from the bound what it reads,
// and what decoding it allocates (charge).
type inflightBody struct {
	io.ReadCloser
	ctx          context.Context
	l            *inflight
	held, credit int64
	// decoded is what charge took; prepaid is what prepay gave and charge
	// has yet to use.
	decoded, prepaid int64
	// err is why a charge failed.
	err error
}

func (l *inflight) body(ctx context.Context, body io.ReadCloser) *inflightBody {
	return &inflightBody{ReadCloser: body, ctx: ctx, l: l}
}

func (b *inflightBody) Read(p []byte) (int, error) {
	if b.credit == 0 {
		n := min(max(inflightChunk, int64(len(p))), b.l.limit-b.held)
		if n <= 0 {
			// This answer alone has taken the whole bound: with what its
			// decoding made, or with its bytes only.
			if b.decoded > 0 {
				return 0, errDecodedTooLarge{limit: b.l.limit}
			}
			return 0, &InflightError{Limit: b.l.limit, whole: true}
		}
		if err := b.l.acquire(b.ctx, &b.held, n); err != nil {
			return 0, err
		}
		b.credit = n
	}
	p = p[:min(int64(len(p)), b.credit)]
	n, err := b.ReadCloser.Read(p)
	b.credit -= int64(n)
	return n, err
}

// charge takes n more bytes for what decoding the body allocates; a nil
// body charges nothing.
func (b *inflightBody) charge(n int64) error {
	switch {
	case b == nil:
		return nil
	case b.err != nil:
		return b.err
	}
	b.decoded += n
	use := min(n, b.prepaid)
	b.prepaid -= use
	if n -= use; n <= b.credit {
		b.credit -= n
		return nil
	}
	n -= b.credit
	if b.held+n > b.l.limit {
		// This answer alone needs more than the whole bound.
		b.err = errDecodedTooLarge{limit: b.l.limit}
		return b.err
	}
	if err := b.l.acquire(b.ctx, &b.held, n); err != nil {
		b.err = err
		return err
	}
	b.credit = 0
	return nil
}

// prepay gives n bytes the body already took to the next charges.
func (b *inflightBody) prepay(n int64) {
	if b != nil {
		b.prepaid += n
	}
}

// errDecodedTooLarge is an answer that needs more memory to decode than
// the whole bound on answers being read.
type errDecodedTooLarge struct{ limit int64 }

func (e errDecodedTooLarge) Error() string {
	return fmt.Sprintf("response needs more than %s of memory to decode (--cloudflare.max-inflight-bytes)", units.Base2Bytes(e.limit))
}

// done gives back everything the body took.
func (b *inflightBody) done() {
	b.l.release(b.held)
	b.held, b.credit = 0, 0
}
