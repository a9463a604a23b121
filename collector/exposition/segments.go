package exposition

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
	"sync"

	"github.com/klauspost/compress/flate"
)

// Most of a page is what it was at the last scrape: a connector's info,
// whether it is activated, when its configuration changed are the same as
// long as its record is. Compressing those bytes again was most of the
// cost of a gzipped page (docs/performance.md). So a run of samples whose
// caller vouches they are unchanged (the same key) is compressed once, on
// its own, and its compressed bytes are written again in later pages. A
// deflate stream may be made of independently compressed parts, each
// ending on a byte boundary (a sync flush, after which the compressor is
// reset so that no part refers to another's bytes); gzip's CRC-32 of the
// whole is combined from the parts'.

// gzipStream writes one gzip member whose deflate data is made of parts.
type gzipStream struct {
	dst *bufio.Writer
	fw  *flate.Writer
	// crc and size are of the member's bytes so far, uncompressed.
	crc  uint32
	size int64
	// recording is set while a segment is compressed into rec; recCRC
	// and recSize are of its uncompressed bytes.
	recording bool
	rec       bytes.Buffer
	recCRC    uint32
	recSize   int64
}

// gzipHeader is a gzip member's header: deflate, no name, no time, fastest
// compression, unknown OS.
var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 255}

// gzipStreams keep the compressors' state (a megabyte each) from page to
// page: a few, for concurrent scrapes. Not a sync.Pool, which every
// garbage collection empties: there is one or two between scrapes.
var gzipStreams = make(chan *gzipStream, 4)

func newGzipStream(dst *bufio.Writer) (*gzipStream, error) {
	var g *gzipStream
	select {
	case g = <-gzipStreams:
	default:
		fw, _ := flate.NewWriter(io.Discard, gzipLevel)
		g = &gzipStream{fw: fw}
	}
	g.dst, g.crc, g.size, g.recording = dst, 0, 0, false
	g.fw.Reset(dst)
	_, err := dst.Write(gzipHeader)
	return g, err
}

func (g *gzipStream) release() {
	g.dst = nil
	g.fw.Reset(io.Discard)
	g.rec.Reset()
	select {
	case gzipStreams <- g:
	default:
	}
}

func (g *gzipStream) Write(p []byte) (int, error) {
	if g.recording {
		g.recCRC = crc32.Update(g.recCRC, crc32.IEEETable, p)
		g.recSize += int64(len(p))
	} else {
		g.crc = crc32.Update(g.crc, crc32.IEEETable, p)
		g.size += int64(len(p))
	}
	return g.fw.Write(p)
}

// cut ends the current part on a byte boundary, and starts the next, which
// refers to nothing before it, writing to next.
func (g *gzipStream) cut(next io.Writer) error {
	if err := g.fw.Flush(); err != nil {
		return err
	}
	g.fw.Reset(next)
	return nil
}

// record starts a segment: what is written until finish is compressed on
// its own, kept, and not yet part of the member.
func (g *gzipStream) record() error {
	g.rec.Reset()
	g.recording, g.recCRC, g.recSize = true, 0, 0
	return g.cut(&g.rec)
}

// finish ends the segment recorded and returns it.
func (g *gzipStream) finish() (*segment, error) {
	err := g.cut(g.dst)
	g.recording = false
	return &segment{deflate: bytes.Clone(g.rec.Bytes()), crc: g.recCRC, size: g.recSize, shift: crc32ShiftOp(g.recSize)}, err
}

// replay adds a segment to the member.
func (g *gzipStream) replay(s *segment) error {
	if err := g.cut(g.dst); err != nil {
		return err
	}
	g.crc = crc32Shift(s.shift, g.crc) ^ s.crc
	g.size += s.size
	_, err := g.dst.Write(s.deflate)
	return err
}

// close ends the member: the final block, then CRC-32 and size.
func (g *gzipStream) close() error {
	if err := g.fw.Close(); err != nil {
		return err
	}
	var trailer [8]byte
	binary.LittleEndian.PutUint32(trailer[:4], g.crc)
	binary.LittleEndian.PutUint32(trailer[4:], uint32(g.size))
	_, err := g.dst.Write(trailer[:])
	return err
}

// segment is a run of samples compressed on its own, with what writing
// them counted.
type segment struct {
	deflate []byte
	crc     uint32
	size    int64
	// shift carries a CRC over size bytes (crc32ShiftOp).
	shift uint32
	// truncated, stripped and dropped are counted again at each replay.
	truncated, stripped int
	dropped             []Dropped
	// used is the generation of the store that last wrote it.
	used uint64
}

// Segments keep compressed runs of samples by their callers' keys, from
// page to page, in each format. Safe for concurrent use.
type Segments struct {
	mu  sync.Mutex
	m   map[segmentKey]*segment
	gen uint64
}

