package server

import (
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/netutil"
)

// BenchmarkScrapeDuringIdleFlood measures what the maintained connection
// limiter lacks: with every allowed connection held by a client that sends
// nothing, how long an honest request waits for its answer. ConnLimit lets
// it take an idle connection's place at once; golang.org/x/net/netutil's
// LimitListener makes it wait until the server gives up on an idle one,
// after its ReadHeaderTimeout (1 s here, --web.read-timeout's 10 s in the
// exporter), and a flooder that reconnects at once keeps it waiting.
//
//	go test -run '^$' -bench ScrapeDuringIdleFlood -benchtime=5x ./collector/server
func BenchmarkScrapeDuringIdleFlood(b *testing.B) {
	const max = 16
	for _, tc := range []struct {
		name  string
		limit func(net.Listener, *http.Server) net.Listener
	}{
		{"ConnLimit", func(l net.Listener, srv *http.Server) net.Listener {
			c := NewConnLimit(max, nil)
			next := srv.ConnState
			srv.ConnState = func(nc net.Conn, s http.ConnState) { c.ConnState(nc, s); next(nc, s) }
			return c.Listener(l)
		}},
		{"netutil.LimitListener", func(l net.Listener, _ *http.Server) net.Listener { return netutil.LimitListener(l, max) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			var mu sync.Mutex
			accepted := sync.NewCond(&mu)
			n := 0
			srv := &http.Server{
				Handler:           http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}),
				ReadHeaderTimeout: time.Second,
				ConnState: func(_ net.Conn, s http.ConnState) {
					if s == http.StateNew {
						mu.Lock()
						n++
						accepted.Broadcast()
						mu.Unlock()
					}
				},
			}
			limited := tc.limit(l, srv)
			go func() { _ = srv.Serve(limited) }()
			b.Cleanup(func() { srv.Close() })
			hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
			for b.Loop() {
				b.StopTimer()
				mu.Lock()
				want := n + max
				mu.Unlock()
				flood := make([]net.Conn, max)
				for i := range flood {
					if flood[i], err = net.Dial("tcp", l.Addr().String()); err != nil {
						b.Fatal(err)
					}
				}
				// Every flood connection accepted before the honest one.
				mu.Lock()
				for n < want {
					accepted.Wait()
				}
				mu.Unlock()
				b.StartTimer()
				resp, err := hc.Get("http://" + l.Addr().String() + "/")
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
				b.StopTimer()
				for _, c := range flood {
					c.Close()
				}
				b.StartTimer()
			}
		})
	}
}
