package simulator

// Site is a Magic WAN site as GET /accounts/{id}/magic/sites returns it.
type Site struct {
	ID                   string    `json:"id"`
	Name                 string    `json:"name"`
	Description          string    `json:"description,omitempty"`
	ConnectorID          string    `json:"connector_id,omitempty"`
	SecondaryConnectorID string    `json:"secondary_connector_id,omitempty"`
	HAMode               bool      `json:"ha_mode"`
	Location             *Location `json:"location,omitempty"`
}

// Location holds a site's coordinates, as strings, as the API sends them.
type Location struct {
	Lat string `json:"lat"`
	Lon string `json:"lon"`
}

// SetSites replaces an account's sites.
func (s *Server) SetSites(accountID string, sites []Site) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.accounts[accountID]; a != nil {
		a.Sites = sites
	}
}

// Sites of the demo fleet that tests single out.
const (
	SiteNewYorkHA = "5173000000000000000000000000e700" // HA pair, both connectors live
	SiteBerlin    = "5173000000000000000000000000be70" // its only connector is stale: the site is down
	SiteParis     = "5173000000000000000000000000ba70" // connector never activated
	SiteLisbon    = "5173000000000000000000000000115b" // no connector yet
	SiteLondonHA  = "5173000000000000000000000000107d" // HA, secondary connector missing
)

// demoSites are the retailer's sites. Connectors refer to them by
// site_id; Manchester's connector names a site that is not listed.
func demoSites() []Site {
	loc := func(lat, lon string) *Location { return &Location{Lat: lat, Lon: lon} }
	return []Site{
		{ID: SiteLondonHA, Name: "London Oxford Street", HAMode: true, Location: loc("51.5154", "-0.1410"),
			ConnectorID: "c0ffee00000000000000000000001042", SecondaryConnectorID: "c0ffee0000000000000000000000dead",
			Description: "flagship store; the secondary appliance was removed for repair"},
		{ID: SiteNewYorkHA, Name: "New York 5th Avenue", HAMode: true, Location: loc("40.7616", "-73.9747"),
			ConnectorID: "c0ffee0000000000000000000000e701", SecondaryConnectorID: ConnectorSecondary},
		{ID: SiteBerlin, Name: "Berlin Alexanderplatz", Location: loc("52.5219", "13.4132"), ConnectorID: ConnectorStale},
		{ID: "5173000000000000000000000000a057", Name: "Austin distribution centre", Location: loc("30.2672", "-97.7431"),
			ConnectorID: ConnectorOldVersion},
		{ID: SiteParis, Name: "Paris Rivoli", Location: loc("48.8606", "2.3376"), ConnectorID: ConnectorNeverSeen},
		{ID: "5173000000000000000000000000516e", Name: "Singapore Marina Bay", Location: loc("1.2834", "103.8607"),
			ConnectorID: ConnectorNoDevice},
		{ID: SiteLisbon, Name: "Lisbon (opening 2027)"},
	}
}
