package deploy

// The built exporter, for the tests that need a page it serves or its
// --help: collector/exportertest builds it once and launches it.

import (
	"os/exec"
	"regexp"
	"testing"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/collector/exportertest"
)

// exporterName is the binary's name, and the Dockerfile's entry point.
const exporterName = exportertest.Name

func TestMain(m *testing.M) { exportertest.Main(m) }

// defaultPort is the exporter's default listen address, as --help gives it
// (":10192").
func defaultPort(t *testing.T) string {
	t.Helper()
	out, _ := exec.Command(exportertest.Binary(), "--help").CombinedOutput()
	m := regexp.MustCompile(`--web\.listen-address=(:\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("--help shows no default --web.listen-address:\n%s", out)
	}
	return string(m[1])
}
