//go:build loadtest

package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
)

// The load test is a script, not part of the test suite: it runs only with
// the loadtest build tag.
//
//	go test -tags loadtest -run TestLoad -v -count=1 . \
//	    -load.scrapers=100 -load.duration=30s -load.api-latency=100ms
var (
	loadScrapers   = flag.Int("load.scrapers", 100, "concurrent scrapers")
	loadDuration   = flag.Duration("load.duration", 30*time.Second, "how long to scrape")
	loadAPILatency = flag.Duration("load.api-latency", 100*time.Millisecond, "latency of every simulated API answer")
	loadMinInt     = flag.Duration("load.min-interval", 0, "--cloudflare.min-interval of the exporter")
)

var upZero = regexp.MustCompile(`(?m)^cloudflare_magic_up\{[^}]*\} 0$`)

// TestLoad runs the built exporter against the simulated API (the demo
// fleet, two accounts) and has many scrapers scrape it back to back, as
// many Prometheus servers would. It reports scrape latency, API calls,
// errors and the exporter's memory and CPU.
func TestLoad(t *testing.T) {
	sim, apiURL := startSimulatedAPI(t)
	for _, ep := range []string{simulator.EndpointConnectors, simulator.EndpointApps} {
		sim.SetFault("", ep, simulator.Fault{Delay: *loadAPILatency})
	}
	p := startExporter(t, tokenEnv(apiURL), "--cloudflare.api-url="+apiURL,
		"--cloudflare.min-interval="+loadMinInt.String())
	pid := p.cmd.Process.Pid
	// One scrape first, so "before" is the process at rest after warm-up.
	p.get(t, "/metrics")
	rssBefore, _ := procStatus(pid, "VmRSS")
	cpuBefore := cpuSeconds(pid)
	callsBefore := sim.Calls(simulator.EndpointConnectors) + sim.Calls(simulator.EndpointApps)

	var (
		mu        sync.Mutex
		latencies []time.Duration
		errs      = map[string]int{}
	)
	stop := time.Now().Add(*loadDuration)
	var wg sync.WaitGroup
	for range *loadScrapers {
		wg.Go(func() {
			hc := &http.Client{Timeout: 15 * time.Second}
			for time.Now().Before(stop) {
				req, _ := http.NewRequest(http.MethodGet, p.url+"/metrics", nil)
				req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "10")
				start := time.Now()
				resp, err := hc.Do(req)
				var body []byte
				if err == nil {
					body, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				elapsed := time.Since(start)
				mu.Lock()
				switch {
				case err != nil:
					errs["transport: "+err.Error()]++
				case resp.StatusCode != http.StatusOK:
					errs["HTTP "+strconv.Itoa(resp.StatusCode)]++
				case upZero.Match(body):
					errs["up 0"]++
				}
				latencies = append(latencies, elapsed)
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	rssAfter, _ := procStatus(pid, "VmRSS")
	hwm, _ := procStatus(pid, "VmHWM")
	cpu := cpuSeconds(pid) - cpuBefore
	calls := sim.Calls(simulator.EndpointConnectors) + sim.Calls(simulator.EndpointApps) - callsBefore
	slices.Sort(latencies)
	pct := func(q float64) time.Duration { return latencies[int(q*float64(len(latencies)-1))] }
	nerr := 0
	for _, n := range errs {
		nerr += n
	}
	fmt.Printf("\nload: %d scrapers for %s, simulated API latency %s, --cloudflare.min-interval=%s\n",
		*loadScrapers, *loadDuration, *loadAPILatency, *loadMinInt)
	fmt.Printf("| scrapes | p50 | p99 | max | API calls | errors | RSS before | RSS after | peak RSS | CPU |\n")
	fmt.Printf("|---|---|---|---|---|---|---|---|---|---|\n")
	fmt.Printf("| %d | %s | %s | %s | %d | %d | %.1f MiB | %.1f MiB | %.1f MiB | %.2f s |\n",
		len(latencies), pct(0.5).Round(100*time.Microsecond), pct(0.99).Round(100*time.Microsecond),
		latencies[len(latencies)-1].Round(100*time.Microsecond), calls, nerr,
		float64(rssBefore)/1024, float64(rssAfter)/1024, float64(hwm)/1024, cpu)
	for e, n := range errs {
		fmt.Printf("error %q: %d\n", e, n)
	}
	if nerr > 0 {
		t.Errorf("%d scrapes failed", nerr)
	}
}

// procStatus reads a kB value such as VmRSS from /proc/<pid>/status.
func procStatus(pid int, key string) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, key+":"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return 0, fmt.Errorf("%s not in /proc/%d/status", key, pid)
}

// cpuSeconds is the user plus system CPU time of a process, from
// /proc/<pid>/stat.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses.
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100 // USER_HZ is 100 on Linux
}
