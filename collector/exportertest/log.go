package exportertest

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// LogBuffer collects what a process or a logger writes while it runs; it
// is safe to read while written, and a test can wait for a line.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
	// written, when set, is closed at the next write: how Wait learns of
	// one without polling.
	written chan struct{}
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.written != nil {
		close(l.written)
		l.written = nil
	}
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Reset forgets everything written so far.
func (l *LogBuffer) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Reset()
}

// Wait returns the log once it contains substr, woken by each write; the
// test fails if it does not within timeout.
func (l *LogBuffer) Wait(t testing.TB, substr string, timeout time.Duration) string {
	t.Helper()
	return l.WaitUntil(t, fmt.Sprintf("%q", substr), timeout, func(log string) bool { return strings.Contains(log, substr) })
}

// WaitUntil returns the log once cond accepts it, woken by each write;
// the test fails if cond does not within timeout.
func (l *LogBuffer) WaitUntil(t testing.TB, what string, timeout time.Duration, cond func(log string) bool) string {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		s := l.b.String()
		if cond(s) {
			l.mu.Unlock()
			return s
		}
		if l.written == nil {
			l.written = make(chan struct{})
		}
		written := l.written
		l.mu.Unlock()
		select {
		case <-written:
		case <-deadline.C:
			t.Fatalf("the log never had %s within %s; log:\n%s", what, timeout, s)
			return s
		}
	}
}
