package api_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
)

// heapPeak samples the heap while f runs and returns how far HeapInuse
// rose above where it was, after a collection, before f.
func heapPeak(t *testing.T, f func()) uint64 {
	t.Helper()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	base := m.HeapInuse
	stop, peak := make(chan struct{}), make(chan uint64)
	go func() {
		var p uint64
		var m runtime.MemStats
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&m)
			p = max(p, m.HeapInuse)
			select {
			case <-stop:
				peak <- p
				return
			case <-tick.C:
			}
		}
	}()
	f()
	close(stop)
	return max(<-peak, base) - base
}

func TestHugeErrorTextIsBoundedAndStreamed(t *testing.T) {
	huge := strings.Repeat("A", 30<<20)
	var errs []string
	errs = append(errs, fmt.Sprintf(`{"code":1000,"message":%q,"documentation_url":"https://developers.cloudflare.com/"}`, huge))
	for i := range 16 {
		errs = append(errs, fmt.Sprintf(`{"code":%d,"message":"error %d"}`, 1001+i, i))
	}
	for _, tc := range []struct {
		name string
		body string
		want []string
	}{
		{"30 MB message and 16 more errors",
			`{"success":false,"errors":[` + strings.Join(errs, ",") + `],"messages":[` + errs[1] + `],"result":null}`,
			[]string{"HTTP 400 Bad Request", "1000: AAAA", "...; 1001: error 0;", "1004: error 3 (and 12 more)"}},
		{"30 MB member name",
			`{"success":false,"errors":[{"code":1,"message":"x"}],"` + huge + `":1}`,
			[]string{"1: x"}},
		{"30 MB of text",
			huge,
			[]string{"not JSON"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim, c := newClient(t, api.Config{})
			sim.SetFault("", simulator.EndpointConnectors, simulator.Fault{Status: 400, Body: tc.body})
			var err error
			grew := heapPeak(t, func() { _, err = c.ListConnectors(context.Background(), simulator.AccountRetail) })
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			t.Logf("error of %d bytes, heap grew %.1f MiB while reading %d MB", len(msg), float64(grew)/(1<<20), len(tc.body)>>20)
			if len(msg) > 2<<10 {
				t.Errorf("error of %d bytes: %.300s", len(msg), msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %.500q lacks %q", msg, w)
				}
			}
			var apiErr *api.Error
			if !errors.As(err, &apiErr) || len(apiErr.Errors) > 5 {
				t.Errorf("error %T with %d errors", err, len(apiErr.Errors))
			}
			// The body streams through: nothing near its size is held.
			if grew > 16<<20 {
				t.Errorf("heap grew %d MiB reading a body of %d MiB", grew>>20, len(tc.body)>>20)
			}
		})
	}
}

func TestCutErrorTextHidesTheCredential(t *testing.T) {
	sim, c := newClient(t, api.Config{})
	// The credential straddles the 300-byte cut: its start must not show.
	pad := strings.Repeat("x", 300-len("Bearer ")-6)
	sim.SetFault("", simulator.EndpointApps, simulator.Fault{Status: 400, Errors: []simulator.Message{{Code: 6003, Message: pad + "Bearer " + simulator.DemoToken}}})
	_, err := c.ListApps(context.Background(), simulator.AccountRetail)
	if err == nil || !strings.Contains(err.Error(), "Bearer [REDACTED]...") {
		t.Errorf("error: %v", err)
	}
	if strings.Contains(err.Error(), simulator.DemoToken[:6]) {
		t.Errorf("error holds the start of the token: %v", err)
	}
}

