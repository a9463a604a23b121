package simulator_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
)

func TestStartDemo(t *testing.T) {
	baseURL, token, stop, err := simulator.StartDemo(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if !strings.HasPrefix(baseURL, "http://127.0.0.1:") || !strings.HasSuffix(baseURL, simulator.PathPrefix) {
		t.Errorf("base URL %q is not a loopback URL of the API", baseURL)
	}
	auth, err := api.TokenAuth(token)
	if err != nil {
		t.Fatal(err)
	}
	c, err := api.New(api.Config{BaseURL: baseURL, Auth: auth})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	accounts, err := c.ListAccounts(ctx, api.Paging{})
	if err != nil {
		t.Fatal(err)
	}
	if len(accounts) != len(simulator.DemoFleet(time.Now())) {
		t.Errorf("%d accounts, want the demo fleet's", len(accounts))
	}
	connectors, err := c.ListConnectors(ctx, simulator.AccountRetail)
	if err != nil || len(connectors) == 0 {
		t.Errorf("connectors of the demo: %d, %v", len(connectors), err)
	}

	stop()
	if _, err := c.ListAccounts(ctx, api.Paging{}); err == nil {
		t.Error("the demo API still answers after stop")
	}
}
