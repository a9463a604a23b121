package poll

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/exportertest"
)

// TestBudgetServesLastAnswerAfterAnAbandonedCall: a call every scrape gave
// up on is no outcome; the answer before it is still what the budget
// guard serves when it refuses the next call.
func TestBudgetServesLastAnswerAfterAnAbandonedCall(t *testing.T) {
	f := newFetcher[int](0, 0, time.Now)
	f.budget = NewBudget(20, 10*time.Minute, nil) // two calls per minute
	if o := f.fetch(context.Background(), "a", func(context.Context) (int, error) { return 42, nil }); o.err != nil || o.result != 42 {
		t.Fatalf("first call: %+v", o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	go func() { <-started; cancel() }()
	o := f.fetch(ctx, "a", func(ctx context.Context) (int, error) {
		close(started)
		<-ctx.Done()
		return 0, ctx.Err()
	})
	if !errors.Is(o.err, context.Canceled) {
		t.Fatalf("abandoned call: %+v", o)
	}
	// The budget is spent: the guard answers with the last outcome, once
	// the abandoned call has left.
	exportertest.Eventually(t, "the abandoned call to leave", 5*time.Second, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.entries["a"].flight == nil
	})
	o = f.fetch(context.Background(), "a", func(context.Context) (int, error) {
		t.Error("the budget allowed a third call")
		return 0, nil
	})
	if o.err != nil || o.result != 42 || !o.cached {
		t.Errorf("refused call: %+v, want the last answer 42", o)
	}
}

// TestOlderCallDoesNotOverwriteNewerAnswer: a call that outlives a newer
// one (its scrapes gave up, and it ignores cancellation) must not replace
// the newer answer with its older failure.
func TestOlderCallDoesNotOverwriteNewerAnswer(t *testing.T) {
	f := newFetcher[int](time.Hour, 0, time.Now)
	release := make(chan struct{})
	// finished is closed once the old call's outcome is recorded, or not:
	// done runs after that, under no lock.
	finished := make(chan struct{})
	f.done = func(_ string, err error) {
		if err != nil && err.Error() == "old failure" {
			close(finished)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	go func() { <-started; cancel() }()
	f.fetch(ctx, "a", func(context.Context) (int, error) {
		close(started)
		<-release // deaf to cancellation
		return 0, errors.New("old failure")
	})
	if o := f.fetch(context.Background(), "a", func(context.Context) (int, error) { return 7, nil }); o.err != nil || o.result != 7 {
		t.Fatalf("newer call: %+v", o)
	}
	close(release)
	<-finished
	if o := f.fetch(context.Background(), "a", func(context.Context) (int, error) { return 0, errors.New("not reused") }); o.err != nil || o.result != 7 {
		t.Errorf("within min-interval: %+v, want the newer answer 7", o)
	}
}
