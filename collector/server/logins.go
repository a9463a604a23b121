package server

import (
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"golang.org/x/time/rate"
)

// logins counts and logs the failed logins of the basic authentication
// exporter-toolkit checks (--web.config.file): a request with credentials
// answered 401. A request without them is the browser's first ask, not a
// failure.
type logins struct {
	logger log.Logger
	failed func()
	// every bounds the log to a line a minute; n counts the failures
	// since the last line.
	every rate.Sometimes
	mu    sync.Mutex
	n     int
}

func newLogins(logger log.Logger, failed func()) *logins {
	if failed == nil {
		failed = func() {}
	}
	return &logins{logger: logger, failed: failed, every: rate.Sometimes{First: 1, Interval: time.Minute}}
}

// watch wraps srv's handler, the first time l accepts a connection, so
// that the answers of exporter-toolkit's authentication are seen.
// exporter-toolkit installs that handler inside web.Serve and offers no
// hook; web.Serve's goroutine calls Accept after installing it, and
// before any request is served, so the wrap races with nothing. srv must
// serve l alone.
func (lg *logins) watch(l net.Listener, srv *http.Server) net.Listener {
	return &watchedListener{Listener: l, wrap: func() { srv.Handler = lg.handler(srv.Handler) }}
}

type watchedListener struct {
	net.Listener
	once sync.Once
	wrap func()
}

func (l *watchedListener) Accept() (net.Conn, error) {
	l.once.Do(l.wrap)
	return l.Listener.Accept()
}

func (lg *logins) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if user, _, ok := r.BasicAuth(); ok && rec.status == http.StatusUnauthorized {
			lg.fail(user, r.RemoteAddr)
		}
	})
}

// fail counts a failed login and logs it, at most once a minute, with the
// failures since the last line. The password is never logged; the user
// name is escaped like any value the log holds (see NewLoggers).
func (lg *logins) fail(user, remote string) {
	lg.failed()
	lg.mu.Lock()
	defer lg.mu.Unlock()
	lg.n++
	lg.every.Do(func() {
		level.Warn(lg.logger).Log("msg", "failed web login (basic authentication of --web.config.file); logged at most once a minute",
			"user", user, "remote", remote, "failures", lg.n)
		lg.n = 0
	})
}

// statusRecorder keeps the status an answer was written with.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer
// (deadlines, flushing).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Flush passes on a flush, for the handlers that stream.
func (s *statusRecorder) Flush() { _ = http.NewResponseController(s.ResponseWriter).Flush() }
