package api_test

import (
	"context"
	"errors"
	"testing"

	"github.com/magicwan-exporter/cloudflare_magic_exporter/api"
	"github.com/magicwan-exporter/cloudflare_magic_exporter/api/simulator"
)

func TestListSites(t *testing.T) {
	sim, c := newClient(t, api.Config{})
	sim.SetFault(simulator.AccountRetail, simulator.EndpointSites, simulator.Fault{Body: `{"success":true,"errors":[],"messages":[],"result":[
		{"id":"5173000000000000000000000000e700","name":"New York","connector_id":"c1","secondary_connector_id":"c2","ha_mode":true,
		 "location":{"lat":"40.7616","lon":"-73.9747"},"future_field":{"x":1}},
		{"id":"5173000000000000000000000000115b","name":"Lisbon","ha_mode":false}]}`})
	got, err := c.ListSites(context.Background(), simulator.AccountRetail)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("sites: %+v", got)
	}
	ny, lis := got[0], got[1]
	if ny.Name != "New York" || !ny.HAMode || ny.Location == nil || ny.Location.Lat != "40.7616" || ny.Location.Lon != "-73.9747" {
		t.Errorf("New York: %+v", ny)
	}
	if ids := ny.ConnectorIDs(); len(ids) != 2 || ids[0] != "c1" || ids[1] != "c2" {
		t.Errorf("New York's connectors: %v", ids)
	}
	if lis.HAMode || lis.Location != nil || len(lis.ConnectorIDs()) != 0 {
		t.Errorf("Lisbon: %+v", lis)
	}
}

func TestListSitesOfTheDemoFleet(t *testing.T) {
	sim, c := newClient(t, api.Config{})
	sites, err := c.ListSites(context.Background(), simulator.AccountRetail)
	if err != nil {
		t.Fatal(err)
	}
	if len(sites) < 5 {
		t.Errorf("the demo retailer has %d sites", len(sites))
	}
	sim.SetFault(simulator.AccountRetail, simulator.EndpointSites, simulator.Fault{Status: 500, Body: "<html>oops</html>"})
	_, err = c.ListSites(context.Background(), simulator.AccountRetail)
	var apiErr *api.Error
	if !errors.As(err, &apiErr) || apiErr.Endpoint != api.EndpointSites {
		t.Errorf("a failing sites call: %v", err)
	}
}
