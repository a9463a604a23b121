package api

import (
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// countingCharger counts what decoding charges.
type countingCharger struct{ charged int64 }

func (c *countingCharger) charge(n int64) error {
	c.charged += n
	return nil
}

func (c *countingCharger) prepay(int64) {}

// TestEverySliceIsCharged walks every type an answer decodes into: each of
// its slices must grow through chargedSlice, or an answer of tiny items
// could take memory no bound counts.
func TestEverySliceIsCharged(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var slicesOf []reflect.Type
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		if seen[t] {
			return
		}
		seen[t] = true
		switch t.Kind() {
		case reflect.Pointer:
			walk(t.Elem())
		case reflect.Slice:
			slicesOf = append(slicesOf, t)
			walk(t.Elem())
		case reflect.Struct:
			for i := range t.NumField() {
				if f := t.Field(i); f.Tag.Get("json") != "-" {
					walk(f.Type)
				}
			}
		}
	}
	for _, answer := range []any{
		envelope[list[memoEntry[wireConnector]]]{}, envelope[list[memoEntry[wireApp]]]{}, envelope[list[Site]]{},
		envelope[list[Account]]{}, envelope[snapshotList]{}, gqlError{},
	} {
		walk(reflect.TypeOf(answer))
	}
	if len(slicesOf) < 10 {
		t.Fatalf("found only %v: the walk is broken", slicesOf)
	}
	for _, st := range slicesOf {
		if st == reflect.TypeFor[[]Message]() {
			continue // messageList reads at most maxErrorMessages
		}
		var c countingCharger
		v := reflect.New(st)
		if err := json.Unmarshal([]byte(`[null]`), v.Interface(), decodeOptions, chargedSlices(&c)); err != nil {
			t.Errorf("%v: %v", st, err)
		}
		if c.charged == 0 || v.Elem().Len() != 1 {
			t.Errorf("%v grew without being charged: add it to chargedSlices", st)
		}
	}
}

// TestDecoderAloneHoldsPadding measures why padFilter stays: jsontext's
// Decoder holds a whole token, and the whitespace after the previous one,
// in its buffer, and has no option to bound either (its WithByteLimit is
// not implemented: go.dev/issue/56733). The same 4 MiB answers decoded
// with and without it; the bytes allocated say what was held.
func TestDecoderAloneHoldsPadding(t *testing.T) {
	const pad = 4 << 20
	for _, tc := range []struct{ name, body string }{
		{"whitespace", `{"success":true,"result":[` + strings.Repeat(" ", pad) + `]}`},
		{"a long string", `{"success":true,"result":[{"notes":"` + strings.Repeat("x", pad) + `"}]}`},
	} {
		alone := allocated(t, func() error {
			var e envelope[list[wireConnector]]
			return json.UnmarshalDecode(jsontext.NewDecoder(strings.NewReader(tc.body), decodeOptions), &e)
		})
		filtered := allocated(t, func() error {
			var e envelope[list[wireConnector]]
			return json.UnmarshalDecode(jsontext.NewDecoder(&padFilter{r: strings.NewReader(tc.body), max: maxJSONString}, decodeOptions), &e)
		})
		t.Logf("%s, %d MiB: %.1f MiB allocated by the decoder alone, %.2f MiB through padFilter", tc.name, pad>>20,
			float64(alone)/(1<<20), float64(filtered)/(1<<20))
		if alone < pad || filtered > pad/8 {
			t.Errorf("%s: %d bytes allocated alone, %d filtered", tc.name, alone, filtered)
		}
	}
}

// allocated returns the bytes f allocated.
func allocated(t *testing.T, f func() error) uint64 {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := f(); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
