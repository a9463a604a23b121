// Package server runs the exporter's HTTP server: the logger
// exporter-toolkit writes through, the listener with its limits, graceful
// drain on SIGTERM.
package server

import (
	"cmp"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/mdlayher/vsock"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/exporter-toolkit/web"
	sloggokit "github.com/tjhop/slog-gokit"
)

// NewLoggers builds the go-kit logger the exporter logs with, writing to w
// in the format and at the level cfg gives, and an slog.Logger for
// exporter-toolkit that writes through the same go-kit logger, so there is
// one stream in one format. Control and bidirectional characters of the
// values logged are escaped (escapeValues).
func NewLoggers(w io.Writer, cfg *promslog.Config) (log.Logger, *slog.Logger) {
	w = log.NewSyncWriter(w)
	var base log.Logger
	if cfg.Format != nil && cfg.Format.String() == "json" {
		base = log.NewJSONLogger(w)
	} else {
		base = log.NewLogfmtLogger(w)
	}
	base = escapeValues(base)
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
	// Limits bound the connections; a zero field sets no limit, but for
	// the time to read a request's headers, 10 s.
	Limits Limits
	// LoginFailed, if set, is called for each failed login to the basic
	// authentication of the web configuration file.
	LoginFailed func()
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
	lim := cfg.Limits
	listeners, err := listen(cfg.Web, cfg.SLogger)
	if err != nil {
		return err
	}
	var conns *ConnLimit
	if lim.MaxConnections > 0 {
		conns = NewConnLimit(lim.MaxConnections, cfg.Logger)
	}
	var logins *logins
	if cfg.Web.WebConfigFile != nil && *cfg.Web.WebConfigFile != "" {
		// Only a web configuration file can ask for basic authentication.
		logins = newLogins(cfg.Logger, cfg.LoginFailed)
	}
	// One http.Server per listener: exporter-toolkit's web.Serve installs
	// its authentication on the server it is given, which several
	// listeners would share and race on.
	servers := make([]*http.Server, len(listeners))
	for i, l := range listeners {
		servers[i] = &http.Server{
			Handler:           cfg.Handler,
			ReadHeaderTimeout: cmp.Or(lim.ReadTimeout, 10*time.Second),
			ReadTimeout:       lim.ReadTimeout,
			WriteTimeout:      lim.WriteTimeout,
			IdleTimeout:       lim.IdleTimeout,
			BaseContext:       func(net.Listener) context.Context { return requests },
		}
		if conns != nil {
			servers[i].ConnState = conns.ConnState
			l = conns.Listener(l)
		}
		if logins != nil {
			l = logins.watch(l, servers[i])
		}
		listeners[i] = l
	}
	served := make(chan error, len(listeners))
	for i, l := range listeners {
		go func() { served <- web.Serve(l, servers[i], cfg.Web, cfg.SLogger) }()
	}
	select {
	case err := <-served:
		for _, srv := range servers {
			_ = srv.Close()
		}
		return err
	case <-stop.Done():
	}

	level.Info(cfg.Logger).Log("msg", "shutting down: draining scrapes in flight", "grace", grace)
	var wg sync.WaitGroup
	for _, srv := range servers {
		wg.Go(func() {
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
		})
	}
	wg.Wait()
	level.Info(cfg.Logger).Log("msg", "stopped")
	return nil
}

// listen opens the listeners exporter-toolkit's web.ListenAndServe would:
// systemd's activated sockets, or each of the listen addresses (TCP, or
// vsock://). It is ListenAndServe's first half: the second, web.Serve,
// takes the listeners, so that they can be wrapped first.
func listen(flags *web.FlagConfig, logger *slog.Logger) ([]net.Listener, error) {
	if flags == nil || flags.WebConfigFile == nil {
		return nil, web.ErrMissingFlag
	}
	if flags.WebSystemdSocket != nil && *flags.WebSystemdSocket {
		logger.Info("Listening on systemd activated listeners instead of port listeners.")
		listeners, err := activation.Listeners()
		if err != nil {
			return nil, err
		}
		if len(listeners) < 1 {
			return nil, errors.New("no socket activation file descriptors found")
		}
		return listeners, nil
	}
	if flags.WebListenAddresses == nil || len(*flags.WebListenAddresses) == 0 {
		return nil, web.ErrNoListeners
	}
	var listeners []net.Listener
	for _, address := range *flags.WebListenAddresses {
		l, err := listenOn(address)
		if err != nil {
			for _, l := range listeners {
				_ = l.Close()
			}
			return nil, err
		}
		listeners = append(listeners, l)
	}
	return listeners, nil
}

func listenOn(address string) (net.Listener, error) {
	if !strings.HasPrefix(address, "vsock://") {
		return net.Listen("tcp", address)
	}
	u, err := url.Parse(address)
	if err != nil {
		return nil, err
	}
	_, portStr, err := net.SplitHostPort(u.Host)
	if err != nil {
		return nil, err
	}
	port, err := strconv.ParseUint(portStr, 10, 32)
	if err != nil {
		return nil, err
	}
	return vsock.Listen(uint32(port), nil)
}
