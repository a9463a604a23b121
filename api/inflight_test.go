package api

import (
	"context"
	"errors"
	"testing"
	"time"

	"golang.org/x/sync/semaphore"
)

// TestInflightNeedsMoreThanASemaphore measures what the bound on answers in
// flight does that golang.org/x/sync/semaphore.Weighted, acquiring bytes,
// does not: calls take bytes as their answers stream in, without knowing
// their size, so two of them can each hold part of the bound and wait for
// more. Weighted then keeps both waiting until their deadlines, and both
// fail; with TryAcquire instead, a call fails though the other was about to
// give its bytes back. The bound fails at once only the call that can never
// be served (every holder waiting), and lets the others wait.
func TestInflightNeedsMoreThanASemaphore(t *testing.T) {
	const limit, half, chunk = 64 << 20, 32 << 20, inflightChunk
	deadline := 500 * time.Millisecond // 10s at the default --cloudflare.timeout

	t.Run("both hold half and need more", func(t *testing.T) {
		// Ours: one fails at once, the other goes on.
		l := newInflight(limit)
		var a, b int64
		if l.acquire(context.Background(), &a, half) != nil || l.acquire(context.Background(), &b, half) != nil {
			t.Fatal("the halves do not fit")
		}
		start := time.Now()
		aDone := make(chan error)
		go func() { aDone <- l.acquire(ctxFor(t, deadline), &a, chunk) }()
		waitFor(t, func() bool { l.mu.Lock(); defer l.mu.Unlock(); return l.blocked == 1 })
		errB := l.acquire(ctxFor(t, deadline), &b, chunk)
		var inflightErr *InflightError
		if !errors.As(errB, &inflightErr) || inflightErr.Err != nil {
			t.Errorf("b: %v, want to fail at once", errB)
		}
		l.release(b)
		if err := <-aDone; err != nil {
			t.Errorf("a: %v, want to go on", err)
		}
		ours := time.Since(start)

		// Weighted: both wait until their deadlines, and both fail.
		sem := semaphore.NewWeighted(limit)
		_ = sem.Acquire(context.Background(), half)
		_ = sem.Acquire(context.Background(), half)
		start = time.Now()
		errs := make(chan error, 2)
		for range 2 {
			go func() { errs <- sem.Acquire(ctxFor(t, deadline), chunk) }()
		}
		failed := 0
		for range 2 {
			if <-errs != nil {
				failed++
			}
		}
		weighted := time.Since(start)
		t.Logf("ours: one answer failed and the other went on after %s; semaphore.Weighted: %d of 2 failed, after %s (their deadline)",
			ours.Round(time.Microsecond), failed, weighted.Round(time.Millisecond))
		if failed != 2 || weighted < deadline {
			t.Errorf("Weighted: %d failed after %s; if it now resolves this, reconsider using it", failed, weighted)
		}
	})

	t.Run("one holder about to finish", func(t *testing.T) {
		// Ours: b waits for a's bytes and goes on.
		l := newInflight(limit)
		var a, b int64
		_ = l.acquire(context.Background(), &a, 40<<20)
		_ = l.acquire(context.Background(), &b, 24<<20)
		bDone := make(chan error)
		go func() { bDone <- l.acquire(ctxFor(t, deadline), &b, chunk) }()
		waitFor(t, func() bool { l.mu.Lock(); defer l.mu.Unlock(); return l.blocked == 1 })
		l.release(a) // a's answer is read
		if err := <-bDone; err != nil {
			t.Errorf("b: %v, want to go on once a is done", err)
		}

		// Weighted with TryAcquire, so that holders never wait for each
		// other: b fails though a was about to finish.
		sem := semaphore.NewWeighted(limit)
		_ = sem.Acquire(context.Background(), 40<<20)
		_ = sem.Acquire(context.Background(), 24<<20)
		if sem.TryAcquire(chunk) {
			t.Error("TryAcquire succeeded on a full semaphore")
		}
		t.Log("ours: b waited for a and went on; semaphore.Weighted with TryAcquire: b failed")
	})
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// waitFor waits until cond holds, for at most 5 seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
		time.Sleep(time.Millisecond)
	}
}