type segmentKey struct {
	key         uint64
	openMetrics bool
}

// NewSegments returns an empty store.
func NewSegments() *Segments { return &Segments{m: map[segmentKey]*segment{}} }

func (s *Segments) get(k segmentKey) *segment {
	s.mu.Lock()
	defer s.mu.Unlock()
	seg := s.m[k]
	if seg != nil {
		seg.used = s.gen
	}
	return seg
}

func (s *Segments) put(k segmentKey, seg *segment) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seg.used = s.gen
	s.m[k] = seg
}

// Sweep forgets the segments no page wrote since the last Sweep but one:
// those of records that changed, or of a fleet that shrank. A page calls
// it when done.
func (s *Segments) Sweep() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, seg := range s.m {
		if seg.used+1 < s.gen {
			delete(s.m, k)
		}
	}
	s.gen++
}

// Len is the number of segments kept.
func (s *Segments) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// Segmented reports whether Segment can replay: the page is gzipped and
// not filtered by name[].
func (t *Writer) Segmented() bool { return t.gz != nil && len(t.filter) == 0 }

// Segment writes samples of f that render writes, unless a run under the
// same key, in the same format, was kept in store by an earlier page: its
// compressed bytes are then written again, and render is not called. The
// key is the caller's word that the samples are the same, and that none
// can repeat a series written elsewhere on the page (the writer does not
// see a replayed run's series).
func (t *Writer) Segment(f *Family, key uint64, store *Segments, render func()) {
	if !t.Segmented() || store == nil || t.err != nil {
		render()
		return
	}
	k := segmentKey{key, t.format.openMetrics}
	seg := store.get(k)
	if seg == nil {
		if seg = t.recordSegment(f, render); seg == nil {
			return
		}
		store.put(k, seg)
	} else {
		t.truncated += seg.truncated
		t.stripped += seg.stripped
		t.dropped = append(t.dropped, seg.dropped...)
	}
	if seg.size == 0 || t.err != nil {
		return
	}
	// The family's header, unless written: it is not part of a run, which
	// may be written first in one page and not in the next.
	t.start(f)
	if t.err = t.w.Flush(); t.err == nil {
		t.err = t.gz.replay(seg)
	}
}

// recordSegment renders a run into a segment, writing nothing to the page.
func (t *Writer) recordSegment(f *Family, render func()) *segment {
	if t.err = t.w.Flush(); t.err != nil {
		return nil
	}
	if t.err = t.gz.record(); t.err != nil {
		return nil
	}
	// Rendered as if the header were written; Segment writes it if needed.
	current, series := t.current, t.series
	if f != t.current {
		t.current, t.series = f, map[uint64]struct{}{}
	}
	truncated, stripped, dropped := t.truncated, t.stripped, len(t.dropped)
	// What the run counts must not depend on what came before it.
	clear(t.escaped[:])
	render()
	t.current, t.series = current, series
	if t.err == nil {
		t.err = t.w.Flush()
	}
	seg, err := t.gz.finish()
	if t.err == nil {
		t.err = err
	}
	if t.err != nil {
		return nil
	}
	seg.truncated, seg.stripped = t.truncated-truncated, t.stripped-stripped
	seg.dropped = append([]Dropped(nil), t.dropped[dropped:]...)
	return seg
}

// crc32ShiftOp returns the operator that carries a CRC over n zero bytes:
// x^(8n) modulo the polynomial (zlib's x2nmodp). Kept with a segment, it
// makes each replay's combination one multiplication.
func crc32ShiftOp(n int64) uint32 {
	p := uint32(1) << 31 // x^0
	for k := 3; n > 0; n, k = n>>1, k+1 {
		if n&1 != 0 {
			p = crc32MulModP(x2nTable[k&31], p)
		}
	}
	return p
}

// crc32Shift applies an operator of crc32ShiftOp to crc.
func crc32Shift(op, crc uint32) uint32 { return crc32MulModP(op, crc) }

// crc32MulModP multiplies a and b modulo the reflected CRC-32 polynomial
// (zlib's multmodp).
func crc32MulModP(a, b uint32) uint32 {
	var p uint32
	for m := uint32(1) << 31; m != 0; m >>= 1 {
		if a&m != 0 {
			p ^= b
			if a&(m-1) == 0 {
				break
			}
		}
		if b&1 != 0 {
			b = b>>1 ^ crc32.IEEE
		} else {
			b >>= 1
		}
	}
	return p
}

// x2nTable[n] is x^(2^n) modulo the polynomial.
var x2nTable = func() (t [32]uint32) {
	p := uint32(1) << 30 // x^1
	for n := range t {
		t[n] = p
		p = crc32MulModP(p, p)
	}
	return t
}()
