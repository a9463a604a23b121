package api_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
)

func TestQueryEdgeHTTPFailures(t *testing.T) {
	for _, tc := range []struct {
		name       string
		fault      simulator.Fault
		auth       api.Auth
		wantStatus int
		wantAuth   bool
		attempts   int
		want       []string
	}{
		{name: "bad token", auth: mustAuth(api.TokenAuth("not-the-token")), wantStatus: 403, wantAuth: true, attempts: 1,
			want: []string{"HTTP 403 Forbidden", "9109: Invalid access token"}},
		{name: "401", fault: simulator.Fault{Status: 401, Errors: []simulator.Message{{Code: 10000, Message: "Authentication error"}}},
			wantStatus: 401, wantAuth: true, attempts: 1, want: []string{"HTTP 401 Unauthorized", "10000: Authentication error"}},
		{name: "429", fault: simulator.Fault{Status: 429, Header: http.Header{"Retry-After": {"30"}}, Body: `{"errors":[{"message":"rate limited"}]}`},
			wantStatus: 429, attempts: 1, want: []string{"HTTP 429", "no call for 30s", "rate limited"}},
		{name: "500 with an HTML page", fault: simulator.Fault{Status: 500, Body: "<html><title>oops</title></html>", ContentType: "text/html"},
			wantStatus: 500, attempts: 2, want: []string{"HTTP 500", "not JSON", "(after 2 attempts)"}},
		{name: "body cut short", fault: simulator.Fault{Body: `{"data":{"viewer":{"accounts":[{"tunnel_health":[{"count":1`, CutAfter: 30},
			wantStatus: 200, attempts: 2, want: []string{"read response body"}},
		{name: "truncated JSON", fault: simulator.Fault{Body: `{"data":{"viewer":{"accounts":[{"tunnel_health":[`},
			wantStatus: 200, attempts: 1, want: []string{"truncated JSON"}},
		{name: "server echoes the credential", fault: simulator.Fault{Status: 400, Body: `{"errors":[{"message":"bad header Bearer ` + simulator.DemoToken + `"}]}`},
			wantStatus: 400, attempts: 1, want: []string{"HTTP 400", "bad header Bearer [REDACTED]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var observed []api.RequestInfo
			sim, c := newClient(t, api.Config{Auth: tc.auth, Observe: func(ri api.RequestInfo) { observed = append(observed, ri) }})
			_, other := newClient(t, api.Config{}) // the same fleet, so the same schema
			schema := discover(t, other, simulator.AccountRetail)
			sim.SetFault("", simulator.EndpointGraphQL, tc.fault)
			res, err := query(t, c, simulator.AccountRetail, schema)
			var apiErr *api.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v (%T), result %+v", err, err, res)
			}
			msg := err.Error()
			assertNoSecret(t, "error", msg)
			if !strings.HasPrefix(msg, "POST /graphql (account "+simulator.AccountRetail+")") {
				t.Errorf("error does not say what was called: %s", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			if apiErr.StatusCode != tc.wantStatus || apiErr.IsAuth() != tc.wantAuth || apiErr.Endpoint != api.EndpointGraphQL || apiErr.Attempts != tc.attempts {
				t.Errorf("status %d auth %v endpoint %q attempts %d", apiErr.StatusCode, apiErr.IsAuth(), apiErr.Endpoint, apiErr.Attempts)
			}
			if len(observed) != tc.attempts || observed[0].Endpoint != api.EndpointGraphQL {
				t.Errorf("observed %+v", observed)
			}
			if tc.wantStatus == 429 {
				if c.GraphQLBackoffRemaining() == 0 || c.BackoffRemaining() != 0 {
					t.Errorf("backoff: GraphQL %v, REST %v", c.GraphQLBackoffRemaining(), c.BackoffRemaining())
				}
				if _, err := c.ListApps(context.Background(), simulator.AccountLabs); err != nil {
					t.Errorf("REST paused by a GraphQL 429: %v", err)
				}
			}
		})
	}
}

// TestQueryEdgeRetryStartsAfresh: an answer cut short after a dataset was
// read is retried; the rows and counts of the attempt that failed must not
// add to those of the answer that came.
func TestQueryEdgeRetryStartsAfresh(t *testing.T) {
	sim, c := newClient(t, api.Config{})
	schema := discover(t, c, simulator.AccountRetail)
	clean, err := query(t, c, simulator.AccountRetail, schema)
	if err != nil {
		t.Fatal(err)
	}
	row := `{"count":null,"avg":{"tunnelState":1},"dimensions":{"tunnelName":"","colo":"LHR","datetimeFiveMinutes":"2026-11-24T11:50:00Z"}}`
	body := `{"data":{"viewer":{"accounts":[{"tunnel_health":[` + row + `,` + row + `],"tunnel_traffic":[` + strings.Repeat(" ", 1000) + `]}]}}}`
	sim.SetFault("", simulator.EndpointGraphQL, simulator.Fault{Body: body, CutAfter: len(body) - 500, Times: 1})
	res, err := query(t, c, simulator.AccountRetail, schema)
	if err != nil {
		t.Fatal(err)
	}
	if n := sim.GraphQLStats(simulator.AccountRetail).Data; n != 3 {
		t.Fatalf("%d GraphQL queries served, want 1 clean + 2 attempts", n)
	}
	got, want := res.TunnelHealth, clean.TunnelHealth
	if got.Rejected != want.Rejected || got.EmptyTunnelNames != want.EmptyTunnelNames || len(got.Rows) != len(want.Rows) || !got.Newest.Equal(want.Newest) {
		t.Errorf("after a retry: %d rows, %d rejected, %d empty names, newest %v; alone: %d, %d, %d, %v",
			len(got.Rows), got.Rejected, got.EmptyTunnelNames, got.Newest, len(want.Rows), want.Rejected, want.EmptyTunnelNames, want.Newest)
	}
}

func TestGraphQLRateLimitIsItsOwn(t *testing.T) {
	clk := simulator.NewClock(testNow)
	sim := simulator.NewServer(simulator.DemoFleet(testNow), simulator.WithClock(clk.Now),
		simulator.WithToken(simulator.DemoToken), simulator.WithGraphQLRateLimit(4, 5*time.Minute))
	c, err := api.New(api.Config{BaseURL: sim.Start(t), Auth: mustAuth(api.TokenAuth(simulator.DemoToken)), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	schema := discover(t, c, simulator.AccountLabs) // 2 of the 4
	mustQuery := func() *api.EdgeResult {
		t.Helper()
		res, err := query(t, c, simulator.AccountLabs, schema)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	for i := range 2 {
		if res := mustQuery(); res.TunnelHealth.Err != nil {
			t.Fatalf("query %d within the budget: %v", i+1, res.TunnelHealth.Err)
		}
	}
	res := mustQuery()
	if err := res.TunnelHealth.Err; err == nil || !err.Quota {
		t.Fatalf("past the budget: %v", err)
	}
	if got := c.GraphQLBackoffRemaining(); got != 5*time.Minute {
		t.Errorf("GraphQL backoff %v, want 5m", got)
	}
	if _, err := c.ListConnectors(context.Background(), simulator.AccountLabs); err != nil {
		t.Errorf("REST within its own budget: %v", err)
	}
	clk.Add(5*time.Minute + time.Second)
	if res := mustQuery(); res.TunnelHealth.Err != nil {
		t.Errorf("after the pause: %v", res.TunnelHealth.Err)
	}
	if n := sim.GraphQLCalls(simulator.AccountLabs); n != 6 {
		t.Errorf("%d GraphQL requests, want 6", n)
	}
}

// TestEdgeDeniedAccount: an account the credential may not read fails
// discovery with a permission error (in one request), and a query built
// from an earlier discovery fails every dataset alike.
func TestEdgeDeniedAccount(t *testing.T) {
	sim, c := newClient(t, api.Config{})
	schema := discover(t, c, simulator.AccountLabs)
	sim.Deny(simulator.AccountLabs)
	_, err := c.DiscoverEdge(context.Background(), simulator.AccountLabs)
	if !api.IsPermission(err) || !strings.Contains(err.Error(), api.PermissionAnalyticsRead) {
		t.Errorf("discovery: %v", err)
	}
	if st := sim.GraphQLStats(simulator.AccountLabs); st.Discovery != 3 {
		t.Errorf("%d discovery requests, want 2 then 1", st.Discovery)
	}
	res, err := query(t, c, simulator.AccountLabs, schema)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range res.Statuses() {
		if st.Err == nil || !st.Err.Permission || !strings.Contains(st.Err.Error(), api.PermissionAnalyticsRead) {
			t.Errorf("%s: %v", st.Dataset, st.Err)
		}
	}
}

// TestDiscoverEdgeFailures: a failed discovery request is an *Error naming
// discovery; a quota answer pauses GraphQL queries.
func TestDiscoverEdgeFailures(t *testing.T) {
	sim, c := newClient(t, api.Config{})
	sim.SetFault("", simulator.EndpointGraphQL, simulator.Fault{Status: 500, Body: "oops", Times: 2})
	_, err := c.DiscoverEdge(context.Background(), simulator.AccountRetail)
	var apiErr *api.Error
	if !errors.As(err, &apiErr) || apiErr.Endpoint != api.EndpointGraphQLDiscovery || !strings.Contains(err.Error(), "discovery, account "+simulator.AccountRetail) {
		t.Errorf("discovery on HTTP 500: %v", err)
	}
	sim.SetFault("", simulator.EndpointGraphQL, simulator.Fault{GraphQL: &simulator.GraphQLFault{Quota: true}, Times: 1})
	_, err = c.DiscoverEdge(context.Background(), simulator.AccountRetail)
	var de *api.DatasetError
	if !errors.As(err, &de) || !de.Quota || c.GraphQLBackoffRemaining() == 0 {
		t.Errorf("discovery on a quota error: %v, backoff %v", err, c.GraphQLBackoffRemaining())
	}
}

func TestEdgeWindow(t *testing.T) {
	at := func(h, m, s int) time.Time { return time.Date(2026, 11, 24, h, m, s, 0, time.UTC) }
	for _, tc := range []struct {
		name               string
		newest, now        time.Time
		wantStart, wantEnd time.Time
	}{
		{"nothing held", time.Time{}, at(12, 1, 30), at(11, 45, 0), at(12, 5, 0)},
		{"on a boundary", time.Time{}, at(12, 0, 0), at(11, 45, 0), at(12, 5, 0)},
		{"newest held recently", at(11, 55, 0), at(12, 1, 30), at(11, 55, 0), at(12, 5, 0)},
		{"newest held long ago", at(9, 0, 0), at(12, 1, 30), at(11, 45, 0), at(12, 5, 0)},
		{"newest in the future", at(13, 0, 0), at(12, 1, 30), at(12, 0, 0), at(12, 5, 0)},
		{"another zone", at(11, 55, 0).In(time.FixedZone("X", 5*3600+1800)), at(12, 1, 30), at(11, 55, 0), at(12, 5, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start, end := api.EdgeWindow(tc.newest, tc.now)
			if !start.Equal(tc.wantStart) || !end.Equal(tc.wantEnd) {
				t.Errorf("EdgeWindow = [%v, %v), want [%v, %v)", start, end, tc.wantStart, tc.wantEnd)
			}
		})
	}
}

// TestEdgeWindowAsksOnlyForNewBuckets: a refresh that passes the newest
// bucket held gets that bucket again (it may have grown) and newer ones only.
func TestEdgeWindowAsksOnlyForNewBuckets(t *testing.T) {
	_, c := newClient(t, api.Config{})
	schema := discover(t, c, simulator.AccountRetail)
	first, err := query(t, c, simulator.AccountRetail, schema)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.QueryEdge(context.Background(), simulator.AccountRetail, api.EdgeQuery{Schema: schema,
		Newest: map[string]time.Time{api.DatasetTunnelHealth: first.TunnelHealth.Newest}, Now: testNow.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.TunnelHealth.Rows {
		if r.Time.Before(first.TunnelHealth.Newest) {
			t.Fatalf("row of %v asked again", r.Time)
		}
	}
	if len(res.TunnelHealth.Rows) != 27 {
		t.Errorf("%d rows, want the newest bucket's 27", len(res.TunnelHealth.Rows))
	}
}

func TestQueryEdgeLargeFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("large fleet")
	}
	sim := simulator.NewServer([]simulator.Account{simulator.LargeFleet(testNow, 10000, 10)},
		simulator.WithClock(func() time.Time { return testNow }), simulator.WithToken(simulator.DemoToken))
	c, err := api.New(api.Config{BaseURL: sim.Start(t), Auth: mustAuth(api.TokenAuth(simulator.DemoToken))})
	if err != nil {
		t.Fatal(err)
	}
	res := mustEdge(t, c, simulator.AccountLarge)
	if st := sim.GraphQLStats(simulator.AccountLarge); st.Data != 1 || st.Errored != 0 {
		t.Errorf("requests %+v", st)
	}
	h := res.TunnelHealth
	if !h.Truncated || len(h.Rows) != api.MaxEdgeRows || h.Err != nil {
		t.Errorf("health: truncated %v, %d rows, %v", h.Truncated, len(h.Rows), h.Err)
	}
	for _, st := range res.Statuses() {
		if st.Err != nil {
			t.Errorf("%s: %v", st.Dataset, st.Err)
		}
	}
}
