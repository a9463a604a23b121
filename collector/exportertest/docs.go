package exportertest

import (
	"os"
	"strings"
	"testing"
)

// MarkdownColumn returns the first cell of every row of the tables in file
// whose header row starts with header, without backticks: what a doc
// lists (flags, alerts), for a test to hold it to the code.
func MarkdownColumn(t testing.TB, file, header string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var cells []string
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "| "+header+" |"):
			in = true
		case in && strings.HasPrefix(line, "|---"):
		case in && strings.HasPrefix(line, "| "):
			cell := strings.TrimSpace(strings.Split(line, "|")[1])
			cells = append(cells, strings.Trim(cell, "`"))
		default:
			in = false
		}
	}
	if len(cells) == 0 {
		t.Fatalf("%s has no table headed %q", file, header)
	}
	return cells
}
