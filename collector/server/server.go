// Package server runs the exporter's HTTP server: the logger
// exporter-toolkit writes through, the listener with its limits, graceful
// drain on SIGTERM.
package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/exporter-toolkit/web"
	sloggokit "github.com/tjhop/slog-gokit"
)

// NewLoggers builds the go-kit logger the exporter logs with, writing to w
// in the format and at the level cfg gives, and an slog.Logger for
// exporter-toolkit that writes through the same go-kit logger, so there is
// one stream in one format.
func NewLoggers(w io.Writer, cfg *promslog.Config) (log.Logger, *slog.Logger) {
	w = log.NewSyncWriter(w)
	var base log.Logger
	if cfg.Format != nil && cfg.Format.String() == "json" {
		base = log.NewJSONLogger(w)
	} else {
		base = log.NewLogfmtLogger(w)
	}
	lvl := cfg.Level
	if lvl == nil {
		lvl = promslog.NewLevel()
	}
	allowed, err := level.Parse(lvl.String())
	if err != nil {
		allowed = level.InfoValue()
	}
	logger := level.NewFilter(base, level.Allow(allowed))
	logger = log.With(logger, "ts", log.DefaultTimestampUTC, "caller", log.DefaultCaller)
	// slog-gokit adds its own time and caller: it writes over the
	// undecorated base logger, so neither is doubled.
	return logger, slog.New(sloggokit.NewGoKitHandler(slogKeys(base), lvl))
}

// slogKeys puts the keys of a record from slog-gokit in the order and under
// the names the go-kit logger uses: level, ts (UTC), caller, then the rest.
func slogKeys(next log.Logger) log.Logger {
	return log.LoggerFunc(func(kv ...any) error {
		var lvl, ts, caller []any
		rest := make([]any, 0, len(kv))
		for i := 0; i+1 < len(kv); i += 2 {
			switch kv[i] {
			case level.Key():
				lvl = kv[i : i+2]
			case slog.TimeKey:
				t, ok := kv[i+1].(time.Time)
				if ok {
					ts = []any{"ts", t.UTC()}
				}
			case "caller":
				caller = kv[i : i+2]
			default:
				rest = append(rest, kv[i:i+2]...)
			}
		}
		out := make([]any, 0, len(kv))
		out = append(append(append(append(out, lvl...), ts...), caller...), rest...)
		return next.Log(out...)
	})
}

// ShutdownGrace is how long in-flight scrapes may finish after SIGTERM
// before their API calls are cancelled; the process exits within about a
// second more, inside the 5 s an orchestrator typically allows.
const ShutdownGrace = 3500 * time.Millisecond

// Config is what Serve needs.
type Config struct {
	// Handler serves every request.
	Handler http.Handler
	// Web holds exporter-toolkit's flags: listen addresses, systemd
	// socket activation, the web configuration file (TLS, basic auth).
	Web *web.FlagConfig
	// Background loops run while the server serves, until it stops.
	Background []func(context.Context)
	// Logger is the exporter's logger; SLogger the one exporter-toolkit
	// writes through (see NewLoggers).
	Logger  log.Logger
	SLogger *slog.Logger
	// Grace is how long requests in flight may finish once stopping;
	// ShutdownGrace when 0.
	Grace time.Duration
}

// Run serves until SIGTERM or SIGINT, then drains the requests in flight
// (see Serve).
func Run(cfg Config) error {
	stop, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer cancel()
	return Serve(stop, cfg)
}

// Serve runs the background loops and serves HTTP with exporter-toolkit
// until stop is done, then drains: requests in flight have cfg.Grace to
// finish; after it their contexts are cancelled, so that they answer at
// once (a scrape with up 0), and they have one second more. It returns nil
// after a drain, or the error that ended serving.
func Serve(stop context.Context, cfg Config) error {
	grace := cfg.Grace
	if grace <= 0 {
		grace = ShutdownGrace
	}
	background, stopBackground := context.WithCancel(context.Background())
	defer stopBackground()
	for _, loop := range cfg.Background {
		go loop(background)
	}
	// Requests run under requests: cancelling it ends the API calls of
	// those still running when the grace period is up.
	requests, cancelRequests := context.WithCancel(context.Background())
	defer cancelRequests()
	srv := &http.Server{
		Handler:           cfg.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return requests },
	}
	served := make(chan error, 1)
	go func() { served <- web.ListenAndServe(srv, cfg.Web, cfg.SLogger) }()
	select {
	case err := <-served:
		return err
	case <-stop.Done():
	}

	level.Info(cfg.Logger).Log("msg", "shutting down: draining scrapes in flight", "grace", grace)
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		cancelRequests() // they answer at once, with up 0
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			_ = srv.Close()
		}
	}
	level.Info(cfg.Logger).Log("msg", "stopped")
	return nil
}