// TestCutHTMLTitleHidesTheCredential: the title of a proxy's error page is
// cut to 120 bytes and quoted, so the "..." of the cut is not the end of the
// error; a credential straddling the cut must not show its start either.
func TestCutHTMLTitleHidesTheCredential(t *testing.T) {
	sim, c := newClient(t, api.Config{})
	pad := strings.Repeat("x", 120-len("Bearer ")-6)
	page := "<html><head><title>" + pad + "Bearer " + simulator.DemoToken + "</title></head></html>"
	sim.SetFault("", simulator.EndpointApps, simulator.Fault{Status: 400, Body: page, ContentType: "text/html"})
	_, err := c.ListApps(context.Background(), simulator.AccountRetail)
	if err == nil || !strings.Contains(err.Error(), `Bearer [REDACTED]..."`) {
		t.Errorf("error: %v", err)
	}
	if err != nil && strings.Contains(err.Error(), simulator.DemoToken[:6]) {
		t.Errorf("error holds the start of the token: %v", err)
	}
}

// TestResultOfTheWrongShapeFails: a result that is null, absent or not a
// list is a failed call, never an empty list, for every list endpoint.
func TestResultOfTheWrongShapeFails(t *testing.T) {
	calls := map[string]func(*api.Client) error{
		simulator.EndpointConnectors: func(c *api.Client) error {
			_, err := c.ListConnectors(context.Background(), simulator.AccountRetail)
			return err
		},
		simulator.EndpointApps: func(c *api.Client) error {
			_, err := c.ListApps(context.Background(), simulator.AccountRetail)
			return err
		},
		simulator.EndpointSites: func(c *api.Client) error {
			_, err := c.ListSites(context.Background(), simulator.AccountRetail)
			return err
		},
		simulator.EndpointAccounts: func(c *api.Client) error {
			_, err := c.ListAccounts(context.Background(), api.Paging{})
			return err
		},
	}
	for _, tc := range []struct{ result, want string }{
		{`null`, "result is null, not a list"},
		{`{"id":"x"}`, "result is not a list but an object"},
		{`"x"`, "result is not a list but a string"},
		{`0`, "result is not a list but a number"},
		{``, `response has no "result"`},
	} {
		for endpoint, call := range calls {
			t.Run(endpoint+"/"+tc.result, func(t *testing.T) {
				var observed []api.RequestInfo
				sim, c := newClient(t, api.Config{Observe: func(ri api.RequestInfo) { observed = append(observed, ri) }})
				body := `{"success":true,"errors":[],"messages":[]}`
				if tc.result != "" {
					body = `{"success":true,"errors":[],"messages":[],"result":` + tc.result + `,"result_info":{"page":1,"total_pages":1}}`
				}
				sim.SetFault("", endpoint, simulator.Fault{Body: body})
				err := call(c)
				var apiErr *api.Error
				if !errors.As(err, &apiErr) || apiErr.StatusCode != 200 || !strings.HasSuffix(err.Error(), "HTTP 200 OK: "+tc.want) {
					t.Fatalf("error %v, want an *api.Error ending %q", err, tc.want)
				}
				if len(observed) != 1 || !observed[0].Failed || observed[0].StatusCode != 200 {
					t.Errorf("observed %+v, want one request, failed", observed)
				}
			})
		}
	}
}

