package simulator

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// A Fault replaces or disturbs an endpoint's answer, to test how the
// exporter copes with everything the real API and the network can do.
//
// Delay comes first. Then Hang or CloseConnection, if set, end the exchange.
// Otherwise, if Errors is set the answer is a Cloudflare error envelope
// (success false) with Status (default 200); else if Status, Body, CutAfter
// or Endless is set the answer is Body verbatim with Status (default 200);
// else the normal answer follows, with Header added.
type Fault struct {
	// Gate, if set, holds the request until it is closed (or the client
	// gives up), before anything else.
	Gate            <-chan struct{}
	Delay           time.Duration
	Hang            bool
	CloseConnection bool
	Status          int
	Header          http.Header
	Errors          []Message
	Body            string
	// ContentType defaults to application/json.
	ContentType string
	// CutAfter, when positive, announces Body's full length but sends only
	// its first CutAfter bytes, then drops the connection.
	CutAfter int
	// Endless, when set, follows Body with Endless again and again, with no
	// Content-Length, until the client hangs up: an answer that never ends.
	Endless string
	// Gzip sends the answer gzip-compressed (Content-Encoding: gzip) to a
	// client that accepts it, as Cloudflare's edge does; CutAfter then
	// counts compressed bytes. With Endless, the compressed stream never
	// ends either: a kilobyte of it inflates to about a megabyte of a
	// repetitive Endless, such as spaces.
	Gzip bool
	// GraphQL, for EndpointGraphQL, disturbs the answer that follows when
	// nothing above has answered.
	GraphQL *GraphQLFault
	// Times is how many requests the fault affects; 0 means every request
	// until ClearFaults.
	Times int
}

type faultKey struct{ account, endpoint string }

// maxHang bounds a hanging answer, so a test that forgets to give up does
// not keep the server from closing forever.
const maxHang = 2 * time.Minute

// SetFault installs f for requests to endpoint of accountID, or of every
// account when accountID is empty. It replaces a fault set before for the
// same pair.
func (s *Server) SetFault(accountID, endpoint string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[faultKey{accountID, endpoint}] = &f
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.faults)
}

// takeFault returns the fault for a request, counting it down. The caller
// holds s.mu.
func (s *Server) takeFault(accountID, endpoint string) *Fault {
	for _, k := range []faultKey{{accountID, endpoint}, {"", endpoint}} {
		f, ok := s.faults[k]
		if !ok {
			continue
		}
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				delete(s.faults, k)
			}
		}
		c := *f
		return &c
	}
	return nil
}

// serve carries the fault out. It reports whether it answered the request;
// false means the normal answer should follow.
func (f *Fault) serve(w http.ResponseWriter, r *http.Request) bool {
	if f.Gate != nil {
		select {
		case <-f.Gate:
		case <-r.Context().Done():
			return true
		}
	}
	if f.Delay > 0 {
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			return true
		}
	}
	for k, vs := range f.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	switch {
	case f.Hang:
		select {
		case <-r.Context().Done():
		case <-time.After(maxHang):
		}
		return true
	case f.CloseConnection:
		hijackClose(w)
		return true
	case f.Errors != nil:
		writeEnvelope(w, orOK(f.Status), nil, f.Errors...)
		return true
	case f.Status != 0 || f.Body != "" || f.CutAfter > 0 || f.Endless != "":
		ct := f.ContentType
		if ct == "" {
			ct = "application/json"
		}
		w.Header().Set("Content-Type", ct)
		compress := f.Gzip && acceptsGzip(r)
		if compress {
			w.Header().Set("Content-Encoding", "gzip")
		}
		if f.Endless != "" {
			w.WriteHeader(orOK(f.Status))
			endless(w, r, f.Body, f.Endless, compress)
			return true
		}
		body := f.Body
		if compress {
			body = string(gzipMember([]byte(body)))
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(orOK(f.Status))
		if f.CutAfter > 0 && f.CutAfter < len(body) {
			_, _ = w.Write([]byte(body[:f.CutAfter]))
			if fl, ok := w.(http.Flusher); ok {
				fl.Flush()
			}
			hijackClose(w)
			return true
		}
		// WriteString, not Write: a body of many megabytes is not copied.
		_, _ = io.WriteString(w, body)
		return true
	}
	return false
}

// endless writes head, then tail over and over until the client goes away
// (or maxHang has passed). It writes from one buffer of about 64 KiB, so
// that the server's memory does not grow with what the client reads.
// Compressed, the head and the buffer are each a gzip member, which a
// gzip reader reads one after the other as one stream: the buffer is
// compressed once, not at every write.
func endless(w http.ResponseWriter, r *http.Request, head, tail string, compress bool) {
	chunk := []byte(strings.Repeat(tail, max(1, (64<<10)/len(tail))))
	first := []byte(head)
	if compress {
		first, chunk = gzipMember(first), gzipMember(chunk)
	}
	if _, err := w.Write(first); err != nil {
		return
	}
	deadline := time.Now().Add(maxHang)
	for r.Context().Err() == nil && time.Now().Before(deadline) {
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
}

// acceptsGzip reports whether the request accepts a gzip-encoded answer.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		if coding, _, _ := strings.Cut(strings.TrimSpace(part), ";"); strings.EqualFold(coding, "gzip") {
			return true
		}
	}
	return false
}

// gzipMember returns b compressed as one gzip member.
func gzipMember(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

func orOK(status int) int {
	if status == 0 {
		return http.StatusOK
	}
	return status
}

// hijackClose drops the connection without finishing the answer.
func hijackClose(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
