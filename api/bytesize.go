package api

import (
	"fmt"
	"strconv"

	"github.com/alecthomas/units"
)

// ByteSize is a size in bytes, as a command-line flag value: a number
// (1048576) or a number with a base-2 unit (64MiB, 512KiB). It is the type
// of the flag that sets Config.MaxResponseBytes.
type ByteSize int64

// Set parses s; only a positive size is accepted.
func (b *ByteSize) Set(s string) error {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
		*b = ByteSize(n)
		return nil
	}
	n, err := units.ParseBase2Bytes(s)
	if err != nil || n <= 0 {
		return fmt.Errorf("%q is not a positive size such as 1048576 or 64MiB", s)
	}
	*b = ByteSize(n)
	return nil
}

// String formats b with the largest base-2 unit that divides it.
func (b *ByteSize) String() string { return units.Base2Bytes(*b).String() }
