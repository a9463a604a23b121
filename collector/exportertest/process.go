package exportertest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// Process is a running exporter.
type Process struct {
	// URL is where it listens, http://127.0.0.1:port.
	URL  string
	Logs *LogBuffer
	Cmd  *exec.Cmd
}

// listeningRE finds the listen address in a logfmt or JSON log line.
var listeningRE = regexp.MustCompile(`msg="Listening on" address=(\S+)|"address":"([^"]+)","caller":"[^"]*","level":"info","msg":"Listening on"`)

// Launch runs the binary, under wrapper when given (such as prlimit:
// wrapper... binary args), on a free loopback port with args and env (and
// nothing of the test's own environment but PATH, which could carry a
// credential), and returns once it listens. It is killed when the test
// ends; its log is shown if the test failed.
func Launch(t testing.TB, wrapper, env []string, args ...string) *Process {
	t.Helper()
	return LaunchBinary(t, Binary(), wrapper, env, args...)
}

// LaunchBinary is Launch with another build of the exporter, such as an
// earlier version a benchmark compares with.
func LaunchBinary(t testing.TB, binary string, wrapper, env []string, args ...string) *Process {
	t.Helper()
	argv := append(append(slices.Clone(wrapper), binary, "--web.listen-address=127.0.0.1:0"), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &Process{Logs: &LogBuffer{}, Cmd: cmd}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("exporter log:\n%s", p.Logs.String())
		}
	})
	addr := make(chan string, 1)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(p.Logs, line)
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1] + m[2]:
				default:
				}
			}
		}
		_, _ = io.Copy(p.Logs, stderr) // a line too long for the scanner
	}()
	select {
	case a := <-addr:
		p.URL = "http://" + a
	case <-exited:
		t.Fatalf("exporter exited at startup; log:\n%s", p.Logs.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("exporter did not start listening; log:\n%s", p.Logs.String())
	}
	return p
}

// Start is Launch without a wrapper, then WaitReady.
func Start(t testing.TB, env []string, args ...string) *Process {
	t.Helper()
	p := Launch(t, nil, env, args...)
	p.WaitReady(t)
	return p
}

// WaitReady waits, for at most 10 s, until /-/ready answers 200.
func (p *Process) WaitReady(t testing.TB) {
	t.Helper()
	Eventually(t, "the exporter to be ready", 10*time.Second, func() bool {
		resp, err := http.Get(p.URL + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// Get fetches path and returns the status and the body.
func (p *Process) Get(t testing.TB, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, p.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return Fetch(t, http.DefaultClient, req)
}

// Fetch sends req with hc and returns the status and the whole body; an
// error fails the test.
func Fetch(t testing.TB, hc *http.Client, req *http.Request) (int, string) {
	t.Helper()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// ScrapeUntil fetches /metrics until ready accepts the page, for at most
// 10 s, and returns that page.
func (p *Process) ScrapeUntil(t testing.TB, what string, ready func(page string) bool) string {
	t.Helper()
	var page string
	Eventually(t, "/metrics to have "+what, 10*time.Second, func() bool {
		_, page = p.Get(t, "/metrics")
		return ready(page)
	})
	return page
}

// Exit runs the binary with args and env until it exits, for at most 10
// s, and returns its exit status and its stderr.
func Exit(t testing.TB, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(Binary(), append([]string{"--web.listen-address=127.0.0.1:0"}, args...)...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, strings.TrimSpace(stderr.String())
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("the exporter started instead of failing; stderr:\n%s", stderr.String())
		return 0, ""
	}
}

// Families returns the cloudflare_magic_* families a page declares.
func Families(page string) map[string]bool {
	served := map[string]bool{}
	for _, m := range typeLineRE.FindAllStringSubmatch(page, -1) {
		served[m[1]] = true
	}
	return served
}

var typeLineRE = regexp.MustCompile(`(?m)^# TYPE (cloudflare_magic_\S+) `)
