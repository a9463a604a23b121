package server

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/exportertest"
)

// fakeListener hands out the connections sent on conns.
type fakeListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newFakeListener() *fakeListener {
	return &fakeListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *fakeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *fakeListener) Close() error   { l.once.Do(func() { close(l.closed) }); return nil }
func (l *fakeListener) Addr() net.Addr { return &net.TCPAddr{} }

// fakeConn knows whether it was closed.
type fakeConn struct {
	net.Conn
	name string
	once sync.Once
	done chan struct{}
}

func (c *fakeConn) Close() error { c.once.Do(func() { close(c.done) }); return nil }

// closed reports whether c is closed, waiting a moment when wait is set:
// Accept closes what it refuses after handing it over.
func (c *fakeConn) closed(wait bool) bool {
	var timeout <-chan time.Time
	if wait {
		timeout = time.After(time.Second)
	}
	select {
	case <-c.done:
		return true
	case <-timeout:
		return false
	default:
		if wait {
			select {
			case <-c.done:
				return true
			case <-timeout:
			}
		}
		return false
	}
}

// limitFixture is a ConnLimit over a fakeListener, on a clock the test moves.
type limitFixture struct {
	t     *testing.T
	limit *ConnLimit
	l     net.Listener
	in    *fakeListener
	// clock is the time the ConnLimit sees, in Unix nanoseconds.
	clock atomic.Int64
}

// advance moves the clock by d.
func (f *limitFixture) advance(d time.Duration) { f.clock.Add(int64(d)) }

func newLimitFixture(t *testing.T, max int) *limitFixture {
	f := &limitFixture{t: t, in: newFakeListener()}
	f.clock.Store(time.Unix(1e9, 0).UnixNano())
	f.limit = NewConnLimit(max, nil)
	f.limit.now = func() time.Time { return time.Unix(0, f.clock.Load()) }
	f.l = f.limit.Listener(f.in)
	t.Cleanup(func() { f.l.Close() })
	return f
}

// offer hands the listener beneath a connection named name, to the Accept
// running (see accept).
func (f *limitFixture) offer(name string) *fakeConn {
	c := &fakeConn{name: name, done: make(chan struct{})}
	f.in.conns <- c
	return c
}

// accept runs Accept in the background and returns where its result goes.
func (f *limitFixture) accept() chan net.Conn {
	out := make(chan net.Conn, 1)
	go func() {
		c, err := f.l.Accept()
		if err != nil {
			close(out)
			return
		}
		out <- c
	}()
	return out
}

// open accepts a connection named name, which must be let in, and sets
// its state as net/http would.
func (f *limitFixture) open(name string, state http.ConnState) (*fakeConn, net.Conn) {
	f.t.Helper()
	out := f.accept()
	fc := f.offer(name)
	c := <-out
	if c == nil {
		f.t.Fatalf("%s: Accept failed", name)
	}
	f.limit.ConnState(c, http.StateNew)
	if state != http.StateNew {
		f.limit.ConnState(c, state)
	}
	return fc, c
}

func TestConnLimitEvictsTheLongestIdle(t *testing.T) {
	f := newLimitFixture(t, 3)
	a, ac := f.open("a", http.StateIdle) // idle since t0
	f.advance(100 * time.Millisecond)
	b, bc := f.open("b", http.StateIdle) // idle since t0+100ms
	f.advance(100 * time.Millisecond)
	c, _ := f.open("c", http.StateActive)
	if got := f.limit.Open(); got != 3 {
		t.Fatalf("open = %d, want 3", got)
	}

	// At the cap: a has been idle longest.
	d, _ := f.open("d", http.StateNew)
	if !a.closed(true) || b.closed(false) || c.closed(false) || d.closed(false) {
		t.Error("want only a closed")
	}
	// net/http then sees a closed, and says so: nothing changes.
	f.limit.ConnState(ac, http.StateClosed)
	if got := f.limit.Open(); got != 3 {
		t.Fatalf("open = %d, want 3", got)
	}

	// b serves another request: idle again since after d's arrival; d
	// sends no request for NewConnIdleAfter, so it is the longest idle.
	f.advance(50 * time.Millisecond)
	f.limit.ConnState(bc, http.StateActive)
	f.limit.ConnState(bc, http.StateIdle)
	f.advance(NewConnIdleAfter)
	f.limit.ConnState(ac, http.StateActive) // stale state for a closed conn: ignored
	e, _ := f.open("e", http.StateNew)
	if !d.closed(true) || b.closed(false) || c.closed(false) || e.closed(false) {
		t.Error("want only d closed")
	}
	if got := f.limit.Open(); got != 3 {
		t.Fatalf("open = %d, want 3", got)
	}
}

func TestConnLimitNewConnIsNotIdleAtOnce(t *testing.T) {
	f := newLimitFixture(t, 3)
	a, _ := f.open("a", http.StateNew)
	f.advance(NewConnIdleAfter / 2)
	b, _ := f.open("b", http.StateNew)
	c, _ := f.open("c", http.StateIdle)
	// a arrived before c went idle, but it may be about to send its
	// request: c, idle, goes first.
	d, _ := f.open("d", http.StateActive)
	if !c.closed(true) || a.closed(false) || b.closed(false) || d.closed(false) {
		t.Error("want only c closed")
	}
	// No idle connection: the oldest of those yet to send a request.
	f.advance(10 * time.Millisecond)
	e, _ := f.open("e", http.StateNew)
	if !a.closed(true) || b.closed(false) || d.closed(false) || e.closed(false) {
		t.Error("want only a closed")
	}
	// Then b, older than e.
	g, _ := f.open("g", http.StateNew)
	if !b.closed(true) || e.closed(false) || g.closed(false) {
		t.Error("want only b closed")
	}
}

