package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log/level"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/exportertest"
)

func config(t *testing.T, format, lvl string) *promslog.Config {
	t.Helper()
	cfg := &promslog.Config{Level: promslog.NewLevel(), Format: promslog.NewFormat()}
	if err := cfg.Level.Set(lvl); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Format.Set(format); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestLoggersOneStream checks that the go-kit logger and the slog.Logger
// exporter-toolkit gets write the same keys in the same order: level, ts in
// UTC, caller, msg, then the rest.
func TestLoggersOneStream(t *testing.T) {
	var buf bytes.Buffer
	logger, slogger := NewLoggers(&buf, config(t, "logfmt", "info"))
	level.Info(logger).Log("msg", "from go-kit", "k", "v")
	slogger.Info("from slog", "k", "v")
	line := regexp.MustCompile(`^level=info ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z caller=server_test\.go:\d+ msg="from (go-kit|slog)" k=v$`)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got:\n%s", buf.String())
	}
	for _, l := range lines {
		if !line.MatchString(l) {
			t.Errorf("line %q does not match %s", l, line)
		}
	}
}

func TestLoggersJSON(t *testing.T) {
	var buf bytes.Buffer
	logger, slogger := NewLoggers(&buf, config(t, "json", "info"))
	level.Warn(logger).Log("msg", "from go-kit")
	slogger.Warn("from slog")
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("not JSON: %s", l)
		}
		for _, k := range []string{"level", "ts", "caller", "msg"} {
			if _, ok := rec[k]; !ok {
				t.Errorf("lacks %q: %s", k, l)
			}
		}
		if _, ok := rec["time"]; ok {
			t.Errorf("both time and ts: %s", l)
		}
	}
}

func TestLoggersLevel(t *testing.T) {
	var buf bytes.Buffer
	logger, slogger := NewLoggers(&buf, config(t, "logfmt", "warn"))
	level.Info(logger).Log("msg", "hidden")
	slogger.Info("hidden")
	level.Warn(logger).Log("msg", "shown")
	slogger.Warn("shown")
	if strings.Contains(buf.String(), "hidden") || strings.Count(buf.String(), "shown") != 2 {
		t.Errorf("at level warn:\n%s", buf.String())
	}
}

