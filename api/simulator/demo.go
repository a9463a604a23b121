package simulator

import (
	"net"
	"net/http"
	"time"
)

// StartDemo serves the demo fleet, as it is at now, on a loopback port:
// the API of the exporter's --demo mode. It returns the base URL and the
// token to give the client, and stop, which closes the server.
func StartDemo(now time.Time) (baseURL, token string, stop func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", "", nil, err
	}
	srv := &http.Server{
		Handler:           NewServer(DemoFleet(now), WithToken(DemoToken)),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = srv.Serve(l) }()
	return BaseURL(l.Addr().String()), DemoToken, func() { _ = srv.Close() }, nil
}