func TestConnLimitRefusesWhenAllActive(t *testing.T) {
	f := newLimitFixture(t, 2)
	a, ac := f.open("a", http.StateActive)
	b, _ := f.open("b", http.StateHijacked)
	f.advance(time.Hour)
	out := f.accept()
	var refused []*fakeConn
	for i := range 3 {
		refused = append(refused, f.offer(fmt.Sprint("r", i)))
	}
	for _, r := range refused {
		if !r.closed(true) {
			t.Errorf("%s accepted while every connection is busy", r.name)
		}
	}
	if a.closed(false) || b.closed(false) {
		t.Error("a busy connection was closed")
	}
	// a's request ends; the next one takes its place.
	f.limit.ConnState(ac, http.StateIdle)
	n := f.offer("n")
	if got := <-out; got == nil || got.(*limitedConn).Conn != n || !a.closed(true) {
		t.Errorf("after a went idle: got %v, want n and a closed", got)
	}
	// Closing a connection makes room without closing another.
	if err := f.limit.find(n).Close(); err != nil {
		t.Fatal(err)
	}
	if got := f.limit.Open(); got != 1 {
		t.Errorf("open = %d after a close, want 1", got)
	}
}

// find returns the open connection over fc.
func (c *ConnLimit) find(fc *fakeConn) *limitedConn {
	c.mu.Lock()
	defer c.mu.Unlock()
	for lc := range c.open {
		if lc.Conn == fc {
			return lc
		}
	}
	return nil
}

// TestConnLimitThroughHTTP: a real server at its cap of 4 connections,
// all idle keep-alives or silent, still answers a new client; with every
// connection busy, a new one is closed unanswered.
func TestConnLimitThroughHTTP(t *testing.T) {
	release := make(chan struct{})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			<-release
		}
		fmt.Fprint(w, "ok")
	})
	limit := NewConnLimit(4, nil)
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: handler, ConnState: limit.ConnState, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(limit.Listener(inner))
	t.Cleanup(func() { srv.Close() })
	addr := inner.Addr().String()

	request := func(c net.Conn, path string) error {
		if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path); err != nil {
			return err
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = io.ReadAll(resp.Body)
		return err
	}
	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// Two keep-alives, idle after one request; two that send nothing.
	var flood []net.Conn
	for range 2 {
		c := dial()
		if err := request(c, "/"); err != nil {
			t.Fatal(err)
		}
		flood = append(flood, c)
	}
	for range 2 {
		flood = append(flood, dial())
	}
	waitOpen(t, limit, 4)
	for range 3 {
		if err := request(dial(), "/"); err != nil {
			t.Fatalf("an honest request at the cap: %v", err)
		}
	}
	if got := limit.Open(); got > 4 {
		t.Errorf("open = %d, above the cap", got)
	}

	// Every connection busy: the next is closed without an answer.
	// One at a time, and again when a request does not get through: a
	// connection dialled at the cap may rightly take the place of one that
	// has not been seen to start its request yet.
	var wg sync.WaitGroup
	for i := range 4 {
		for try := 0; busy(limit) < i+1; try++ {
			if try == 5 {
				t.Fatalf("busy = %d, want %d", busy(limit), i+1)
			}
			c := dial()
			wg.Go(func() { _ = request(c, "/block") })
			for deadline := time.Now().Add(time.Second); busy(limit) < i+1 && time.Now().Before(deadline); {
				time.Sleep(5 * time.Millisecond)
			}
		}
	}
	c := dial()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	err = request(c, "/")
	var ne net.Error
	if err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("a connection past a cap of busy ones: %v, want it closed", err)
	}
	close(release)
	wg.Wait()
}

func waitOpen(t *testing.T, l *ConnLimit, n int) {
	t.Helper()
	exportertest.Eventually(t, fmt.Sprintf("%d connections open", n), 5*time.Second, func() bool { return l.Open() == n })
}

func busy(l *ConnLimit) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for c := range l.open {
		if c.state == http.StateActive {
			n++
		}
	}
	return n
}

// TestConnLimitSeesThroughTLS: with --web.config.file serving HTTPS,
// net/http reports the *tls.Conn over the counted connection.
func TestConnLimitSeesThroughTLS(t *testing.T) {
	f := newLimitFixture(t, 1)
	out := f.accept()
	a := f.offer("a")
	c := <-out
	f.limit.ConnState(tls.Server(c, &tls.Config{}), http.StateActive)
	out = f.accept()
	b := f.offer("b")
	if !b.closed(true) || a.closed(false) {
		t.Error("the active TLS connection was taken for idle")
	}
	f.limit.ConnState(tls.Server(c, &tls.Config{}), http.StateIdle)
	f.offer("n")
	if got := <-out; got == nil || !a.closed(true) {
		t.Error("the idle TLS connection was not closed to make room")
	}
}
