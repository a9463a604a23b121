package exportertest

import (
	"strings"
	"testing"
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
)

// SimulatedAPI serves the demo fleet over HTTP on 127.0.0.1, with the demo
// credentials, until the test ends; it returns the server and its URL.
func SimulatedAPI(t testing.TB) (*simulator.Server, string) {
	t.Helper()
	sim := simulator.NewServer(simulator.DemoFleet(time.Now()),
		simulator.WithToken(simulator.DemoToken), simulator.WithKey(simulator.DemoEmail, simulator.DemoKey))
	return sim, sim.Start(t)
}

// TokenEnv is the environment that gives the exporter the demo token and
// both demo accounts.
func TokenEnv() []string {
	return []string{
		"CLOUDFLARE_API_TOKEN=" + simulator.DemoToken,
		"CLOUDFLARE_ACCOUNT_ID=" + simulator.AccountRetail + "," + simulator.AccountLabs,
	}
}

// Secrets are the strings no output of the exporter may contain.
var Secrets = []string{simulator.DemoToken, simulator.DemoKey, simulator.LicenseKeyPrefix}

// AssertNoSecret fails the test if s, described by what, holds a secret.
func AssertNoSecret(t testing.TB, what, s string) {
	t.Helper()
	for _, secret := range Secrets {
		if strings.Contains(s, secret) {
			t.Errorf("%s contains the secret %q", what, secret)
		}
	}
}