// TestInflightBound: five accounts answering bodies that never end, read
// at once, keep the heap within the bound on the bytes in flight, and every
// call fails with an error naming the flag to raise.
func TestInflightBound(t *testing.T) {
	const maxInflight, maxResponse = 24 << 20, 24 << 20
	sim, c := newClient(t, api.Config{MaxInflightBytes: maxInflight, MaxResponseBytes: maxResponse})
	gate := make(chan struct{})
	connector := `{"id":"c0ffee00000000000000000000000001","activated":true,"device":{"id":"dev-000001","serial_number":"MC1000-000001","type":"MANAGED"},` +
		`"interrupt_window_days_of_week":["Sunday"],"interrupt_window_hour_of_day":3,"interrupt_window_duration_hours":2,"interrupt_window_embargo_dates":["2026-12-24"],` +
		`"last_heartbeat":"2026-11-24T11:59:52Z","last_seen_version":"2026.10.2","last_updated":"2026-11-20T08:15:02Z","notes":"Branch 1 - Europe/London store",` +
		`"primary":true,"site_id":"site-000001","timezone":"Europe/London"},`
	sim.SetFault("", simulator.EndpointConnectors, simulator.Fault{Gate: gate, Body: `{"success":true,"errors":[],"result":[`, Endless: connector})

	accounts := make([]string, 5)
	for i := range accounts {
		accounts[i] = fmt.Sprintf("%032x", i+1)
	}
	errs := make([]error, len(accounts))
	grew := heapPeak(t, func() {
		var wg sync.WaitGroup
		for i, id := range accounts {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				_, errs[i] = c.ListConnectors(ctx, id)
			})
		}
		time.Sleep(50 * time.Millisecond)
		close(gate)
		wg.Wait()
	})
	t.Logf("heap grew %.1f MiB with %d MiB in flight at most", float64(grew)/(1<<20), maxInflight>>20)
	inflight := 0
	for i, err := range errs {
		var apiErr *api.Error
		var inflightErr *api.InflightError
		switch {
		case !errors.As(err, &apiErr):
			t.Errorf("account %d: %T %v, want an *api.Error", i, err, err)
		case errors.As(err, &inflightErr):
			inflight++
			if !strings.Contains(err.Error(), "reached --cloudflare.max-inflight-bytes (24MiB)") {
				t.Errorf("account %d: %v", i, err)
			}
		case !strings.Contains(err.Error(), fmt.Sprintf("response body larger than %d bytes (--cloudflare.max-response-bytes)", maxResponse)) &&
			!strings.Contains(err.Error(), "response needs more than 24MiB of memory to decode (--cloudflare.max-inflight-bytes)"):
			t.Errorf("account %d: %v", i, err)
		}
		if apiErr != nil && apiErr.Attempts != 1 {
			t.Errorf("account %d: %d attempts; a limit is no reason to retry", i, apiErr.Attempts)
		}
	}
	if inflight == 0 {
		t.Error("no call met the bound on bytes in flight")
	}
	// Decoded connectors take about 0.8 times their JSON; with the garbage
	// of decoding and of the calls that failed, not yet collected, the heap
	// grows up to about twice the bound (5 x 24 MiB unbounded: 115 MiB).
	if grew > 5*maxInflight/2 {
		t.Errorf("heap grew %d MiB, bound %d MiB in flight", grew>>20, maxInflight>>20)
	}
	// Once the calls have ended, the bound is free again.
	sim.ClearFaults()
	if _, err := c.ListConnectors(context.Background(), simulator.AccountRetail); err != nil {
		t.Errorf("after the endless answers: %v", err)
	}
}

func TestInflightBoundBelowResponseBoundIsRefused(t *testing.T) {
	_, err := api.New(api.Config{Auth: mustAuth(api.TokenAuth("t0ken")), MaxResponseBytes: 64 << 20, MaxInflightBytes: 32 << 20})
	if err == nil || !strings.Contains(err.Error(), "--cloudflare.max-inflight-bytes (32MiB) must not be less than --cloudflare.max-response-bytes (64MiB)") {
		t.Errorf("error: %v", err)
	}
}

// TestTokenFileReloadFailuresAreReported: a token file rotated to nothing,
// or removed, leaves the last good token in use and is reported once per
// distinct failure, without the token.
// TestOversizedAnswerWithEqualBounds: with the in-flight bound equal to the
// answer bound (allowed), an answer past its limit is reported as too large,
// naming the flag to raise, not as crowded out by other answers. Which
// limit it meets first, its bytes or the memory its items take, depends on
// the answer.
func TestOversizedAnswerWithEqualBounds(t *testing.T) {
	sim, c := newClient(t, api.Config{MaxResponseBytes: 1 << 20, MaxInflightBytes: 1 << 20})
	body := `{"success":true,"result":[` + strings.Repeat(`{"id":"x"},`, 200000) + `{"id":"y"}]}`
	sim.SetFault("", simulator.EndpointApps, simulator.Fault{Body: body})
	_, err := c.ListApps(context.Background(), simulator.AccountRetail)
	var inflight *api.InflightError
	tooLarge := err != nil && (strings.Contains(err.Error(), "response body larger than 1048576 bytes (--cloudflare.max-response-bytes)") ||
		strings.Contains(err.Error(), "response needs more than 1MiB of memory to decode (--cloudflare.max-inflight-bytes)"))
	if !tooLarge || errors.As(err, &inflight) {
		t.Errorf("error: %v", err)
	}
}

