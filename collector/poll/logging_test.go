package poll

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
)

// TestFailureLogHoldsAcrossAccounts: the same failure met by a thousand
// accounts is one line, not a thousand; a minute later the next one says
// how often it was held back and by how many accounts. A different
// failure is a line of its own.
func TestFailureLogHoldsAcrossAccounts(t *testing.T) {
	var logs bytes.Buffer
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	l := newFailureLogger(log.NewLogfmtLogger(&logs), func() time.Time { return now })
	fail := func(account int, endpoint, why string) {
		id := fmt.Sprintf("%032x", account)
		l.log(id, endpoint, fmt.Errorf("%s for account %s: GET /accounts/%s/magic/%s: %s", endpoint, id, id, endpoint, why))
	}
	for round := range 3 {
		for a := range 1000 {
			fail(a, "connectors", "HTTP 500 Internal Server Error")
			fail(a, "apps", ErrBudget.Error())
		}
		if round == 0 {
			fail(7, "connectors", "HTTP 403 Forbidden")
		}
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3 (one per failure):\n%s", len(lines), logs.String())
	}
	logs.Reset()
	now = now.Add(time.Minute)
	fail(999, "connectors", "HTTP 500 Internal Server Error")
	if got := logs.String(); !strings.Contains(got, fmt.Sprintf("account_id=%032x", 999)) || !strings.Contains(got, "repeated=2999 since=1m0s accounts=1000") {
		t.Errorf("a minute later: %q, want the repeats and the accounts counted", got)
	}
}
