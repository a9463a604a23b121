package server

import (
	"cmp"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"golang.org/x/time/rate"
)

// The listeners' wrappers: the cap on connections open at once
// (ConnLimit), and the watch on failed logins (logins).

// NewConnIdleAfter is how long a connection may stay open without sending
// a request before it counts as idle, and may be closed to make room.
const NewConnIdleAfter = time.Second

// ConnLimit caps the connections open at once on every listener it wraps,
// so that a flood of connections cannot use up the process's file handles
// (accept then fails, and honest scrapes with it). At the cap it still
// serves scrapes: a new connection takes the place of the connection idle
// the longest (a keep-alive between requests, or one that sent no request
// for NewConnIdleAfter), else of the oldest one yet to send its request;
// only when every open connection is busy with a request (or hijacked) is
// the new one closed at once.
//
// Its ConnState must be the http.Server's ConnState: that is how it knows
// which connections are idle.
type ConnLimit struct {
	max    int
	logger log.Logger
	now    func() time.Time

	mu   sync.Mutex
	open map[*limitedConn]struct{}
	// evicted and refused count since the last log line, logged is its time.
	evicted, refused int
	logged           time.Time
}

// NewConnLimit returns a cap of max open connections; it logs to logger, at
// most once a minute, when it closed connections to keep to it.
func NewConnLimit(max int, logger log.Logger) *ConnLimit {
	if logger == nil {
		logger = log.NewNopLogger()
	}
	return &ConnLimit{max: max, logger: logger, now: time.Now, open: map[*limitedConn]struct{}{}}
}

// Listener returns l with its connections counted against the cap.
func (c *ConnLimit) Listener(l net.Listener) net.Listener {
	return &limitListener{Listener: l, limit: c}
}

// Open returns the number of connections open.
func (c *ConnLimit) Open() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.open)
}

// ConnState records the state net/http gives a connection; set it as the
// http.Server's ConnState. A TLS connection is followed to the one beneath.
func (c *ConnLimit) ConnState(nc net.Conn, state http.ConnState) {
	lc, ok := nc.(*limitedConn)
	for !ok {
		u, isWrapper := nc.(interface{ NetConn() net.Conn })
		if !isWrapper {
			return
		}
		nc = u.NetConn()
		lc, ok = nc.(*limitedConn)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if state == http.StateClosed {
		delete(c.open, lc)
		return
	}
	lc.state, lc.since = state, c.now()
}

// admit makes room for conn: it returns the connection to close to make
// room (nil when there is room), or false when there is none.
func (c *ConnLimit) admit(conn *limitedConn) (victim *limitedConn, ok bool) {
	now := c.now()
	c.mu.Lock()
	defer func() {
		evicted, refused := c.evicted, c.refused
		logNow := (evicted+refused > 0) && now.Sub(c.logged) >= time.Minute
		if logNow {
			c.evicted, c.refused, c.logged = 0, 0, now
		}
		c.mu.Unlock()
		if logNow {
			level.Warn(c.logger).Log("msg", "open connections at --web.max-connections: closed idle ones to make room, and new ones when none was idle",
				"max_connections", c.max, "idle_closed", evicted, "new_refused", refused)
		}
	}()
	conn.state, conn.since = http.StateNew, now
	if len(c.open) >= c.max {
		// The idle one idle the longest; failing that, the oldest of those
		// yet to send a request: an honest client sends it at once, so it
		// has long been busy by the time cap-many connections came after.
		var young *limitedConn
		for o := range c.open {
			switch {
			case o.state == http.StateIdle || o.state == http.StateNew && now.Sub(o.since) >= NewConnIdleAfter:
				if victim == nil || o.since.Before(victim.since) {
					victim = o
				}
			case o.state == http.StateNew:
				if young == nil || o.since.Before(young.since) {
					young = o
				}
			}
		}
		victim = cmp.Or(victim, young)
		if victim == nil {
			c.refused++
			return nil, false
		}
		c.evicted++
		delete(c.open, victim)
	}
	c.open[conn] = struct{}{}
	return victim, true
}

func (c *ConnLimit) remove(conn *limitedConn) {
	c.mu.Lock()
	delete(c.open, conn)
	c.mu.Unlock()
}

type limitListener struct {
	net.Listener
	limit *ConnLimit
}

// Accept returns the next connection there is room for; it closes those
// there is none for, and goes on accepting.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		conn := &limitedConn{Conn: nc, limit: l.limit}
		victim, ok := l.limit.admit(conn)
		if !ok {
			_ = nc.Close()
			continue
		}
		if victim != nil {
			_ = victim.Close()
		}
		return conn, nil
	}
}

// limitedConn is a connection counted by a ConnLimit until it is closed.
// state and since, guarded by the ConnLimit's mutex, are its state and
// when it entered it.
type limitedConn struct {
	net.Conn
	limit *ConnLimit
	state http.ConnState
	since time.Time
}

func (c *limitedConn) Close() error {
	c.limit.remove(c)
	return c.Conn.Close()
}

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
