package exposition

import (
	"compress/gzip"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// crc32Combine returns the CRC-32 (IEEE) of a then b, given each one's
// CRC and b's length, as zlib's crc32_combine.
func crc32Combine(crc1, crc2 uint32, len2 int64) uint32 {
	return crc32Shift(crc32ShiftOp(len2), crc1) ^ crc2
}

func TestCRC32Combine(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range [][2]int{{0, 0}, {0, 5}, {5, 0}, {1, 1}, {100, 3}, {7, 1 << 16}, {1 << 20, 12345}} {
		a, b := make([]byte, n[0]), make([]byte, n[1])
		for i := range a {
			a[i] = byte(r.Uint32())
		}
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		want := crc32.ChecksumIEEE(append(append([]byte{}, a...), b...))
		if got := crc32Combine(crc32.ChecksumIEEE(a), crc32.ChecksumIEEE(b), int64(len(b))); got != want {
			t.Errorf("%d then %d bytes: %08x, want %08x", n[0], n[1], got, want)
		}
	}
}

// TestSegmentsReplayTheSamePage writes pages of runs through Serve, gzipped,
// as a changing fleet would: each page must decompress (CRC and size
// checked) to what the same page without segments is, and a run whose key
// did not change is not rendered again.
func TestSegmentsReplayTheSamePage(t *testing.T) {
	static := NewFamily("a_static", "Runs of samples.", Gauge, "id", "note")
	dynamic := NewFamily("b_dynamic", "Written every time.", Gauge, "id")
	empty := NewFamily("c_empty", "Runs without samples.", Gauge, "id")
	store := NewSegments()
	limits := Limits{MaxLabelValueLength: 8}

	// runs[i] is the version of run i: a key and its samples follow it.
	serve := func(runs []int, gzipped bool) (text string, rendered int) {
		t.Helper()
		write := func(w *Writer) {
			for i, v := range runs {
				w.Segment(static, uint64(i<<32|v), store, func() {
					rendered++
					for j := range 3 {
						// A long note, cut by the limits: counted again on replay.
						w.Sample(static, float64(v), fmt.Sprintf("r%d-%d", i, j), fmt.Sprint(i)+strings.Repeat("n", 4+j*4))
					}
				})
			}
			for i := range runs {
				w.Segment(empty, uint64(1<<40|i), store, func() {})
				w.Sample(dynamic, float64(rendered), fmt.Sprint(i))
			}
		}
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if gzipped {
			req.Header.Set("Accept-Encoding", "gzip")
		}
		rec := httptest.NewRecorder()
		var truncated int
		if err := Serve(rec, req, nil, limits, func(w *Writer) { write(w); truncated, _ = w.Cleaned() }); err != nil {
			t.Fatal(err)
		}
		if want := 2 * len(runs); truncated != want { // notes of 9 and 13 bytes
			t.Errorf("%d values counted as cut, want %d", truncated, want)
		}
		if !gzipped {
			return rec.Body.String(), rendered
		}
		zr, err := gzip.NewReader(rec.Body)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("the gzipped page does not read back: %v", err)
		}
		store.Sweep()
		return string(b), rendered
	}
	for i, runs := range [][]int{{0, 0, 0, 0}, {0, 0, 0, 0}, {0, 1, 0, 0}, {0, 1, 0}, {2, 1, 0, 0, 0}} {
		plain, _ := serve(runs, false)
		got, rendered := serve(runs, true)
		// The dynamic family says how many runs were rendered: mask it.
		mask := func(s string) string { return s[:strings.Index(s, "# HELP b_dynamic")] }
		if mask(got) != mask(plain) {
			t.Errorf("page %d: gzipped\n%s\nwant\n%s", i, got, plain)
		}
		if want := map[int]int{0: 4, 1: 0, 2: 1, 3: 0, 4: 2}[i]; rendered != want {
			t.Errorf("page %d: %d runs rendered, want %d", i, rendered, want)
		}
		if strings.Contains(got, "c_empty") {
			t.Errorf("page %d: a family without samples has a header", i)
		}
	}
	if n := store.Len(); n > 2*8 {
		t.Errorf("%d segments kept", n)
	}
}