func TestSlogKeysOrder(t *testing.T) {
	var got []any
	next := loggerFunc(func(kv ...any) error { got = kv; return nil })
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))
	_ = slogKeys(next).Log("msg", "m", "caller", "x.go:1", "time", at, "k", "v", level.Key(), level.InfoValue())
	want := []any{level.Key(), level.InfoValue(), "ts", at.UTC(), "caller", "x.go:1", "msg", "m", "k", "v"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

type loggerFunc func(kv ...any) error

func (f loggerFunc) Log(kv ...any) error { return f(kv...) }

var listeningRE = regexp.MustCompile(`msg="Listening on" address=(\S+)\n`)

// serve runs Serve on a free loopback port with handler and returns its
// URL, the function that stops it, and the channel Serve's outcome arrives
// on.
func serve(t *testing.T, handler http.Handler, grace time.Duration) (url string, stop func(), done <-chan error, logs *exportertest.LogBuffer) {
	t.Helper()
	logs = &exportertest.LogBuffer{}
	logger, slogger := NewLoggers(logs, config(t, "logfmt", "info"))
	addrs := []string{"127.0.0.1:0"}
	systemd := false
	configFile := ""
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ran := make(chan struct{})
	out := make(chan error, 1)
	go func() {
		out <- Serve(ctx, Config{
			Handler:    handler,
			Web:        &web.FlagConfig{WebListenAddresses: &addrs, WebSystemdSocket: &systemd, WebConfigFile: &configFile},
			Background: []func(context.Context){func(ctx context.Context) { close(ran); <-ctx.Done() }},
			Logger:     logger,
			SLogger:    slogger,
			Grace:      grace,
		})
	}()
	url = "http://" + listeningRE.FindStringSubmatch(logs.Wait(t, `msg="Listening on"`, 5*time.Second))[1]
	<-ran
	return url, cancel, out, logs
}

// TestDrain stops the server while a request is in flight: a request that
// finishes within the grace period is answered whole; one that does not has
// its context cancelled when the grace period is up, and is answered then.
func TestDrain(t *testing.T) {
	const grace = 400 * time.Millisecond
	for _, tc := range []struct {
		name string
		// work is how long the handler takes unless cancelled.
		work    time.Duration
		want    string
		atLeast time.Duration
		atMost  time.Duration
	}{
		{"finishes in the grace period", 100 * time.Millisecond, "done", 0, grace},
		{"outlasts the grace period", time.Minute, "cancelled", grace, grace + time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			started := make(chan struct{})
			handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				close(started)
				select {
				case <-time.After(tc.work):
					fmt.Fprint(w, "done")
				case <-r.Context().Done():
					fmt.Fprint(w, "cancelled")
				}
			})
			url, stop, done, logs := serve(t, handler, grace)
			answer := make(chan string, 1)
			go func() {
				resp, err := http.Get(url)
				if err != nil {
					answer <- err.Error()
					return
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				answer <- fmt.Sprintf("%d %s", resp.StatusCode, b)
			}()
			<-started
			begin := time.Now()
			stop()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Serve: %v", err)
				}
			case <-time.After(grace + 3*time.Second):
				t.Fatal("Serve did not return")
			}
			took := time.Since(begin)
			if took < tc.atLeast || took > tc.atMost {
				t.Errorf("drained in %s, want %s to %s", took, tc.atLeast, tc.atMost)
			}
			if got := <-answer; got != "200 "+tc.want {
				t.Errorf("the request in flight got %q, want 200 %s", got, tc.want)
			}
			if !strings.Contains(logs.String(), `msg="shutting down: draining scrapes in flight" grace=400ms`) || !strings.Contains(logs.String(), `msg=stopped`) {
				t.Errorf("log:\n%s", logs.String())
			}
			// New connections are refused.
			if resp, err := http.Get(url); err == nil {
				resp.Body.Close()
				t.Error("still serving after the drain")
			}
		})
	}
}

func TestServeReportsListenError(t *testing.T) {
	var buf bytes.Buffer
	logger, slogger := NewLoggers(&buf, config(t, "logfmt", "info"))
	addrs := []string{"256.0.0.1:bad"}
	systemd := false
	configFile := ""
	err := Serve(context.Background(), Config{
		Handler: http.NotFoundHandler(),
		Web:     &web.FlagConfig{WebListenAddresses: &addrs, WebSystemdSocket: &systemd, WebConfigFile: &configFile},
		Logger:  logger, SLogger: slogger,
	})
	if err == nil {
		t.Fatal("Serve on a bad address returned nil")
	}
}

// TestLogEscapesControlCharacters: a value the API chose (a connector's
// name, an error quoting it) reaches the log with its control and
// bidirectional characters escaped, in both formats; the rest is kept.
func TestLogEscapesControlCharacters(t *testing.T) {
	for _, format := range []string{"logfmt", "json"} {
		var buf bytes.Buffer
		logger, slogger := NewLoggers(&buf, config(t, format, "info"))
		hostile := "txt\u202eexe.pdf \x1b[31mred\u0085 \xff — ok"
		level.Info(logger).Log("msg", "from go-kit", "name", hostile, "err", fmt.Errorf("bad %s", hostile))
		slogger.Info("from slog", "name", hostile)
		out := buf.String()
		for _, raw := range []string{"\u202e", "\x1b", "\u0085", "\xff"} {
			if strings.Contains(out, raw) {
				t.Errorf("%s: the log holds %q raw:\n%s", format, raw, out)
			}
		}
		for _, want := range []string{`u202e`, `u001b`, `u0085`, `xff`, "— ok"} {
			if n := strings.Count(out, want); n != 3 {
				t.Errorf("%s: %q %d times, want 3 (two go-kit values, one slog):\n%s", format, want, n, out)
			}
		}
	}
}
