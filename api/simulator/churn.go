package simulator

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// WithChurn makes the fleet change between answers as a live one does, for
// benchmarks that must not see the same answer twice: every connectors
// answer renews each live connector's heartbeat (HeartbeatEvery > 0) to
// the server's clock, to the nanosecond, and between two consecutive
// answers of an account's connectors (apps) k connectors' notes (k apps'
// names) change. IDs never change, so the same items stay. Without it, or
// with k = 0 and no heartbeats to renew, the fleet is served as it is.
func WithChurn(k int) Option { return func(s *Server) { s.churn = max(k, 0); s.churnOn = true } }

// churnLocked counts an answer of endpoint from a and, from the second
// answer on, changes the next k items of a window that moves round the
// fleet. It is called with s.mu held, before a is copied for the answer.
func (s *Server) churnLocked(a *Account, endpoint string) {
	if !s.churnOn || (endpoint != EndpointConnectors && endpoint != EndpointApps) {
		return
	}
	key := faultKey{a.ID, endpoint}
	i := s.answers[key]
	s.answers[key]++
	if i == 0 || s.churn == 0 {
		return // the first answer serves the fleet as it is
	}
	// Changed on copies: an answer being encoded still holds the old slice.
	switch endpoint {
	case EndpointConnectors:
		a.Connectors = slices.Clone(a.Connectors)
		for _, j := range churnWindow(i, s.churn, len(a.Connectors)) {
			a.Connectors[j].Notes = revised(a.Connectors[j].Notes, i)
		}
	case EndpointApps:
		a.Apps = slices.Clone(a.Apps)
		for _, j := range churnWindow(i, s.churn, len(a.Apps)) {
			a.Apps[j].Name = revised(a.Apps[j].Name, i)
		}
	}
}

// churnWindow is the indexes the i-th answer changes: k of n from (i*k)
// mod n, wrapping round; all n when k >= n.
func churnWindow(i, k, n int) []int {
	if n == 0 {
		return nil
	}
	k = min(k, n)
	out := make([]int, k)
	for m := range out {
		out[m] = (i*k + m) % n
	}
	return out
}

// revised replaces the revision suffix of s with " (rev i)", so that a
// value changes every time it is revised yet never grows.
func revised(s string, i int) string {
	s, _, _ = strings.Cut(s, " (rev ")
	return fmt.Sprintf("%s (rev %d)", s, i)
}

// renewed returns the connector as a churning server answers it at now:
// a live one heartbeated now, so that no two answers agree.
func (c Connector) renewed(now time.Time) Connector {
	if c.HeartbeatEvery > 0 {
		c.LastHeartbeat = now.UTC().Format(time.RFC3339Nano)
	}
	return c
}
