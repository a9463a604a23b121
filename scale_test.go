//go:build loadtest

package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
)

// The whole-process benchmark is a script, not part of the test suite: it
// runs only with the loadtest build tag.
//
//	go test -tags loadtest -run TestScale -v -count=1 . -scale.sizes=1000,10000,50000 -scale.scrapes=20
var (
	scaleSizes   = flag.String("scale.sizes", "1000,10000,50000", "connectors (and as many apps) per run")
	scaleScrapes = flag.Int("scale.scrapes", 20, "scrapes measured per size, after one warm-up scrape")
	scaleGzip    = flag.Bool("scale.gzip", true, "accept a gzipped page, as Prometheus does")
	scaleLatency = flag.Duration("scale.api-latency", 0, "time to the first byte of every simulated API answer")
	scaleRate    = flag.Int("scale.api-bytes-per-second", 0, "bandwidth of every simulated API answer; 0 for loopback speed")
)

// TestScale runs the built exporter against the simulated API holding one
// account of n connectors and n apps, scrapes it one scrape at a time as
// Prometheus does (gzip accepted), and reports per scrape: wall time, the
// exporter's CPU seconds (utime+stime from /proc/<pid>/stat), its peak RSS
// (VmHWM), and the time the slower of the two API calls takes on its own.
func TestScale(t *testing.T) {
	fmt.Printf("\nsimulated API: %s to the first byte, %d bytes/s (0: loopback), gzip %v\n", *scaleLatency, *scaleRate, *scaleGzip)
	fmt.Printf("\n| connectors + apps | page | API call (slowest) | scrape wall p50 | wall / API call | CPU per scrape | peak RSS |\n")
	fmt.Printf("|---|---|---|---|---|---|---|\n")
	for _, field := range strings.Split(*scaleSizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil {
			t.Fatal(err)
		}
		sim := simulator.NewServer([]simulator.Account{simulator.LargeFleet(time.Now(), n, n)}, simulator.WithToken(simulator.DemoToken),
			simulator.WithRateLimit(1<<30, 5*time.Minute), simulator.WithNetwork(*scaleLatency, *scaleRate))
		apiURL := sim.Start(t)
		p := startExporter(t, []string{"CLOUDFLARE_API_TOKEN=" + simulator.DemoToken, "CLOUDFLARE_ACCOUNT_ID=" + simulator.AccountLarge},
			"--cloudflare.api-url="+apiURL, "--cloudflare.timeout=60s")
		pid := p.cmd.Process.Pid
		hc := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{DisableCompression: !*scaleGzip}}

		page := scrapeOnce(t, hc, p.url) // warm-up
		if !strings.Contains(page, `cloudflare_magic_up{account_id="`+simulator.AccountLarge+`",endpoint="connectors"} 1`) {
			t.Fatalf("n=%d: the warm-up scrape failed", n)
		}
		cpuBefore := cpuSeconds(pid)
		var walls []time.Duration
		for range *scaleScrapes {
			start := time.Now()
			scrapeOnce(t, hc, p.url)
			walls = append(walls, time.Since(start))
		}
		cpu := (cpuSeconds(pid) - cpuBefore) / float64(*scaleScrapes)
		hwm, _ := procStatus(pid, "VmHWM")

		// The API calls on their own, from this process, for the ratio.
		var calls []time.Duration
		for range 5 {
			c := max(timeCall(t, hc, apiURL, "connectors"), timeCall(t, hc, apiURL, "apps"))
			calls = append(calls, c)
		}
		slices.Sort(walls)
		slices.Sort(calls)
		wall, call := walls[len(walls)/2], calls[len(calls)/2]
		fmt.Printf("| %d + %d | %.1f MiB | %s | %s | %.2f | %.0f ms | %.1f MiB |\n",
			n, n, float64(len(page))/(1<<20), call.Round(time.Millisecond), wall.Round(time.Millisecond),
			float64(wall)/float64(call), cpu*1000, float64(hwm)/1024)
		_ = p.cmd.Process.Kill()
	}
}

func scrapeOnce(t *testing.T, hc *http.Client, url string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url+"/metrics", nil)
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "60")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// timeCall times one GET of an endpoint of the simulated API, body read.
func timeCall(t *testing.T, hc *http.Client, apiURL, endpoint string) time.Duration {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, apiURL+"/accounts/"+simulator.AccountLarge+"/magic/"+endpoint, nil)
	req.Header.Set("Authorization", "Bearer "+simulator.DemoToken)
	start := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return time.Since(start)
}
