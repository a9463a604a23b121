package simulator_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
)

// answer fetches endpoint of the large account from sim and decodes its
// result into out.
func answer(t *testing.T, sim *simulator.Server, endpoint string, out any) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, simulator.PathPrefix+"/accounts/"+simulator.AccountLarge+"/magic/"+endpoint, nil)
	req.Header.Set("Authorization", "Bearer "+simulator.DemoToken)
	rec := httptest.NewRecorder()
	sim.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("%s: HTTP %d: %s", endpoint, rec.Code, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &struct{ Result any }{out}); err != nil {
		t.Fatal(err)
	}
}

// steppingClock advances a millisecond at every reading, so that two
// answers never share a clock reading whatever the machine's resolution.
func steppingClock(start time.Time) func() time.Time {
	var ms atomic.Int64
	return func() time.Time { return start.Add(time.Duration(ms.Add(1)) * time.Millisecond) }
}

func TestChurnChangesFewItemsAndEveryHeartbeat(t *testing.T) {
	const k = 3
	start := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	// 60 connectors hold both kinds that never heartbeat: the 18th and the 50th.
	fleet := simulator.LargeFleet(start, 60, 10)
	sim := simulator.NewServer([]simulator.Account{fleet}, simulator.WithToken(simulator.DemoToken),
		simulator.WithClock(steppingClock(start)), simulator.WithChurn(k))

	var connectors [3][]simulator.Connector
	var apps [3][]simulator.App
	for i := range connectors {
		answer(t, sim, simulator.EndpointConnectors, &connectors[i])
		answer(t, sim, simulator.EndpointApps, &apps[i])
	}
	for i := 1; i < len(connectors); i++ {
		prev, cur := connectors[i-1], connectors[i]
		if len(cur) != len(fleet.Connectors) || len(apps[i]) != len(fleet.Apps) {
			t.Fatalf("answer %d: %d connectors and %d apps, want the fleet's %d and %d", i, len(cur), len(apps[i]), len(fleet.Connectors), len(fleet.Apps))
		}
		notes, beats, live := 0, 0, 0
		for j := range cur {
			if cur[j].ID != prev[j].ID {
				t.Errorf("answer %d: connector %d is %s, was %s", i, j, cur[j].ID, prev[j].ID)
			}
			if cur[j].Notes != prev[j].Notes {
				notes++
			}
			if cur[j].LastHeartbeat != prev[j].LastHeartbeat {
				beats++
			}
			if fleet.Connectors[j].HeartbeatEvery > 0 {
				live++
			}
		}
		names := 0
		for j := range apps[i] {
			if apps[i][j].Name != apps[i-1][j].Name {
				names++
			}
		}
		if notes != k || names != k || beats != live || live == len(cur) {
			t.Errorf("answer %d against %d: %d notes, %d app names, %d heartbeats changed; want %d, %d, and the %d live connectors' (of %d)",
				i, i-1, notes, names, beats, k, k, live, len(cur))
		}
	}
	if _, err := time.Parse(time.RFC3339Nano, connectors[2][0].LastHeartbeat); err != nil {
		t.Errorf("renewed heartbeat: %v", err)
	}
}

func TestNoChurnWithoutTheOption(t *testing.T) {
	start := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	sim := simulator.NewServer([]simulator.Account{simulator.LargeFleet(start, 20, 10)},
		simulator.WithToken(simulator.DemoToken), simulator.WithClock(func() time.Time { return start }))
	var c1, c2 []simulator.Connector
	var a1, a2 []simulator.App
	answer(t, sim, simulator.EndpointConnectors, &c1)
	answer(t, sim, simulator.EndpointApps, &a1)
	answer(t, sim, simulator.EndpointConnectors, &c2)
	answer(t, sim, simulator.EndpointApps, &a2)
	b1, _ := json.Marshal([]any{c1, a1})
	b2, _ := json.Marshal([]any{c2, a2})
	if string(b1) != string(b2) {
		t.Error("two answers differ without WithChurn, on a stopped clock")
	}
}
