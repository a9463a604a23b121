package exportertest

import (
	"testing"
	"time"
)

// Eventually checks cond until it holds, and fails the test if it does
// not within timeout: a wait on a condition, never a sleep and a check.
func Eventually(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
