package exportertest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// SkipReportEnv names the file where a test skipped for a missing tool
// says so; .ci/test sets it and prints the file, because go test's default
// output does not show skips.
const SkipReportEnv = "CME_SKIP_REPORT"

var reportMu sync.Mutex

// Tool returns the path of an external tool a test needs: on PATH, or in
// $(go env GOPATH)/bin, where go install puts it. In CI (CI set), where
// .ci/run installs every such tool, a missing one fails the test;
// elsewhere the test is skipped, and the skip reported. install says how to
// get it.
func Tool(t testing.TB, name, install string) string {
	t.Helper()
	path, ok := LookTool(t, name, install, "skipped")
	if !ok {
		t.Skipf("%s not found (on PATH or in $(go env GOPATH)/bin): skipped; %s", name, install)
	}
	return path
}

// OptionalTool is Tool for a tool CI does not install either: missing, the
// test is skipped, and the skip reported, everywhere.
func OptionalTool(t testing.TB, name, install string) string {
	t.Helper()
	path, ok := find(name)
	if !ok {
		report(t, fmt.Sprintf("%s: skipped, %s not installed (%s)", t.Name(), name, install))
		t.Skipf("%s not found: skipped; %s", name, install)
	}
	return path
}

// LookTool is Tool for a test that goes on without the tool, leaving out
// the check it would do (what). It reports false when the tool is
// missing, after reporting the check left out.
func LookTool(t testing.TB, name, install, what string) (string, bool) {
	t.Helper()
	if path, ok := find(name); ok {
		return path, true
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed; .ci/run installs it (%s)", name, install)
	}
	report(t, fmt.Sprintf("%s: %s, %s not installed (%s)", t.Name(), what, name, install))
	t.Logf("%s not found: %s", name, what)
	return "", false
}

// find looks for a tool on PATH, then in $(go env GOPATH)/bin.
func find(name string) (string, bool) {
	if path, err := exec.LookPath(name); err == nil {
		return path, true
	}
	if gopath, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		path := filepath.Join(strings.TrimSpace(string(gopath)), "bin", name)
		if _, err := os.Stat(path); err == nil {
			return path, true
		}
	}
	return "", false
}

// report appends a line to the file SkipReportEnv names, if any.
func report(t testing.TB, line string) {
	path := os.Getenv(SkipReportEnv)
	if path == "" {
		return
	}
	reportMu.Lock()
	defer reportMu.Unlock()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Logf("reporting the skip: %v", err)
		return
	}
	defer f.Close()
	fmt.Fprintln(f, line)
}