func TestTokenFileReloadFailuresAreReported(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	write := func(s string) {
		t.Helper()
		tmp := path + ".new"
		if err := os.WriteFile(tmp, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write(simulator.DemoToken + "\n")
	var mu sync.Mutex
	var reported []string
	sim, c := newClient(t, api.Config{
		Auth: mustAuth(api.TokenFileAuth(path)),
		OnCredentialError: func(err error) {
			mu.Lock()
			defer mu.Unlock()
			reported = append(reported, err.Error())
		},
	})
	list := func(times int) {
		t.Helper()
		for range times {
			if _, err := c.ListApps(context.Background(), simulator.AccountLabs); err != nil {
				t.Fatal(err)
			}
		}
	}
	expect := func(want ...string) {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		if len(reported) != len(want) {
			t.Fatalf("reported %q, want %d reports", reported, len(want))
		}
		for i, w := range want {
			if !strings.Contains(reported[i], w) || !strings.Contains(reported[i], "the last good token stays in use") {
				t.Errorf("report %d = %q, want %q", i, reported[i], w)
			}
			assertNoSecret(t, "report", reported[i])
		}
	}

	list(2)
	expect()
	write("\n")
	list(3)
	expect("API token in " + path + " is empty")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	list(3)
	expect("API token in "+path+" is empty", "read API token file: stat "+path+": no such file or directory")
	for _, r := range sim.Requests() {
		if got := r.Header.Get("Authorization"); got != "Bearer "+simulator.DemoToken {
			t.Errorf("Authorization = %q, want the last good token", got)
		}
	}

	// A good file again, then the same failure as before: reported anew.
	write(simulator.DemoToken)
	list(1)
	write("")
	list(2)
	expect("is empty", "no such file", "is empty")
}

// TestPaddingAndAmplificationAreBounded: answers that grow without end in
// every way JSON allows, each read alone. What the decoder would hold
// (whitespace, digits) is not held; what decoding makes of tiny items is
// charged to the bound on answers in flight; a gzip answer is counted
// inflated. Each fails with an error naming its limit, and the heap stays
// far below what the answer's bytes would have made of it.
func TestPaddingAndAmplificationAreBounded(t *testing.T) {
	const maxResponse, maxInflight = 8 << 20, 12 << 20
	head := `{"success":true,"errors":[],"messages":[],"result":[`
	for _, tc := range []struct {
		name  string
		fault simulator.Fault
		want  string
		// heap is the most the heap may grow, in MiB.
		heap uint64
		// limit replaces maxResponse, for answers slow to read.
		limit int64
	}{
		{"spaces", simulator.Fault{Body: head, Endless: " "}, "response body larger than 8388608 bytes", 4, 0},
		{"mixed whitespace", simulator.Fault{Body: head, Endless: " \r\n\t"}, "response body larger than 8388608 bytes", 4, 0},
		{"whitespace inside an item", simulator.Fault{Body: head + `{"id":"x",`, Endless: "\n"}, "response body larger than 8388608 bytes", 4, 0},
		// The transport asks for gzip and inflates it: the limit counts
		// the inflated bytes, here 8 MiB out of about 8 KiB.
		{"gzip of spaces", simulator.Fault{Body: head, Endless: " ", Gzip: true}, "response body larger than 8388608 bytes", 4, 0},
		{"endless number", simulator.Fault{Body: head + `{"id":"x","interrupt_window_hour_of_day":1`, Endless: "0"}, "JSON number of more than 1024 bytes", 4, 0},
		// An error's message or code can be anything: a list of them is
		// skipped, not held whole.
		{"endless list as a message", simulator.Fault{Body: `{"success":false,"errors":[{"code":1,"message":[`, Endless: "{},"}, "response body larger than 4194304 bytes", 2, 4 << 20},
		{"endless list as a code", simulator.Fault{Body: `{"success":false,"errors":[{"message":"m","code":[`, Endless: "[0],"}, "response body larger than 4194304 bytes", 2, 4 << 20},
		// 3 bytes of JSON, a connector of 216 bytes once decoded.
		{"empty items", simulator.Fault{Body: head, Endless: "{},"}, "response needs more than 12MiB of memory to decode (--cloudflare.max-inflight-bytes)", 2 * maxInflight >> 20, 0},
		// 3 bytes of JSON, a string header of 16.
		{"empty strings in an item", simulator.Fault{Body: head + `{"id":"x","interrupt_window_days_of_week":[`, Endless: `"",`}, "response needs more than 12MiB of memory to decode (--cloudflare.max-inflight-bytes)", 2 * maxInflight >> 20, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var observed []api.RequestInfo
			sim, c := newClient(t, api.Config{MaxResponseBytes: cmp.Or(tc.limit, maxResponse), MaxInflightBytes: maxInflight,
				Observe: func(ri api.RequestInfo) { observed = append(observed, ri) }})
			sim.SetFault("", simulator.EndpointConnectors, tc.fault)
			var err error
			grew := heapPeak(t, func() { _, err = c.ListConnectors(context.Background(), simulator.AccountRetail) })
			t.Logf("heap grew %.1f MiB: %v", float64(grew)/(1<<20), err)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
			if grew > tc.heap<<20 {
				t.Errorf("heap grew %.1f MiB, want at most %d MiB", float64(grew)/(1<<20), tc.heap)
			}
			if len(observed) != 1 || !observed[0].Failed {
				t.Errorf("observed %+v, want one failed request: a limit is no reason to retry", observed)
			}
			// The bound is free again for the next answers.
			sim.ClearFaults()
			if _, err := c.ListConnectors(context.Background(), simulator.AccountRetail); err != nil {
				t.Errorf("after the hostile answer: %v", err)
			}
		})
	}
}

// TestPaddingKeepsTheAnswer: whitespace anywhere between tokens, however
// much, leaves the answer as it was.
func TestPaddingKeepsTheAnswer(t *testing.T) {
	sim, c := newClient(t, api.Config{})
	body := readFile(t, "connectors.json")
	pad := strings.Repeat(" \n\t\r", 20000)
	var padded strings.Builder
	inString := false
	for i := 0; i < len(body); i++ {
		b := body[i]
		padded.WriteByte(b)
		switch {
		case inString && b == '\\':
			i++
			padded.WriteByte(body[i])
		case b == '"':
			inString = !inString
		case !inString && strings.IndexByte("{}[],:", b) >= 0:
			padded.WriteString(pad)
		}
	}
	sim.SetFault("", simulator.EndpointConnectors, simulator.Fault{Body: body})
	plain, err := c.ListConnectors(context.Background(), simulator.AccountRetail)
	if err != nil {
		t.Fatal(err)
	}
	sim.SetFault("", simulator.EndpointConnectors, simulator.Fault{Body: pad + padded.String() + pad})
	got, err := c.ListConnectors(context.Background(), simulator.AccountRetail)
	if err != nil {
		t.Fatal(err)
	}
	if len(plain) == 0 || !reflect.DeepEqual(withoutRev(got, connectorRev), withoutRev(plain, connectorRev)) {
		t.Errorf("padded answer decoded to\n%+v\nwant\n%+v", got, plain)
	}
}
