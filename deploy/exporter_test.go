package deploy

// The built exporter, for the tests that need a page it serves: built once,
// when first needed, from the module root.

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
)

// exporterName is the binary's name, and the Dockerfile's entry point.
const exporterName = "cloudflare_magic_exporter"

var (
	binDir    string
	buildOnce sync.Once
	binary    string
	buildErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cme-deploy")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// exporterBinary builds the exporter from the module root the first time a
// test asks for it, and returns its path.
func exporterBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		path := filepath.Join(binDir, exporterName)
		out, err := exec.Command("go", "build", "-o", path, "..").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("building the exporter: %v\n%s", err, out)
			return
		}
		binary = path
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

// defaultPort is the exporter's default listen address, as --help gives it
// (":10192").
func defaultPort(t *testing.T) string {
	t.Helper()
	out, _ := exec.Command(exporterBinary(t), "--help").CombinedOutput()
	m := regexp.MustCompile(`--web\.listen-address=(:\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("--help shows no default --web.listen-address:\n%s", out)
	}
	return string(m[1])
}

// syncBuffer collects a process's output while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type exporterProcess struct {
	url  string
	logs *syncBuffer
}

// listeningRE finds the listen address in a logfmt log line.
var listeningRE = regexp.MustCompile(`msg="Listening on" address=(\S+)`)

// startExporter runs the exporter on a free loopback port with args and env
// (and nothing of the test's own environment that could carry a
// credential), and waits until it is ready.
func startExporter(t *testing.T, env []string, args ...string) *exporterProcess {
	t.Helper()
	args = append([]string{"--web.listen-address=127.0.0.1:0"}, args...)
	cmd := exec.Command(exporterBinary(t), args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &exporterProcess{logs: &syncBuffer{}}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("exporter log:\n%s", p.logs.String())
		}
	})
	addr := make(chan string, 1)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(p.logs, line)
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case a := <-addr:
		p.url = "http://" + a
	case <-exited:
		t.Fatalf("exporter exited at startup; log:\n%s", p.logs.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("exporter did not start listening; log:\n%s", p.logs.String())
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if code, _ := p.get(t, "/-/ready"); code == http.StatusOK {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("exporter never ready; log:\n%s", p.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (p *exporterProcess) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(p.url + path)
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

// servedFamilies returns the cloudflare_magic_* families a page declares.
func servedFamilies(page string) map[string]bool {
	served := map[string]bool{}
	for _, m := range typeLineRE.FindAllStringSubmatch(page, -1) {
		served[m[1]] = true
	}
	return served
}

var typeLineRE = regexp.MustCompile(`(?m)^# TYPE (cloudflare_magic_\S+) `)

// startSimulatedAPI serves the demo fleet over HTTP, with the demo
// credentials.
func startSimulatedAPI(t *testing.T) (*simulator.Server, string) {
	t.Helper()
	sim := simulator.NewServer(simulator.DemoFleet(time.Now()),
		simulator.WithToken(simulator.DemoToken), simulator.WithKey(simulator.DemoEmail, simulator.DemoKey))
	return sim, sim.Start(t)
}

// tokenEnv is the environment that gives the exporter the demo token and
// both demo accounts.
func tokenEnv() []string {
	return []string{
		"CLOUDFLARE_API_TOKEN=" + simulator.DemoToken,
		"CLOUDFLARE_ACCOUNT_ID=" + simulator.AccountRetail + "," + simulator.AccountLabs,
	}
}
