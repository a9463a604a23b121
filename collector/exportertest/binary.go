package exportertest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Name is the binary's name, and the Dockerfile's entry point.
const Name = "cloudflare_magic_exporter"

// The version and revision the binary is stamped with, as a release is.
const (
	Version  = "0.0.0-e2e"
	Revision = "e2e0000"
)

// binary is the path of the exporter Main built.
var binary string

// Main builds the exporter once for the package's tests, from the module
// root, version-stamped the way releases are, and stores its path in each
// of paths (see also Binary); runs the tests; removes the build; and exits
// with the tests' status. Call it from TestMain.
func Main(m *testing.M, paths ...*string) {
	dir, err := os.MkdirTemp("", "cme-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	root, err := moduleRoot()
	if err == nil {
		binary = filepath.Join(dir, Name)
		build := exec.Command("go", "build", "-o", binary, "-ldflags",
			"-X github.com/prometheus/common/version.Version="+Version+
				" -X github.com/prometheus/common/version.Revision="+Revision, ".")
		build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
		err = build.Run()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "building the exporter:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	for _, p := range paths {
		*p = binary
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Binary returns the path of the exporter Main built.
func Binary() string {
	if binary == "" {
		panic("exportertest: Binary without Main: call exportertest.Main(m) from TestMain")
	}
	return binary
}

// moduleRoot is the directory of go.mod, above the working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}
