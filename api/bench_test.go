package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
)

// fleetSizes are the fleet sizes the benchmarks run at.
var fleetSizes = []int{1_000, 10_000, 50_000}

// payload fetches an endpoint's answer for a LargeFleet of n connectors and
// n apps from the simulated API, over HTTP, once.
func payload(b *testing.B, n int, endpoint string) []byte {
	b.Helper()
	sim := simulator.NewServer([]simulator.Account{simulator.LargeFleet(testNow, n, n)},
		simulator.WithClock(func() time.Time { return testNow }), simulator.WithToken(simulator.DemoToken))
	req, _ := http.NewRequest(http.MethodGet, sim.Start(b)+"/accounts/"+simulator.AccountLarge+"/magic/"+endpoint, nil)
	req.Header.Set("Authorization", "Bearer "+simulator.DemoToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("%d %v", resp.StatusCode, err)
	}
	return body
}

// replay answers every request with the same body, in memory, so that a
// benchmark measures the client's work and not the network's.
type replay []byte

func (r replay) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode: 200, Request: req,
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   io.NopCloser(bytes.NewReader(r)),
	}, nil
}

func benchmarkList(b *testing.B, endpoint string, list func(*api.Client) (int, error)) {
	for _, n := range fleetSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			body := payload(b, n, endpoint)
			c, err := api.New(api.Config{BaseURL: "http://replay.invalid/client/v4", Auth: mustAuth(api.TokenAuth(simulator.DemoToken)),
				HTTPClient: &http.Client{Transport: replay(body)}})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				got, err := list(c)
				if err != nil || got != n {
					b.Fatalf("decoded %d, err %v", got, err)
				}
			}
		})
	}
}

// BenchmarkDecodeConnectors measures ListConnectors on a LargeFleet
// answer, network aside.
func BenchmarkDecodeConnectors(b *testing.B) {
	benchmarkList(b, simulator.EndpointConnectors, func(c *api.Client) (int, error) {
		cs, err := c.ListConnectors(context.Background(), simulator.AccountLarge)
		return len(cs), err
	})
}

// BenchmarkDecodeApps measures ListApps on a LargeFleet answer, network
// aside.
func BenchmarkDecodeApps(b *testing.B) {
	benchmarkList(b, simulator.EndpointApps, func(c *api.Client) (int, error) {
		as, err := c.ListApps(context.Background(), simulator.AccountLarge)
		return len(as), err
	})
}
