package api

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/alecthomas/units"
)

// DefaultMaxInflightBytes bounds the bytes of API response bodies being
// read at once, by every call of a Client together: the process's memory
// bound, where MaxResponseBytes bounds one answer.
//
// It fits a 256 MiB pod. Decoding keeps about 0.8 times an answer's bytes
// as Go values, and the garbage made while decoding brings the peak heap
// to 1.5 to 2 times (measured on 50,000 connectors: 28 MB of JSON, 22 MiB
// decoded). 64 MiB in flight is thus at most about 128 MiB of heap for the
// answers being decoded, which leaves half the pod to the Go runtime, the
// last answers the exporter keeps and the page it writes. It lets the
// largest answer (DefaultMaxResponseBytes, 40 MiB) be read together with
// 24 MiB of others.
const DefaultMaxInflightBytes = 64 << 20

// inflightChunk is how much a body reader takes from the shared bound at a
// time: fewer round trips to the lock, at most this much unused per call.
const inflightChunk = 256 << 10

// inflight is the bound on the bytes of bodies being read. A call takes
// bytes as its body streams in and gives them all back when it ends. A
// call that finds the bound reached waits for other calls to end, until
// its context does; and when every call holding bytes is waiting for more
// (none would ever give any back), the last one to wait fails at once,
// so that the others can go on.
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

// inflightBody is a response body that takes from the bound what it reads.
type inflightBody struct {
	io.ReadCloser
	ctx          context.Context
	l            *inflight
	held, credit int64
}

func (l *inflight) body(ctx context.Context, body io.ReadCloser) *inflightBody {
	return &inflightBody{ReadCloser: body, ctx: ctx, l: l}
}

func (b *inflightBody) Read(p []byte) (int, error) {
	if b.credit == 0 {
		n := min(max(inflightChunk, int64(len(p))), b.l.limit-b.held)
		if n <= 0 {
			// This answer alone has taken the whole bound.
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

// done gives back everything the body took.
func (b *inflightBody) done() {
	b.l.release(b.held)
	b.held, b.credit = 0, 0
}
