package api

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
)

// TestMemoDecodesOnlyWhatChanged: a second answer whose connectors differ
// only by their heartbeats, but for a few changed, decodes those few, and
// gives what a full decode gives.
func TestMemoDecodesOnlyWhatChanged(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	clock := simulator.NewClock(now)
	fleet := simulator.LargeFleet(now, 3000, 3000)
	sim := simulator.NewServer([]simulator.Account{fleet}, simulator.WithClock(clock.Now), simulator.WithToken(simulator.DemoToken))
	auth, _ := TokenAuth(simulator.DemoToken)
	c, err := New(Config{BaseURL: sim.Start(t), Auth: auth})
	if err != nil {
		t.Fatal(err)
	}
	list := func(c *Client) ([]Connector, []App) {
		t.Helper()
		cs, err := c.ListConnectors(context.Background(), simulator.AccountLarge)
		if err != nil {
			t.Fatal(err)
		}
		as, err := c.ListApps(context.Background(), simulator.AccountLarge)
		if err != nil {
			t.Fatal(err)
		}
		return cs, as
	}
	memoC := memoFor[Connector](&c.memos, EndpointConnectors, simulator.AccountLarge)
	memoA := memoFor[App](&c.memos, EndpointApps, simulator.AccountLarge)
	list(c)
	if r := memoC.load().reused; r != 0 {
		t.Fatalf("%d reused from no answer", r)
	}
	// Ten seconds on: every live connector has a new heartbeat; three
	// change.
	clock.Add(10 * time.Second)
	changed := fleet.Connectors
	for _, i := range []int{5, 600, 2999} {
		changed[i].Notes = fmt.Sprintf("renamed %d", i)
	}
	changed[42].LastSeenVersion = "2026.11.0"
	sim.SetConnectors(simulator.AccountLarge, changed)
	gotC, gotA := list(c)
	if r := memoC.load().reused; r != 3000-4 {
		t.Errorf("%d of 3000 connectors reused, want all but the 4 changed", r)
	}
	if r := memoA.load().reused; r != 3000 {
		t.Errorf("%d of 3000 apps reused", r)
	}
	// The same as a fresh client decodes.
	fresh, err := New(Config{BaseURL: c.baseURL, Auth: auth})
	if err != nil {
		t.Fatal(err)
	}
	wantC, wantA := list(fresh)
	if !slices.EqualFunc(gotC, wantC, connectorsEqual) {
		for i := range gotC {
			if !connectorsEqual(gotC[i], wantC[i]) {
				t.Fatalf("connector %d: %+v %+v, a fresh decode gives %+v %+v", i, *gotC[i].ConnectorRecord, gotC[i], *wantC[i].ConnectorRecord, wantC[i])
			}
		}
	}
	if !slices.EqualFunc(gotA, wantA, appsEqual) {
		t.Error("apps differ from a fresh decode")
	}
	if gotC[5].Notes != "renamed 5" || gotC[42].LastSeenVersion != "2026.11.0" {
		t.Error("a changed connector kept its old fields")
	}
	if !gotC[7].LastHeartbeat.After(clock.Now().Add(-11 * time.Second)) {
		t.Errorf("a reused connector kept its old heartbeat %v", gotC[7].LastHeartbeat)
	}
}

func connectorsEqual(a, b Connector) bool {
	return reflect.DeepEqual(a.ConnectorRecord, b.ConnectorRecord) && a.LastHeartbeat.Equal(b.LastHeartbeat) &&
		slices.Equal(a.InvalidFields, b.InvalidFields)
}

func appsEqual(a, b App) bool { return reflect.DeepEqual(a.AppRecord, b.AppRecord) }

// TestVolatileSpan: the heartbeat is found only where it is the member.
func TestVolatileSpan(t *testing.T) {
	for _, tc := range []struct {
		raw       string
		found, ok bool
		value     string
	}{
		{`{"id":"x","last_heartbeat":"2026-11-24T12:00:00Z","notes":"n"}`, true, true, `"2026-11-24T12:00:00Z"`},
		{`{"id":"x", "last_heartbeat" : null}`, true, true, `null`},
		{`{"id":"x"}`, false, true, ``},
		{`{"notes":"last_heartbeat","id":"x"}`, false, false, ``},
		{`{"last_heartbeat":"a\"b"}`, false, false, ``},
		{`{"last_heartbeat":"a","last_heartbeat":"b"}`, false, false, ``},
	} {
		start, end, found, ok := volatileSpan([]byte(tc.raw), "last_heartbeat")
		if found != tc.found || ok != tc.ok || (found && tc.raw[start:end] != tc.value) {
			t.Errorf("%s: found %v ok %v value %q", tc.raw, found, ok, tc.raw[start:end])
		}
	}
}

func TestObjectScanAcrossParts(t *testing.T) {
	item := `{"a":"x\"}{","b":[{"c":"\\"}],"d":"\\\"}"}`
	text := ` , ` + item + `,{"next":1}`
	want := len(` , `) + len(item)
	for cut := 0; cut <= len(text); cut++ {
		var s objectScan
		end := s.feed([]byte(text[:cut]))
		if end < 0 {
			if end = s.feed([]byte(text[cut:])); end >= 0 {
				end += cut
			}
		}
		if end != want {
			t.Errorf("cut at %d: end %d, want %d", cut, end, want)
		}
	}
}
